//! Step-size adaptation by Nesterov dual averaging (Hoffman & Gelman 2014, as in Stan and
//! BlackJAX). [`DualAveraging`] is the init / update / final trio over its own state;
//! [`StepSizeAdapter`] runs it for the first `warmup` transitions of a sampler and then freezes the
//! step at exp(x̄). It touches a kernel only through its public parts: it passes in a step size
//! and reads the acceptance rate from the returned `StepInfo`, so MALA and HMC share it.

use ebm_core::{Error, Result, StepInfo};
use serde::{Deserialize, Serialize};

/// `adapt = { warmup = 500, target_accept = 0.574 }` in a sampler's section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptParams {
    /// Number of transitions (of this sampler instance) during which the step adapts.
    pub warmup: u64,
    /// Mean acceptance to aim for; absent = the sampler's literature value.
    pub target_accept: Option<f64>,
}

impl Default for AdaptParams {
    /// 500 warm-up transitions towards the sampler's literature target.
    fn default() -> Self {
        AdaptParams {
            warmup: 500,
            target_accept: None,
        }
    }
}

impl AdaptParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        if self.warmup == 0 {
            return Err(Error::config(
                format!("{section}.adapt.warmup"),
                "must be >= 1 (leave out `adapt` for a fixed step)",
            ));
        }
        if let Some(t) = self.target_accept {
            if !(t > 0.0 && t < 1.0) {
                return Err(Error::config(
                    format!("{section}.adapt.target_accept"),
                    format!("must be in (0, 1), got {t}"),
                ));
            }
        }
        Ok(())
    }
}

/// The dual-averaging constants; `Default` has Stan's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DualAveraging {
    pub gamma: f64,
    pub t0: f64,
    pub kappa: f64,
}

impl Default for DualAveraging {
    fn default() -> Self {
        DualAveraging {
            gamma: 0.05,
            t0: 10.0,
            kappa: 0.75,
        }
    }
}

/// Dual-averaging state: x = log step, x̄ its weighted average, H̄ the averaged error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DualAveragingState {
    pub log_step: f64,
    pub log_step_avg: f64,
    pub avg_error: f64,
    /// μ = log(10·ε₀): the point the iterates shrink towards.
    pub mu: f64,
    /// Iteration count, from 1.
    pub t: u64,
}

impl DualAveraging {
    pub fn init(&self, step_size: f64) -> DualAveragingState {
        DualAveragingState {
            log_step: step_size.ln(),
            log_step_avg: 0.0,
            avg_error: 0.0,
            mu: (10.0 * step_size).ln(),
            t: 1,
        }
    }

    /// One update from an observed acceptance rate.
    pub fn update(&self, s: &mut DualAveragingState, acceptance: f64, target: f64) {
        let t = s.t as f64;
        let w = 1.0 / (t + self.t0);
        s.avg_error = (1.0 - w) * s.avg_error + w * (target - acceptance);
        s.log_step = s.mu - t.sqrt() / self.gamma * s.avg_error;
        let w_avg = t.powf(-self.kappa);
        s.log_step_avg = w_avg * s.log_step + (1.0 - w_avg) * s.log_step_avg;
        s.t += 1;
    }

    /// The step size to keep after warm-up: exp(x̄).
    pub fn final_step(&self, s: &DualAveragingState) -> f64 {
        s.log_step_avg.exp()
    }
}

/// Warm-up driver: adapts during the first `warmup` transitions it runs, then freezes.
#[derive(Clone, Debug)]
pub struct StepSizeAdapter {
    da: DualAveraging,
    state: DualAveragingState,
    warmup: u64,
    target: f64,
    done: u64,
}

impl StepSizeAdapter {
    pub fn new(params: &AdaptParams, default_target: f64, initial_step: f64) -> Self {
        let da = DualAveraging::default();
        StepSizeAdapter {
            state: da.init(initial_step),
            da,
            warmup: params.warmup,
            target: params.target_accept.unwrap_or(default_target),
            done: 0,
        }
    }

    /// The step the next transition uses.
    pub fn step_size(&self) -> f64 {
        if self.is_frozen() {
            self.da.final_step(&self.state)
        } else {
            self.state.log_step.exp()
        }
    }

    pub fn is_frozen(&self) -> bool {
        self.done >= self.warmup
    }

    /// Runs one transition `kernel(step_size)` and, during warm-up, learns from its acceptance
    /// (the batch mean: with many chains it is a low-noise estimate of the expected acceptance).
    pub fn run(&mut self, kernel: impl FnOnce(f64) -> Result<StepInfo>) -> Result<StepInfo> {
        let info = kernel(self.step_size())?;
        if !self.is_frozen() {
            let acc = info.acceptance_rate.ok_or_else(|| {
                Error::plugin(
                    "step-size adaptation",
                    "needs a kernel that reports an acceptance rate",
                )
            })?;
            self.da.update(&mut self.state, acc, self.target);
            self.done += 1;
        }
        Ok(info)
    }
}
