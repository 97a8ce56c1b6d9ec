//! Shared persistent chains. Each rank's `ChainBank` is its shard of one global population; every
//! `dist.exchange_every` steps the shards are pooled and dealt out again, so over training each
//! rank draws negatives from the whole population rather than from the chains it started with.
//!
//! The exchange is an all-gather of the shards (rank order), a permutation of the pooled chains
//! drawn from a stream seeded by (run seed, step) — identical on every rank, no communication
//! needed to agree on it — and each rank keeping its [`shard_range`] of the permuted pool. Every
//! chain therefore lands on exactly one rank, and the result depends only on the seed and step,
//! so resumed runs replay it.

use crate::Result;
use candle_core::Tensor;
use ebm_core::{rng, ChainBank};
use ebm_data::{fisher_yates, shard_range};
use ebm_dist::{all_gather_tensor, Collective};

/// All ranks' chains, `[total, chain_shape...]`, in rank order (what checkpoints and plots use).
pub fn gather_chains(coll: &dyn Collective, bank: &ChainBank) -> Result<Tensor> {
    let local = bank.to_tensor(&candle_core::Device::Cpu)?;
    Ok(all_gather_tensor(coll, &local)?)
}

/// Rank `rank`'s share of `pool` after the permutation of `step`: rows `perm[shard_range(..)]`.
pub fn deal(pool: &Tensor, seed: u64, step: u64, rank: usize, world: usize) -> Result<Tensor> {
    let total = pool.dims()[0];
    let mut perm: Vec<u32> = (0..total as u32).collect();
    fisher_yates(
        &mut perm,
        &mut rng::stream(seed, &format!("chain-exchange@{step}"), 0),
    );
    let mine = &perm[shard_range(total, rank, world)];
    let index = Tensor::from_slice(mine, mine.len(), pool.device())?;
    Ok(pool.index_select(&index, 0)?)
}

/// Pools every rank's shard and deals the chains out again (a collective: every rank calls it at
/// the same step). Shard sizes after the exchange follow [`shard_range`] of the pool.
pub fn exchange_chains(
    coll: &dyn Collective,
    bank: &mut ChainBank,
    seed: u64,
    step: u64,
) -> Result<()> {
    let pool = gather_chains(coll, bank)?;
    let mine = deal(&pool, seed, step, coll.rank(), coll.world_size())?;
    bank.set_chains(&mine)?;
    Ok(())
}
