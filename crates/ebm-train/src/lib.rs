//! ebm-train
