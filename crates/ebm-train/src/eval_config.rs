//! `[eval]`: how the end-of-run evaluation draws its samples. The table belongs to the run's
//! config ([`crate::RunConfig`] holds it, so unknown keys are caught when the file is read); the
//! evaluation itself lives in the `ebm-eval` crate, which reaches the loop through
//! [`crate::RunHooks`].

use crate::Result;
use ebm_core::{ChainInit, Error as CoreError, PluginSpec};
use serde::{Deserialize, Serialize};

/// `[eval]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Number of model samples (and of fresh data points).
    #[serde(default = "d_n")]
    pub n_samples: usize,
    /// Sampler steps from the init distribution.
    #[serde(default = "d_steps")]
    pub steps: u64,
    /// Where the evaluation chains start.
    #[serde(default)]
    pub init: ChainInit,
    #[serde(default = "d_bw")]
    pub mmd_bandwidth: f64,
    /// A different sampler for evaluation (default: `[sampler]`).
    #[serde(default)]
    pub sampler: Option<PluginSpec>,
    /// `ebm-launch eval` draws its samples through this many of the run's kept checkpoints, the
    /// evaluated one last: `steps / K` sampler steps with each, oldest first, so chains from
    /// noise meet the run's smoother early energies before its sharpest (as the replay buffer's
    /// chains did). 1: the evaluated checkpoint only. At most `train.keep_checkpoints`; a run
    /// that kept fewer (stopped early) samples through those it has.
    #[serde(default = "d_through", skip_serializing_if = "is_one")]
    pub through_checkpoints: usize,
}

fn d_through() -> usize {
    1
}
fn is_one(k: &usize) -> bool {
    *k == 1
}

fn d_n() -> usize {
    2000
}
fn d_steps() -> u64 {
    500
}
fn d_bw() -> f64 {
    0.5
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            n_samples: d_n(),
            steps: d_steps(),
            init: ChainInit::default(),
            mmd_bandwidth: d_bw(),
            sampler: None,
            through_checkpoints: d_through(),
        }
    }
}

impl EvalConfig {
    pub fn validate(&self) -> Result<()> {
        if self.n_samples < 2 {
            return Err(CoreError::config("eval.n_samples", "need at least 2 samples").into());
        }
        if !(self.mmd_bandwidth > 0.0 && self.mmd_bandwidth.is_finite()) {
            return Err(CoreError::config(
                "eval.mmd_bandwidth",
                format!("must be finite and > 0, got {}", self.mmd_bandwidth),
            )
            .into());
        }
        if self.through_checkpoints == 0 {
            return Err(CoreError::config(
                "eval.through_checkpoints",
                "must be >= 1 (1: the evaluated checkpoint only)",
            )
            .into());
        }
        Ok(self.init.validate("eval.init")?)
    }
}
