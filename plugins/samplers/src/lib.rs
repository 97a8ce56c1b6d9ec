//! Built-in samplers, each registered by name for `[sampler] kind = "..."`:
//!
//! - `langevin`: unadjusted Langevin dynamics with scheduled step size and noise.
//! - `gradient_descent`: x ← x − η∇E, optional noise; energy minimisation / mode finding.
//! - `nesterov`: Nesterov accelerated gradient with momentum; a faster mode finder.
//! - `annealed_langevin`: Langevin at a scheduled temperature T, sampling exp(−E/T).
//! - `parallel_tempering`: Langevin replicas on a temperature ladder with neighbour swaps.
//! - `mala`: Metropolis-adjusted Langevin; exact, optional dual-averaging step adaptation.
//! - `hmc`: Hamiltonian Monte Carlo with a diagonal mass and leapfrog; optional adaptation.
//! - `flow`: ODE/SDE integration of a learned velocity field from noise (t = 0) to data (t = 1).
//!
//! Linking this crate is what makes the names available; [`link`] exists so a binary can force
//! the linker to keep it.

pub mod adaptation;
mod annealed_langevin;
mod flow;
mod grad_clip;
mod gradient_descent;
mod hmc;
mod langevin;
mod mala;
mod metropolis;
mod nesterov;
mod parallel_tempering;
mod raw_update;
mod validate;

pub use annealed_langevin::{AnnealedLangevin, AnnealedLangevinParams};
pub use flow::{Flow, FlowMode, FlowParams};
pub use gradient_descent::{GradientDescent, GradientDescentParams};
pub use hmc::{Hmc, HmcParams, Mass, DIVERGENCE_THRESHOLD, HMC_TARGET_ACCEPT};
pub use langevin::{Langevin, LangevinParams};
pub use mala::{Mala, MalaParams, MALA_TARGET_ACCEPT};
pub use nesterov::{Nesterov, NesterovParams};
pub use parallel_tempering::{ParallelTempering, ParallelTemperingParams};

/// Call once from a binary to make sure this crate's registrations are linked in, and those of
/// the integrators and interpolants the flow sampler builds by name.
pub fn link() {
    ebm_integrators::link();
    ebm_interpolants::link();
}
