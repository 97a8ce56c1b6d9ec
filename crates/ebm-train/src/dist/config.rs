//! `[dist]`: how many ranks train together and how often they exchange chains and check that
//! their weights agree.
//!
//! Each rank draws `train.batch_size` points per step, so the global batch is
//! `ranks × train.batch_size`. Likewise a chain-bank capacity is per rank: the global population
//! of persistent chains is `ranks × capacity`.

use crate::Result;
use ebm_core::Error as CoreError;
use serde::{Deserialize, Serialize};

/// How often, under `debug_assertions`, weights are compared across ranks when `check_every = 0`:
/// debug builds (tests, development) always check, release builds only when asked.
pub const DEBUG_CHECK_EVERY: u64 = 10;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistConfig {
    /// Number of ranks when the run is started in-process (threads); a launcher with one process
    /// per device passes its own world size instead.
    #[serde(default = "d_ranks")]
    pub ranks: usize,
    /// Steps between exchanges of persistent chains across ranks (0: never).
    #[serde(default = "d_exchange")]
    pub exchange_every: u64,
    /// Every K steps, check that the weights are bit-identical on every rank (0: never in release
    /// builds, every [`DEBUG_CHECK_EVERY`] steps in debug builds).
    #[serde(default)]
    pub check_every: u64,
    /// Seconds a worker process may go without a heartbeat before the launcher stops the run,
    /// naming it (frozen, SIGSTOP, cut off from the store). Worker processes only (`--spawn`,
    /// `--gpus`); a long step does not count, the heartbeat has its own thread.
    #[serde(default = "d_heartbeat")]
    pub heartbeat_timeout: f64,
}

fn d_ranks() -> usize {
    1
}
fn d_exchange() -> u64 {
    100
}
fn d_heartbeat() -> f64 {
    30.0
}

impl Default for DistConfig {
    fn default() -> Self {
        DistConfig {
            ranks: d_ranks(),
            exchange_every: d_exchange(),
            check_every: 0,
            heartbeat_timeout: d_heartbeat(),
        }
    }
}

impl DistConfig {
    pub fn validate(&self) -> Result<()> {
        if self.ranks == 0 {
            return Err(CoreError::config("dist.ranks", "must be > 0").into());
        }
        // Duration::from_secs_f64 panics on what this refuses.
        if !(self.heartbeat_timeout > 0.0 && self.heartbeat_timeout <= 86_400.0) {
            return Err(CoreError::config(
                "dist.heartbeat_timeout",
                format!(
                    "must be a number of seconds in (0, 86400], got {}",
                    self.heartbeat_timeout
                ),
            )
            .into());
        }
        Ok(())
    }

    /// The weight-check cadence actually used (see [`DistConfig::check_every`]); 0 means never.
    pub fn effective_check_every(&self) -> u64 {
        if self.check_every == 0 && cfg!(debug_assertions) {
            DEBUG_CHECK_EVERY
        } else {
            self.check_every
        }
    }
}
