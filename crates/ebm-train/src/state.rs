//! `TrainState`: everything that changes while training, built from the config with seeded
//! streams, and saved to / restored from a checkpoint exactly (weights, optimizer moments,
//! chain bank, batch order, RNG positions, step).
//!
//! In a data-parallel run each rank has its own `TrainState`: the same weights, its own block of
//! the training set, its own RNG streams `rng::stream(seed, purpose, rank)` and its own chain-bank
//! shard (see [`crate::dist`]). Rank 0 of 1 is the single-device run, stream for stream.

use crate::checkpoint::{self, Checkpoint};
use crate::dist::shard::{self as ranks, RankParts};
use crate::{AdamW, Ema, Error, Precision, Result, RunConfig};
use candle_core::{DType, Device};
use ebm_core::{
    build_loss, build_sampler, rng, Energy, Error as CoreError, Loss, Model, Rng, Sampler,
};
use ebm_data::{Batcher, Points};
use ebm_models::AutocastModel;
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "ebm-checkpoint-1";

pub struct TrainState {
    pub model: Box<dyn Model>,
    pub sampler: Box<dyn Sampler>,
    pub loss: Box<dyn Loss>,
    pub optim: AdamW,
    /// The averaged weights, with `optim.ema_decay`.
    pub ema: Option<Ema>,
    pub batcher: Batcher,
    /// Shuffles the training set.
    pub rng_batches: Rng,
    /// Sampling noise and chain re-initialisation.
    pub rng_sampler: Rng,
    /// Optimizer steps completed.
    pub step: u64,
    pub device: Device,
    /// This rank, in `0..world_size`.
    pub rank: usize,
    /// Number of ranks training together (1: single device).
    pub world_size: usize,
    /// The run seed, to re-derive streams when a checkpoint is re-sharded.
    seed: u64,
}

/// The whole training set (identical on every rank: drawn from the rank-0 `data` stream; image
/// sets read their train split, the test split being the evaluation's fresh data).
pub fn train_set(config: &RunConfig) -> Result<Points> {
    Ok(config
        .data
        .train_set(&mut rng::stream(config.seed, "data", 0))?)
}

/// `train.precision`: the model as built (f32), or computing in bf16 on a CUDA device.
fn with_precision(
    model: Box<dyn Model>,
    precision: Precision,
    device: &Device,
) -> Result<Box<dyn Model>> {
    match precision {
        Precision::F32 => Ok(model),
        Precision::Bf16 if device.is_cuda() => Ok(Box::new(AutocastModel::new(model, DType::BF16))),
        Precision::Bf16 => Err(CoreError::config(
            "train.precision",
            "\"bf16\" runs the energy network in bfloat16 on a CUDA GPU (ebm-launch --gpus N, a \
             build with --features cuda-train); this run trains on the CPU, where bf16 is only \
             slower: use \"f32\"",
        )
        .into()),
    }
}

impl TrainState {
    /// Builds a fresh state: seeded weights, training set, plugins and chain bank.
    pub fn new(config: &RunConfig, device: &Device) -> Result<Self> {
        Self::for_rank(config, device, 0, 1)
    }

    /// Rank `rank` of `world_size`'s fresh state: its block of the training set, its own streams
    /// and chain-bank shard. The weights come from the rank-0 `init` stream on every rank (the
    /// trainer broadcasts rank 0's anyway, so that ranks agree whatever built them).
    pub fn for_rank(
        config: &RunConfig,
        device: &Device,
        rank: usize,
        world_size: usize,
    ) -> Result<Self> {
        let seed = config.seed;
        let stream_rank = u32::try_from(rank)
            .map_err(|_| CoreError::config("dist.ranks", format!("rank {rank} is too large")))?;
        let sampler = build_sampler("sampler", &config.sampler)?;
        if let Some(spec) = &config.eval.sampler {
            // Built only after training; check its parameters before, not after, the run.
            build_sampler("eval.sampler", spec)?;
        }
        let mut loss = build_loss("loss", &config.loss)?;
        // Both splits' files, before anything is read: the evaluation reads the test split last.
        config.data.check_files()?;
        let all = train_set(config)?;
        if loss.needs_data() {
            // The whole set on every rank: N ranks fit the same noise as one.
            loss.fit_data(
                &all.to_tensor(device)?,
                &mut rng::stream(seed, "loss-fit", 0),
            )?;
        }
        let shard = all.shard(rank, world_size)?;
        if config.train.batch_size > shard.len() {
            return Err(CoreError::config(
                "train.batch_size",
                format!(
                    "{} (per rank) is larger than rank {rank}'s {} of data.n_samples = {} split over {world_size} ranks",
                    config.train.batch_size,
                    shard.len(),
                    config.data.n_samples()
                ),
            )
            .into());
        }
        let input_shape = shard.shape.clone();
        // The trained model and, with an EMA, its twin: the same draws from the rank-0 stream.
        let build_model = || -> Result<Box<dyn Model>> {
            let mut init = rng::stream(seed, "init", 0);
            let built = config.model.build(&input_shape, &mut init, device)?;
            with_precision(built, config.train.precision, device)
        };
        let model = build_model()?;
        loss.check_model(model.as_ref())?;
        loss.init(&input_shape, &mut rng::stream(seed, "chains", stream_rank))?;
        if let Some(bank) = loss.chain_bank() {
            // Each step draws a batch of chains from the bank: a smaller bank fails at step 1.
            if bank.capacity() < config.train.batch_size {
                return Err(CoreError::config(
                    "loss.buffer_capacity",
                    format!(
                        "rank {rank}'s bank holds {} chains, fewer than train.batch_size = {} \
                         drawn each step",
                        bank.capacity(),
                        config.train.batch_size
                    ),
                )
                .into());
            }
        }
        let optim = AdamW::new(model.params(), config.optim.clone())?;
        let ema = match config.optim.ema_decay {
            // A second model of the same shapes; its drawn weights are replaced at once.
            Some(decay) => Some(Ema::new(decay, build_model()?, model.as_ref())?),
            None => None,
        };
        Ok(TrainState {
            model,
            sampler,
            loss,
            optim,
            ema,
            batcher: Batcher::new(shard, config.train.batch_size)?.with_flip(config.data.flip())?,
            rng_batches: rng::stream(seed, "batches", stream_rank),
            rng_sampler: rng::stream(seed, "sampler", stream_rank),
            step: 0,
            device: device.clone(),
            rank,
            world_size,
            seed,
        })
    }

