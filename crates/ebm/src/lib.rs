//! The ebm facade: one dependency for the public API.
//!
//! ```
//! use ebm::prelude::*;
//! let e = ebm::models::analytic::Harmonic::new(1.0).unwrap();
//! let x = candle_core::Tensor::new(&[[3.0f32, 4.0]], &candle_core::Device::Cpu).unwrap();
//! assert_eq!(e.energy(&x).unwrap().to_vec1::<f32>().unwrap(), vec![12.5]);
//! ```

pub use ebm_core as core;
pub use ebm_data as data;
pub use ebm_eval as eval;
pub use ebm_integrators as integrators;
pub use ebm_interpolants as interpolants;
pub use ebm_losses as losses;
pub use ebm_models as models;
pub use ebm_samplers as samplers;
pub use ebm_train as train;
pub use ebm_viz as viz;

/// Trains the run `loaded` describes into `dir` with the standard progress figures and
/// end-of-run evaluation (`samples.npy`, `eval.json`): what `ebm-launch CONFIG` does on one
/// device. For other hooks, or none, call [`ebm_train::Trainer::run`] yourself.
pub fn train(
    loaded: &ebm_train::LoadedConfig,
    dir: &std::path::Path,
    start: ebm_train::Start,
) -> ebm_train::Result<ebm_train::TrainSummary<ebm_eval::EvalReport>> {
    ebm_train::Trainer::new(loaded, dir, start)?.run(&mut ebm_eval::EvalHooks::new())
}

/// The traits and types most programs need.
pub mod prelude {
    pub use ebm_core::{
        run_chains, ChainBank, ChainInit, Chains, Energy, Loss, LossOut, Model, PluginSpec, Rng,
        Sampler, Schedule, ScheduleConfig, StepCtx, StepInfo, TrainCtx,
    };
    pub use ebm_eval::{EvalHooks, EvalReport};
    pub use ebm_train::{load, RunConfig, RunHooks, Start, Trainer};
}
