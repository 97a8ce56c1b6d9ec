//! What differs between ranks, and how it goes into and out of a checkpoint.
//!
//! Weights and optimizer moments are identical on every rank, so a checkpoint holds them once.
//! Each rank's own parts — its batch order and position, its two RNG streams, its chain-bank
//! shard — are gathered by rank 0: rank 0's under the single-rank keys (`batcher.order`,
//! `rng.batches`, ...), rank r's under `rank{r}.`-prefixed keys, and the banks as one union
//! `bank.chains` with the shard sizes in `dist.bank_sizes`. A single-rank checkpoint is the
//! special case world size 1, so old checkpoints still load.
//!
//! Resuming with the same world size restores every rank exactly. With a different world size
//! the union of chains is re-sharded ([`shard_range`]), each rank starts a fresh pass over its
//! new data shard, and its streams are re-derived from (seed, purpose, step, rank): the run
//! continues soundly but is not the run the old world size would have produced.

use crate::checkpoint::Checkpoint;
use crate::dist::exchange::gather_chains;
use crate::dist::wire::all_gather_bytes;
use crate::{Error, Result, TrainState};
use candle_core::{DType, Device, Tensor};
use ebm_core::{Rng, RngState};
use ebm_data::{shard_range, BatcherState};
use ebm_dist::Collective;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Checkpoint key prefix of `rank`'s own parts.
pub(crate) fn prefix(rank: usize) -> String {
    if rank == 0 {
        String::new()
    } else {
        format!("rank{rank}.")
    }
}

/// One rank's batch position and RNG streams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RankParts {
    pub batches: BatcherState,
    pub rng_batches: String,
    pub rng_sampler: String,
}

impl RankParts {
    pub fn of(state: &TrainState) -> Self {
        RankParts {
            batches: state.batcher.state(),
            rng_batches: RngState::of(&state.rng_batches).encode(),
            rng_sampler: RngState::of(&state.rng_sampler).encode(),
        }
    }

    /// Adds these parts to `ckpt` under `prefix`.
    pub fn write(&self, prefix: &str, ckpt: &mut Checkpoint) -> Result<()> {
        let order = &self.batches.order;
        if !order.is_empty() {
            ckpt.tensors.insert(
                format!("{prefix}batcher.order"),
                Tensor::from_slice(order, order.len(), &Device::Cpu)?,
            );
        }
        for (key, value) in [
            ("batcher.pos", self.batches.pos.to_string()),
            ("rng.batches", self.rng_batches.clone()),
            ("rng.sampler", self.rng_sampler.clone()),
        ] {
            ckpt.meta.insert(format!("{prefix}{key}"), value);
        }
        Ok(())
    }

    /// Reads the parts saved under `prefix`.
    pub fn read(prefix: &str, ckpt: &Checkpoint, path: &Path) -> Result<Self> {
        let order = match ckpt.tensor(&format!("{prefix}batcher.order")) {
            Some(t) => t.to_dtype(DType::U32)?.to_vec1::<u32>()?,
            None => Vec::new(),
        };
        let key = format!("{prefix}batcher.pos");
        let pos = ckpt
            .meta(&key, path)?
            .parse()
            .map_err(|_| Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("metadata `{key}` is not a number"),
            })?;
        Ok(RankParts {
            batches: BatcherState { order, pos },
            rng_batches: ckpt.meta(&format!("{prefix}rng.batches"), path)?.into(),
            rng_sampler: ckpt.meta(&format!("{prefix}rng.sampler"), path)?.into(),
        })
    }

    pub fn apply(self, state: &mut TrainState) -> Result<()> {
        state.batcher.restore(self.batches)?;
        state.rng_batches = decode(&self.rng_batches)?;
        state.rng_sampler = decode(&self.rng_sampler)?;
        Ok(())
    }
}

fn decode(s: &str) -> Result<Rng> {
    Ok(RngState::decode(s)?.to_rng())
}

/// The whole run's checkpoint, on rank 0 (`None` on the others). A collective: every rank calls
/// it at the same step.
pub fn gather_checkpoint(coll: &dyn Collective, state: &TrainState) -> Result<Option<Checkpoint>> {
    if coll.world_size() == 1 {
        return Ok(Some(state.to_checkpoint()?));
    }
    let parts =
        serde_json::to_vec(&RankParts::of(state)).map_err(Error::serialize("a rank's state"))?;
    let parts = all_gather_bytes(coll, &parts)?;
    let bank = match state.loss.chain_bank() {
        Some(b) => Some((
            gather_chains(coll, b)?,
            coll.all_gather(&[b.capacity() as f32])?,
        )),
        None => None,
    };
    if coll.rank() != 0 {
        return Ok(None);
    }
    let mut ckpt = state.to_checkpoint()?;
    for (r, bytes) in parts.iter().enumerate().skip(1) {
        let p: RankParts = serde_json::from_slice(bytes).map_err(|e| Error::Wire {
            what: "the rank's state",
            rank: r,
            message: e.to_string(),
        })?;
        p.write(&prefix(r), &mut ckpt)?;
    }
    if let Some((chains, sizes)) = bank {
        ckpt.tensors.insert("bank.chains".into(), chains);
        let sizes: Vec<String> = sizes.iter().map(|s| (*s as usize).to_string()).collect();
        ckpt.meta.insert("dist.bank_sizes".into(), sizes.join(","));
    }
    ckpt.meta
        .insert("dist.world_size".into(), coll.world_size().to_string());
    Ok(Some(ckpt))
}

/// The world size a checkpoint was written with (1 for single-rank checkpoints).
pub(crate) fn saved_world_size(ckpt: &Checkpoint, path: &Path) -> Result<usize> {
    match ckpt.meta.get("dist.world_size") {
        None => Ok(1),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("metadata `dist.world_size` = `{v}` is not a number of ranks ≥ 1"),
            }),
        },
    }
}

/// This rank's chains from the saved union: its own shard if the world size is unchanged, else
/// its [`shard_range`] of the union.
pub(crate) fn bank_shard(
    ckpt: &Checkpoint,
    path: &Path,
    rank: usize,
    world: usize,
) -> Result<Tensor> {
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let union = ckpt
        .tensor("bank.chains")
        .ok_or_else(|| bad("`bank.chains` missing".into()))?;
    let total = union.dims().first().copied().unwrap_or(0);
    let sizes: Vec<usize> = match ckpt.meta.get("dist.bank_sizes") {
        None => vec![total],
        Some(s) => s
            .split(',')
            .map(|v| v.parse())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("metadata `dist.bank_sizes` = `{s}` is malformed")))?,
    };
    if sizes.iter().sum::<usize>() != total {
        return Err(bad(format!(
            "`dist.bank_sizes` {sizes:?} do not add up to the {total} saved chains"
        )));
    }
    let range = if sizes.len() == world {
        let start = sizes[..rank].iter().sum::<usize>();
        start..start + sizes[rank]
    } else {
        shard_range(total, rank, world)
    };
    if range.is_empty() {
        return Err(bad(format!(
            "{total} saved chains leave rank {rank} of {world} with none"
        )));
    }
    Ok(union.narrow(0, range.start, range.len())?)
}