    pub fn input_shape(&self) -> Vec<usize> {
        self.model.input_shape()
    }

    /// The energy that samples and evaluates: the averaged weights' view with
    /// `optim.ema_decay`, else the trained model's.
    pub fn sampling_view(&self) -> Result<Box<dyn Energy>> {
        match &self.ema {
            Some(ema) => ema.view(self.model.as_ref()),
            None => Ok(self.model.detached()),
        }
    }

    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        let mut tensors = HashMap::new();
        for p in self.model.params() {
            tensors.insert(format!("model.{}", p.name), p.var.as_tensor().clone());
        }
        for (name, t) in self.model.buffers()? {
            tensors.insert(format!("buffers.{name}"), t);
        }
        tensors.extend(self.optim.state());
        if let Some(ema) = &self.ema {
            tensors.extend(ema.state()?);
        }
        if let Some(bank) = self.loss.chain_bank() {
            tensors.insert("bank.chains".into(), bank.to_tensor(&self.device)?);
        }
        let meta = std::collections::BTreeMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("step".into(), self.step.to_string()),
            ("optim.t".into(), self.optim.steps().to_string()),
        ]);
        let mut ckpt = Checkpoint { tensors, meta };
        // A lone state's own parts go under rank 0's keys; `dist::gather_checkpoint` adds the
        // other ranks'.
        RankParts::of(self).write("", &mut ckpt)?;
        Ok(ckpt)
    }

    /// Continues from `ckpt` (read from `path`, named in errors).
    pub fn restore(&mut self, ckpt: &Checkpoint, path: &Path) -> Result<()> {
        let bad = |message: String| Error::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let number = |key: &str| -> Result<u64> {
            ckpt.meta(key, path)?
                .parse()
                .map_err(|_| bad(format!("metadata `{key}` is not a number")))
        };
        if ckpt.meta("format", path)? != FORMAT {
            return Err(bad(format!(
                "unknown format `{}`, expected {FORMAT}",
                ckpt.meta("format", path)?
            )));
        }
        self.model
            .load_params(&|name| ckpt.tensor(&format!("model.{name}")))?;
        self.model
            .load_buffers(&|name| ckpt.tensor(&format!("buffers.{name}")))?;
        self.optim
            .load_state(number("optim.t")?, &|key| ckpt.tensor(key))?;
        if let Some(ema) = &self.ema {
            ema.load(&|key| ckpt.tensor(key), self.model.as_ref(), path)?;
        }
        self.step = number("step")?;
        let saved_world = ranks::saved_world_size(ckpt, path)?;
        if let Some(bank) = self.loss.chain_bank_mut() {
            bank.set_chains(&ranks::bank_shard(ckpt, path, self.rank, self.world_size)?)?;
        }
        if saved_world == self.world_size {
            RankParts::read(&ranks::prefix(self.rank), ckpt, path)?.apply(self)?;
        } else {
            // Another split of the data: the saved batch order means nothing here. Start a fresh
            // pass and fresh streams, named by the step so they do not replay numbers already used.
            let rank = self.rank as u32;
            let step = self.step;
            self.rng_batches = rng::stream(self.seed, &format!("batches@{step}"), rank);
            self.rng_sampler = rng::stream(self.seed, &format!("sampler@{step}"), rank);
            tracing::warn!(
                saved_world,
                world = self.world_size,
                "checkpoint written by a different number of ranks: chains re-sharded, streams re-derived (not bit-exact with the original world size)"
            );
        }
        Ok(())
    }

    /// Saves a checkpoint for the current step into `dir`, keeping the newest `keep`.
    pub fn save(&self, dir: &Path, keep: usize) -> Result<std::path::PathBuf> {
        let path = checkpoint::save(dir, self.step, &self.to_checkpoint()?)?;
        checkpoint::prune(dir, keep)?;
        Ok(path)
    }
}
