//! Built-in integrators, defined once and injected into the samplers and flow samplers that need
//! them (BlackJAX style). Every one is registered by name for `[integrator] kind = "..."`:
//!
//! - [`leapfrog`]: L velocity-Verlet steps of Hamiltonian dynamics for HMC, one gradient per step.
//! - [`Leapfrog`] (`leapfrog`): the same scheme behind [`ebm_core::Integrator`], on `[q | p]`.
//! - [`EulerMaruyama`] (`euler_maruyama`), [`Heun`] (`heun`), [`Rk4`] (`rk4`), [`Dopri5`]
//!   (`dopri5`): explicit Runge–Kutta methods, each only a Butcher table in [`butcher`].
//! - [`integrate`]: the fixed-step driver (ODE or additive-noise SDE);
//!   [`integrate_adaptive`]: Dormand–Prince with step-size control.

pub mod butcher;
mod dopri5;
mod driver;
mod fixed_step;
mod leapfrog;

pub use dopri5::{integrate_adaptive, Dopri5, Dopri5Params, Stats};
pub use driver::integrate;
pub use fixed_step::{EulerMaruyama, Heun, Rk4};
pub use leapfrog::{leapfrog, Leapfrog, LeapfrogEnd};

use ebm_core::{Integrator, PluginArgs, Result};
use serde::Deserialize;

/// Call once from a binary to make sure this crate's registrations are linked in.
pub fn link() {}

/// Parameters of an integrator that has none: still rejects unknown keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

fn no_params(args: &PluginArgs) -> Result<()> {
    args.parse::<NoParams>().map(|_| ())
}

fn build_leapfrog(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
    no_params(args)?;
    Ok(Box::new(Leapfrog))
}

ebm_core::register_integrator!("leapfrog", build_leapfrog);
