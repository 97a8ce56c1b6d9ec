//! The sampling driver: runs any [`Sampler`] for `n_steps` transitions and records what a user
//! looks at afterwards — a thinned trajectory, per-step acceptance, the mean energy at kept
//! steps, and per-dimension convergence [`Diagnostics`]. [`crate::run_chains`] stays the minimal
//! loop for training; this one is for drawing samples from a trained model.
//!
//! The driver never draws random numbers itself and never writes into the chains' caches, so the
//! chains end exactly where `run_chains` would leave them with the same generator.

use crate::diagnostics::{summarize, Diagnostics};
use crate::sampler::ExtraMeans;
use crate::{Chains, Energy, Error, Result, Rng, Sampler, StepCtx};
use candle_core::{DType, Tensor};

/// How long to sample and what to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOptions {
    /// Transitions to run.
    pub n_steps: u64,
    /// Keep every `thin`-th state (≥ 1). Kept states are aligned to the end, so the final state
    /// is always kept; `ceil(n_steps / thin)` states are kept in all.
    pub thin: u64,
    /// Store the kept states (`[B, ...]` each); diagnostics need them.
    pub keep_trajectory: bool,
    /// Transitions discarded by the diagnostics (the trajectory still holds them).
    pub burn_in: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            n_steps: 500,
            thin: 1,
            keep_trajectory: true,
            burn_in: 250,
        }
    }
}

/// What a sampling run produced.
#[derive(Clone, Debug)]
pub struct SampleOutput {
    /// The chains' positions before the first transition.
    pub start: Tensor,
    /// The chains' positions after the last transition.
    pub final_x: Tensor,
    /// Transitions completed at each kept state (1-based: 1 is the state after the first step).
    pub kept_steps: Vec<u64>,
    /// The kept states, one `[B, ...]` tensor per entry of `kept_steps`; empty unless
    /// `keep_trajectory` was set.
    pub trajectory: Vec<Tensor>,
    /// Mean acceptance of each transition, where the sampler reports one.
    pub acceptance: Vec<Option<f64>>,
    /// Mean energy over the chains at each kept state.
    pub mean_energy: Vec<f64>,
    /// The run's mean of each sampler-specific diagnostic ([`crate::StepInfo::extra`], e.g.
    /// HMC's `divergences` and `energy_error`), over the steps that reported it.
    pub extra: Vec<(&'static str, f64)>,
    /// The options' burn-in, in transitions.
    pub burn_in: u64,
}

impl SampleOutput {
    /// Mean acceptance over the transitions that reported one.
    pub fn mean_acceptance(&self) -> Option<f64> {
        let reported: Vec<f64> = self.acceptance.iter().flatten().copied().collect();
        (!reported.is_empty()).then(|| reported.iter().sum::<f64>() / reported.len() as f64)
    }

    /// ESS, split-R̂, mean and variance per dimension of the flattened state, over the kept
    /// states after burn-in. Needs the trajectory, at least 2 chains and at least 4 such states.
    pub fn diagnostics(&self) -> Result<Vec<Diagnostics>> {
        let missing = |what: String| Error::invalid_argument("compute diagnostics", what);
        if self.trajectory.is_empty() && !self.kept_steps.is_empty() {
            return Err(missing(
                "the trajectory was not kept (set SampleOptions::keep_trajectory)".into(),
            ));
        }
        let n_chains = self.final_x.dims().first().copied().unwrap_or(0);
        if n_chains < 2 {
            return Err(missing(format!("need at least 2 chains, got {n_chains}")));
        }
        let states: Vec<&Tensor> = self
            .kept_steps
            .iter()
            .zip(&self.trajectory)
            .filter(|(s, _)| **s > self.burn_in)
            .map(|(_, x)| x)
            .collect();
        if states.len() < 4 {
            return Err(missing(format!(
                "need at least 4 kept states after a burn-in of {} steps, got {} (run more steps, \
                 thin less or shorten the burn-in)",
                self.burn_in,
                states.len()
            )));
        }
        let rows: Vec<Vec<f64>> = states
            .iter()
            .map(|x| Ok(x.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?))
            .collect::<Result<_>>()?;
        let dim = rows[0].len() / n_chains;
        let k = rows.len();
        let mut draws = vec![0.0; n_chains * k];
        Ok((0..dim)
            .map(|d| {
                for (t, row) in rows.iter().enumerate() {
                    for c in 0..n_chains {
                        draws[c * k + t] = row[c * dim + d];
                    }
                }
                summarize(d, &draws, n_chains)
            })
            .collect())
    }
}

/// Whether the state after step `step` (0-based) is kept: every `thin`-th, counting back from
/// the last step.
fn is_kept(step: u64, n_steps: u64, thin: u64) -> bool {
    (n_steps - 1 - step).is_multiple_of(thin)
}

/// Runs `opts.n_steps` transitions of `sampler` on `chains`, recording as `opts` says. The mean
/// energy at a kept state uses the sampler's cached `chains.energy` when it left one, and
/// evaluates `energy` only at kept states otherwise.
pub fn sample(
    sampler: &mut dyn Sampler,
    energy: &dyn Energy,
    chains: &mut Chains,
    opts: &SampleOptions,
    rng: &mut Rng,
) -> Result<SampleOutput> {
    if opts.thin == 0 {
        return Err(Error::config("thin", "must be ≥ 1 (1 keeps every state)"));
    }
    let start = chains.x().clone();
    // Capacities are hints; capped so an absurd n_steps fails later, not in the allocator.
    let n_kept = opts.n_steps.div_ceil(opts.thin).min(1 << 20) as usize;
    let mut kept_steps = Vec::with_capacity(n_kept);
    let mut trajectory = Vec::with_capacity(if opts.keep_trajectory { n_kept } else { 0 });
    let mut mean_energy = Vec::with_capacity(n_kept);
    let mut acceptance = Vec::with_capacity(opts.n_steps.min(1 << 20) as usize);
    let mut extra = ExtraMeans::default();
    for step in 0..opts.n_steps {
        let info = sampler.step(
            energy,
            chains,
            &mut StepCtx {
                rng,
                step,
                n_steps: opts.n_steps,
            },
        )?;
        acceptance.push(info.acceptance_rate);
        extra.add(info.extra);
        if !is_kept(step, opts.n_steps, opts.thin) {
            continue;
        }
        let e = match &chains.energy {
            Some(e) => Some(e.clone()),
            None if energy.has_energy_values() => Some(energy.energy(chains.x())?),
            // A gradient-field network has no energies to average.
            None => None,
        };
        mean_energy.push(match e {
            Some(e) => e.to_dtype(DType::F64)?.mean_all()?.to_scalar::<f64>()?,
            None => f64::NAN,
        });
        kept_steps.push(step + 1);
        if opts.keep_trajectory {
            trajectory.push(chains.x().clone());
        }
    }
    Ok(SampleOutput {
        start,
        final_x: chains.x().clone(),
        kept_steps,
        trajectory,
        acceptance,
        mean_energy,
        extra: extra.means(),
        burn_in: opts.burn_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_states_are_aligned_to_the_end() {
        let kept = |n, thin| {
            (0..n)
                .filter(|&s| is_kept(s, n, thin))
                .map(|s| s + 1)
                .collect::<Vec<u64>>()
        };
        assert_eq!(kept(10, 3), vec![1, 4, 7, 10]);
        assert_eq!(kept(10, 1).len(), 10);
        assert_eq!(kept(7, 7), vec![7]);
        assert_eq!(kept(5, 9), vec![5]);
    }
}
