//! Data-parallel training: N ranks, each a model replica with its own data shard, RNG streams and
//! chain-bank shard, kept in lock step by collectives ([`ebm_dist::Collective`]).
//!
//! One step on every rank: draw its own `train.batch_size` points (global batch = ranks ×
//! batch_size), forward, backward, average gradients and loss metrics across ranks in one flat
//! bucket ([`grads`]), clip by the global norm of the averaged gradients, take the same AdamW
//! step. Rank 0's initial weights are broadcast, so the ranks start — and stay — bit-identical,
//! which `dist.check_every` verifies ([`check`]). Every `dist.exchange_every` steps the chain
//! shards are pooled and dealt out again ([`exchange`]). Checkpoints hold every rank's shard
//! ([`shard`]). Only rank 0 writes the run folder; the others never touch it.
//!
//! N ranks with batch b follow 1 rank with batch N·b up to float summation order, for a loss
//! whose randomness does not depend on the split (tests/dist_equivalence.rs).
//!
//! [`run_local_ranks`] runs N ranks as threads of this process; a launcher with one process per
//! device calls [`crate::Trainer::new_distributed`] with its own collective.

mod check;
mod config;
pub mod exchange;
pub(crate) mod grads;
mod local;
pub(crate) mod shard;
pub(crate) mod wire;

pub use config::{DistConfig, DEBUG_CHECK_EVERY};
pub use exchange::{exchange_chains, gather_chains};
pub use local::run_local_ranks;
pub use shard::gather_checkpoint;

use crate::{Result, RunConfig, TrainState};
use ebm_dist::Collective;

/// What happens between steps on a multi-rank run: the chain exchange and the weight check, on
/// their schedules (both collectives, called by every rank after the same step).
pub(crate) fn after_step(
    coll: &dyn Collective,
    state: &mut TrainState,
    config: &RunConfig,
) -> Result<()> {
    if coll.world_size() == 1 {
        return Ok(());
    }
    let s = state.step;
    let every = config.dist.exchange_every;
    if every > 0 && s.is_multiple_of(every) {
        if let Some(bank) = state.loss.chain_bank_mut() {
            exchange_chains(coll, bank, config.seed, s)?;
        }
    }
    let check = config.dist.effective_check_every();
    if check > 0 && s.is_multiple_of(check) {
        check::weights_identical(coll, &state.model.params(), s)?;
    }
    Ok(())
}
