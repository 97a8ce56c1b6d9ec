//! Built-in integrators, defined once and injected into the samplers and flow samplers that need
//! them (BlackJAX style):
//!
//! - [`leapfrog`]: L velocity-Verlet steps of Hamiltonian dynamics for HMC, one gradient per step.
//! - [`Leapfrog`]: the same scheme behind [`ebm_core::Integrator`], on a phase-space state `[q | p]`.

mod leapfrog;

pub use leapfrog::{leapfrog, Leapfrog, LeapfrogEnd};
