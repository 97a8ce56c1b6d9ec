//! Built-in losses, each registered by name for `[loss] kind = "..."`:
//!
//! - `contrastive_divergence`: CD-k and persistent CD with a replay buffer and energy L2
//!   regularisation.
//!
//! Linking this crate is what makes the names available; [`link`] exists so a binary can force
//! the linker to keep it.

mod contrastive_divergence;

pub use contrastive_divergence::{CdParams, ContrastiveDivergence};

/// Call once from a binary to make sure this crate's registrations are linked in.
pub fn link() {}
