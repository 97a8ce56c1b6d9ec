//! `Sampler`: one Markov transition on a batch of chains, and the shared driver that runs n of
//! them. A kernel is small (state in, state and info out); the loop lives here, once.
//!
//! Every sampler has the same shape, BlackJAX's state / info / init / kernel:
//! - state: [`Chains`], the positions plus the energy and gradient a kernel already computed
//!   there (a kernel reuses them instead of evaluating the energy again);
//! - info: [`StepInfo`], the acceptance rate where there is one and an open list of named
//!   diagnostics (HMC's divergences and energy error), so a sampler reports what it has without
//!   any change here;
//! - init: the chains are made by the caller; a kernel fills their cache on first use;
//! - kernel: a plain function of the energy, the state, the random stream and explicit step
//!   parameters (`Langevin::kernel`, `Mala::kernel`, `Hmc::kernel` in `ebm-samplers`);
//!   [`Sampler::step`] reads the parameters of step `ctx.step` from its schedules and calls it.

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
    /// Any other per-transition diagnostics, by name (e.g. HMC's `divergences`,
    /// `energy_error`). Names are the sampler's own; [`run_chains`] and [`crate::sample`] average
    /// each over the steps that report it.
    pub extra: Vec<(&'static str, f64)>,
}

impl StepInfo {
    /// Info of a transition with a Metropolis test.
    pub fn with_acceptance(rate: f64) -> Self {
        StepInfo {
            acceptance_rate: Some(rate),
            extra: Vec::new(),
        }
    }

    /// Adds a named diagnostic.
    pub fn with(mut self, name: &'static str, value: f64) -> Self {
        self.extra.push((name, value));
        self
    }

    /// The named diagnostic, if this transition reported it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
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

    /// η when the move at chain step `step` of an `n_steps` run is x − η·∇E(x) followed by
    /// terms that do not involve ∇E (noise, clamping): the Langevin family. A loss that
    /// differentiates through the last move with respect to the energy's parameters (the KL
    /// term of contrastive divergence) needs it. `None` (the default) for every other move.
    fn drift_step(&self, step: u64, n_steps: u64) -> Option<f64> {
        let _ = (step, n_steps);
        None
    }
}

/// Summary of a sampling run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    pub steps: u64,
    /// Mean acceptance over the run, where the sampler reports one.
    pub mean_acceptance: Option<f64>,
    /// The mean over the run of each named diagnostic of [`StepInfo::extra`] (over the steps
    /// that reported it), in the order first reported.
    pub extra: Vec<(&'static str, f64)>,
}

impl RunSummary {
    /// The run mean of a named diagnostic, if the sampler reported it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
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
    let mut extra = ExtraMeans::default();
    for step in 0..n_steps {
        let info = sampler.step(energy, chains, &mut StepCtx { rng, step, n_steps })?;
        if let Some(a) = info.acceptance_rate {
            acc_sum += a;
            acc_n += 1;
        }
        extra.add(info.extra);
    }
    Ok(RunSummary {
        steps: n_steps,
        mean_acceptance: (acc_n > 0).then(|| acc_sum / acc_n as f64),
        extra: extra.means(),
    })
}

/// Running means of the named diagnostics of [`StepInfo::extra`], each over the steps that
/// reported it (the one place both loops, [`run_chains`] and [`crate::sample`], average them).
#[derive(Clone, Debug, Default)]
pub struct ExtraMeans {
    // (name, sum, count) per diagnostic; a handful of names, so a Vec beats a map.
    sums: Vec<(&'static str, f64, u64)>,
}

impl ExtraMeans {
    /// Adds one step's diagnostics.
    pub fn add(&mut self, extra: Vec<(&'static str, f64)>) {
        for (name, v) in extra {
            match self.sums.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, sum, count)) => {
                    *sum += v;
                    *count += 1;
                }
                None => self.sums.push((name, v, 1)),
            }
        }
    }

    /// Each diagnostic's mean, in the order they were first reported.
    pub fn means(&self) -> Vec<(&'static str, f64)> {
        self.sums
            .iter()
            .map(|&(name, sum, count)| (name, sum / count as f64))
            .collect()
    }
}
