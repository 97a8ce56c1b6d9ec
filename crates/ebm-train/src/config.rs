//! `RunConfig`: everything one training run reads from its TOML file. Every table denies unknown
//! keys, so a typo is an error naming the key instead of a silently ignored setting.

use crate::{DistConfig, EvalConfig, OptimConfig, Result};
use ebm_core::{Error as CoreError, PluginSpec};
use ebm_data::DataConfig;
use ebm_models::ModelConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Seeds every random stream of the run (weights, data, batches, sampling, evaluation).
    #[serde(default)]
    pub seed: u64,
    /// The energy network.
    #[serde(default)]
    pub model: ModelConfig,
    /// The training distribution.
    pub data: DataConfig,
    /// The sampler that draws negatives (and evaluation samples unless `[eval.sampler]` is set).
    #[serde(default = "default_sampler")]
    pub sampler: PluginSpec,
    #[serde(default = "default_loss")]
    pub loss: PluginSpec,
    #[serde(default)]
    pub optim: OptimConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub eval: EvalConfig,
    /// Data-parallel training: ranks, chain exchange, weight checks.
    #[serde(default)]
    pub dist: DistConfig,
}

fn default_sampler() -> PluginSpec {
    PluginSpec::new("langevin")
}

fn default_loss() -> PluginSpec {
    PluginSpec::new("contrastive_divergence")
}

/// `[train]`: the loop's length and cadence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer steps.
    #[serde(default = "d_steps")]
    pub steps: u64,
    /// Points per step *per rank*: with `dist.ranks = N` the global batch is N × batch_size.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Write a metrics row every N steps.
    #[serde(default = "d_log")]
    pub log_every: u64,
    /// Draw the energy landscape every N steps (0: only at the end).
    #[serde(default = "d_plot")]
    pub plot_every: u64,
    /// Write a checkpoint every N steps (and always at the end).
    #[serde(default = "d_ckpt")]
    pub checkpoint_every: u64,
    /// Checkpoints kept on disk (the newest ones).
    #[serde(default = "d_keep")]
    pub keep_checkpoints: usize,
    /// Also write a TensorBoard event file, `tb/events.out.tfevents.*`: the metrics' scalars,
    /// energy histograms, the figures as images and the config as text.
    #[serde(default = "d_tensorboard")]
    pub tensorboard: bool,
    /// The energy network's arithmetic: `"f32"`, or `"bf16"` on a CUDA GPU (the network computes
    /// in bfloat16; weights, gradients, optimizer state, chains and losses stay f32).
    #[serde(default)]
    pub precision: Precision,
    /// Divergence guard on magnitude: a step whose mean energy of data, samples or noise (the
    /// loss's `e_*` metrics) exceeds this in absolute value stops the run before its weights are
    /// updated or saved, as a non-finite value does. IGEBM-style runs keep |E| near 1.
    #[serde(default = "d_max_abs_energy")]
    pub max_abs_energy: f64,
}

/// `[train] precision`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
}

fn d_steps() -> u64 {
    2000
}
fn d_batch() -> usize {
    256
}
fn d_log() -> u64 {
    50
}
fn d_plot() -> u64 {
    500
}
fn d_ckpt() -> u64 {
    500
}
fn d_keep() -> usize {
    3
}
fn d_tensorboard() -> bool {
    true
}
fn d_max_abs_energy() -> f64 {
    1e6
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: d_steps(),
            batch_size: d_batch(),
            log_every: d_log(),
            plot_every: d_plot(),
            checkpoint_every: d_ckpt(),
            keep_checkpoints: d_keep(),
            tensorboard: d_tensorboard(),
            precision: Precision::F32,
            max_abs_energy: d_max_abs_energy(),
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<()> {
        let positive = [
            ("train.steps", self.steps),
            ("train.batch_size", self.batch_size as u64),
            ("train.log_every", self.log_every),
            ("train.checkpoint_every", self.checkpoint_every),
            ("train.keep_checkpoints", self.keep_checkpoints as u64),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(CoreError::config(key, "must be > 0").into());
            }
        }
        if !(self.max_abs_energy.is_finite() && self.max_abs_energy > 0.0) {
            return Err(CoreError::config(
                "train.max_abs_energy",
                format!("must be a finite number > 0, got {}", self.max_abs_energy),
            )
            .into());
        }
        Ok(())
    }
}

impl RunConfig {
    /// Checks every value that does not belong to a plugin (plugins check theirs when built).
    pub fn validate(&self) -> Result<()> {
        self.data.validate()?;
        self.model.validate()?;
        self.optim.validate()?;
        self.train.validate()?;
        self.eval.validate()?;
        if self.eval.through_checkpoints > self.train.keep_checkpoints {
            return Err(CoreError::config(
                "eval.through_checkpoints",
                format!(
                    "samples through {} checkpoints but the run keeps {} \
                     (`train.keep_checkpoints`): raise that or lower this",
                    self.eval.through_checkpoints, self.train.keep_checkpoints
                ),
            )
            .into());
        }
        self.dist.validate()?;
        if self.train.batch_size > self.data.n_samples() {
            return Err(CoreError::config(
                "train.batch_size",
                format!(
                    "{} is larger than data.n_samples = {}",
                    self.train.batch_size,
                    self.data.n_samples()
                ),
            )
            .into());
        }
        // Last: the sizes are known to be sane one by one, now check they fit together.
        crate::memory::check(self, crate::memory::memory_bound())
    }

    /// The resolved config as TOML (what `config.toml` in the run folder holds).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(crate::Error::serialize("the resolved config"))
    }
}
