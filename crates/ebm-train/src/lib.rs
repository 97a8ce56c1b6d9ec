//! ebm-train: a training run, on one device or data-parallel over N ranks ([`dist`]).
//!
//! [`load`] reads a [`RunConfig`] (TOML file, `EBM_` environment, `--set`), [`Trainer`] builds
//! the model, sampler, loss and data from it and runs the loop ([`train_step`] is one step),
//! writing the run folder ([`RunDir`]): resolved `config.toml`, `metrics.jsonl`, a TensorBoard
//! event file ([`tensorboard`]) and `checkpoints/` from which `Start::Resume` continues
//! exactly. What rank 0 alone does is [`RankRole`]'s to say.
//!
//! Figures and evaluation are not here: the loop calls a [`RunHooks`] at its plot interval and
//! after its last step, and the `ebm-eval` crate's `EvalHooks` draws the progress figures and
//! writes `samples.npy`, `eval.json` and the final figures ([`NoHooks`]: the loop alone).
//! [`Trainer::new_distributed`] is one rank of a data-parallel run over any
//! [`ebm_dist::Collective`]; [`run_local_ranks`] runs N ranks as threads of this process.

pub mod checkpoint;
mod config;
#[cfg(feature = "cuda")]
pub mod device;
pub mod dist;
mod ema;
mod error;
mod eval_config;
mod hooks;
mod load;
mod locate;
pub mod memory;
mod memory_image;
mod metrics;
mod optim;
mod rank_role;
mod resume;
mod run_dir;
mod state;
mod step;
pub mod tensorboard;
mod trainer;

pub use config::{Precision, RunConfig, TrainConfig};
pub use dist::{run_local_ranks, DistConfig};
pub use ema::Ema;
pub use error::{Error, Result};
pub use eval_config::EvalConfig;
pub use hooks::{NoHooks, NoReport, RunHooks, RunView};
pub use load::{load, LoadedConfig};
pub use metrics::{MetricsLog, Row};
pub use optim::{AdamW, OptimConfig};
pub use rank_role::RankRole;
pub use run_dir::{write_atomic, RunDir};
pub use state::{train_set, TrainState};
pub use step::{train_step, train_step_on};
pub use trainer::{Start, TrainSummary, Trainer};
