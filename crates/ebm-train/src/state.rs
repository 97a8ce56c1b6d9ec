//! `TrainState`: everything that changes while training, built from the config with seeded
//! streams, and saved to / restored from a checkpoint exactly (weights, optimizer moments,
//! chain bank, batch order, RNG positions, step).

use crate::checkpoint::{self, Checkpoint};
use crate::{AdamW, Error, Result, RunConfig};
use candle_core::{DType, Device, Tensor};
use ebm_core::{build_loss, build_sampler, rng, Loss, Model, Rng, RngState, Sampler};
use ebm_data::{Batcher, BatcherState};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "ebm-checkpoint-1";

pub struct TrainState {
    pub model: Box<dyn Model>,
    pub sampler: Box<dyn Sampler>,
    pub loss: Box<dyn Loss>,
    pub optim: AdamW,
    pub batcher: Batcher,
    /// Shuffles the training set.
    pub rng_batches: Rng,
    /// Sampling noise and chain re-initialisation.
    pub rng_sampler: Rng,
    /// Optimizer steps completed.
    pub step: u64,
    pub device: Device,
}

impl TrainState {
    /// Builds a fresh state: seeded weights, training set, plugins and chain bank.
    pub fn new(config: &RunConfig, device: &Device) -> Result<Self> {
        let seed = config.seed;
        let sampler = build_sampler("sampler", &config.sampler)?;
        let mut loss = build_loss("loss", &config.loss)?;
        let train_set = config
            .data
            .sample(config.data.n_samples(), &mut rng::stream(seed, "data", 0))?;
        let input_shape = vec![train_set.dim];
        let model = config
            .model
            .build(&input_shape, &mut rng::stream(seed, "init", 0), device)?;
        loss.check_model(model.as_ref())?;
        loss.init(&input_shape, &mut rng::stream(seed, "chains", 0))?;
        let optim = AdamW::new(model.params(), config.optim.clone())?;
        Ok(TrainState {
            model,
            sampler,
            loss,
            optim,
            batcher: Batcher::new(train_set, config.train.batch_size)?,
            rng_batches: rng::stream(seed, "batches", 0),
            rng_sampler: rng::stream(seed, "sampler", 0),
            step: 0,
            device: device.clone(),
        })
    }

    pub fn input_shape(&self) -> Vec<usize> {
        self.model.input_shape()
    }

    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        let mut tensors = HashMap::new();
        for p in self.model.params() {
            tensors.insert(format!("model.{}", p.name), p.var.as_tensor().clone());
        }
        tensors.extend(self.optim.state());
        if let Some(bank) = self.loss.chain_bank() {
            tensors.insert("bank.chains".into(), bank.to_tensor(&self.device)?);
        }
        let batches = self.batcher.state();
        if !batches.order.is_empty() {
            let n = batches.order.len();
            tensors.insert(
                "batcher.order".into(),
                Tensor::from_vec(batches.order, n, &Device::Cpu)?,
            );
        }
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("step".into(), self.step.to_string()),
            ("optim.t".into(), self.optim.steps().to_string()),
            ("batcher.pos".into(), batches.pos.to_string()),
            (
                "rng.batches".into(),
                RngState::of(&self.rng_batches).encode(),
            ),
            (
                "rng.sampler".into(),
                RngState::of(&self.rng_sampler).encode(),
            ),
        ]);
        Ok(Checkpoint { tensors, meta })
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
        self.optim
            .load_state(number("optim.t")?, &|key| ckpt.tensor(key))?;
        if let Some(bank) = self.loss.chain_bank_mut() {
            let saved = ckpt
                .tensor("bank.chains")
                .ok_or_else(|| bad("`bank.chains` missing".into()))?;
            bank.restore(&saved)?;
        }
        let order = match ckpt.tensor("batcher.order") {
            Some(t) => t.to_dtype(DType::U32)?.to_vec1::<u32>()?,
            None => Vec::new(),
        };
        self.batcher.restore(BatcherState {
            order,
            pos: number("batcher.pos")?,
        })?;
        self.rng_batches = RngState::decode(ckpt.meta("rng.batches", path)?)?.to_rng();
        self.rng_sampler = RngState::decode(ckpt.meta("rng.sampler", path)?)?.to_rng();
        self.step = number("step")?;
        Ok(())
    }

    /// Saves a checkpoint for the current step into `dir`, keeping the newest `keep`.
    pub fn save(&self, dir: &Path, keep: usize) -> Result<std::path::PathBuf> {
        let path = checkpoint::save(dir, self.step, &self.to_checkpoint()?)?;
        checkpoint::prune(dir, keep)?;
        Ok(path)
    }
}
