//! ebm-core: the vocabulary every other ebm crate speaks.
//!
//! - [`Energy`] / [`Model`]: E(x) over a batch and its input gradient; models add parameters and a
//!   detached view for sampling.
//! - [`Sampler`]: one transition on [`Chains`]; [`run_chains`] is the shared loop, [`sample`] the
//!   driver that also keeps a thinned trajectory and reports ESS / split-R̂ ([`diagnostics`]).
//! - [`Loss`]: batch → scalar + metrics; [`ChainBank`] holds PCD's persistent chains.
//! - [`Schedule`]: any scalar hyper-parameter as a function of the step.
//! - [`Interpolant`], [`Integrator`]: paths and ODE/SDE steps for flow-style losses.
//! - The registry ([`register_sampler!`], [`register_loss!`], [`register_interpolant!`],
//!   [`register_integrator!`]) finds plugins by name.
//! - [`rng`]: seeded ChaCha streams; candle's CPU RNG is never used.
//!
//! Invariant: this crate depends on no other ebm crate.

mod bank;
mod chains;
mod config_key;
pub mod diagnostics;
mod driver;
mod energy;
mod error;
mod integrator;
mod interpolant;
mod loss;
mod registry;
pub mod rng;
mod sampler;
mod schedule;

pub use bank::{ChainBank, ChainInit, Drawn};
pub use chains::Chains;
pub use config_key::{by_found_value, parse_table};
pub use diagnostics::{effective_sample_size, split_rhat, Diagnostics};
pub use driver::{sample, SampleOptions, SampleOutput};
pub use energy::{
    autograd_energy_and_grad, differentiable_grad, double_backward_active, ensure_double_backward,
    no_energy_values, Energy, Model, Param, DOUBLE_BACKWARD_ENV,
};
pub use error::{Error, Result};
pub use integrator::{Drift, Integrator};
pub use interpolant::Interpolant;
pub use loss::{Loss, LossOut, TrainCtx};
pub use registry::{
    build_integrator, build_interpolant, build_loss, build_sampler, integrator_names,
    interpolant_names, loss_names, sampler_names, take_resolved_params, IntegratorPlugin,
    InterpolantPlugin, LossPlugin, Plugin, PluginArgs, PluginSpec, SamplerPlugin,
};
pub use rng::{Rng, RngState};
pub use sampler::{run_chains, ExtraMeans, RunSummary, Sampler, StepCtx, StepInfo};
pub use schedule::{Schedule, ScheduleConfig, Shape};

/// Re-exported so the registration macros work without a direct dependency.
#[doc(hidden)]
pub use inventory;
