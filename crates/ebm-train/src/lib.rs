//! ebm-train: a training run, on one device or data-parallel over N ranks ([`dist`]).
//!
//! [`load`] reads a [`RunConfig`] (TOML file, `EBM_` environment, `--set`), [`Trainer`] builds
//! the model, sampler, loss and data from it and runs the loop ([`train_step`] is one step),
//! writing the run folder ([`RunDir`]): resolved `config.toml`, `metrics.jsonl`, `plots/`,
//! `samples.npy`, `eval.json` and `checkpoints/` from which `Start::Resume` continues exactly.
//! [`Trainer::new_distributed`] is one rank of a data-parallel run over any
//! [`ebm_dist::Collective`]; [`run_local_ranks`] runs N ranks as threads of this process.
//! [`sample_from_run`] draws new samples (with diagnostics and plots) from a finished run;
//! [`evaluate_run`] evaluates one (sample distances, AIS likelihood, FID-like/KID/OOD AUROC in
//! the feature space of a [`classifier`] ebm trains itself).

pub mod ais;
pub mod checkpoint;
pub mod classifier;
mod config;
#[cfg(feature = "cuda")]
pub mod device;
pub mod dist;
pub mod distance;
mod error;
mod eval;
pub mod image_metrics;
pub mod image_plots;
mod load;
mod metrics;
mod optim;
pub mod plots;
mod resume;
mod run_dir;
mod run_eval;
mod sample_run;
mod state;
mod step;
mod trained_run;
mod trainer;

pub use config::{RunConfig, TrainConfig};
pub use dist::{run_local_ranks, DistConfig};
pub use error::{Error, Result};
pub use eval::{compare_with_data, draw_samples, EvalConfig, EvalReport};
pub use load::{load, LoadedConfig};
pub use metrics::{MetricsLog, Row};
pub use optim::{AdamW, OptimConfig};
pub use run_dir::RunDir;
pub use run_eval::{
    evaluate_run, EvalRunOptions, EvalRunReport, ImageReport, LikelihoodReport, OodReport,
};
pub use sample_run::{sample_from_run, SampleRunOptions, SampleRunReport};
pub use state::TrainState;
pub use step::{train_step, train_step_on};
pub use trained_run::TrainedRun;
pub use trainer::{Start, TrainSummary, Trainer};
