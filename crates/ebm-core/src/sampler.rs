//! `Sampler`: one Markov transition on a batch of chains, and the shared driver that runs n of
//! them. A kernel is small (state in, state and info out); the loop lives here, once.

use crate::{Chains, Energy, Result, Rng};

/// What a transition needs besides the energy and the chains.
pub struct StepCtx<'a> {
    pub rng: &'a mut Rng,
    /// Index of this step within the current sampling run (0-based): the clock of the sampler's
    /// schedules (step size, noise, temperature), restarted by every run as TorchEBM does.
    pub step: u64,
    /// Steps in this run: the flow sampler spreads t ∈ [0, 1] over them.
    pub n_steps: u64,
}

/// Diagnostics of one transition. Nothing here feeds back into the chains.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepInfo {
    /// Mean Metropolis acceptance over the batch, for samplers that have one.
    pub acceptance_rate: Option<f64>,
}

/// A Markov transition kernel.
pub trait Sampler: Send {
    /// The registry name (`[sampler] kind = "..."`).
    fn name(&self) -> &'static str;

    /// One transition of every chain, in place.
    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo>;
}

/// Summary of a sampling run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    pub steps: u64,
    /// Mean acceptance over the run, where the sampler reports one.
    pub mean_acceptance: Option<f64>,
}

/// Runs `n_steps` transitions of `sampler` on `chains` (the shared loop every sampler uses).
pub fn run_chains(
    sampler: &mut dyn Sampler,
    energy: &dyn Energy,
    chains: &mut Chains,
    n_steps: u64,
    rng: &mut Rng,
) -> Result<RunSummary> {
    let mut acc_sum = 0.0;
    let mut acc_n = 0u64;
    for step in 0..n_steps {
        let info = sampler.step(energy, chains, &mut StepCtx { rng, step, n_steps })?;
        if let Some(a) = info.acceptance_rate {
            acc_sum += a;
            acc_n += 1;
        }
    }
    Ok(RunSummary {
        steps: n_steps,
        mean_acceptance: (acc_n > 0).then(|| acc_sum / acc_n as f64),
    })
}
