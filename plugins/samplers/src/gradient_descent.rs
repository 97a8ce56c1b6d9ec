//! Gradient descent on the energy: x ← x − η·∇E(x) + √(2η)·s·ε, optionally clamped to [lo, hi].
//! It is the Langevin kernel with the noise switched off by default (s = 0), so it runs the same
//! code path: with s = 0 it finds modes (energy minimisation), with a small s it is a noisy
//! descent, and s = 1 would be plain Langevin again.

use crate::{Langevin, LangevinParams};
use ebm_core::{Chains, Energy, PluginArgs, Result, Sampler, ScheduleConfig, StepCtx, StepInfo};
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "gradient_descent"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradientDescentParams {
    /// η, the gradient step (a number or a schedule).
    pub step_size: ScheduleConfig,
    /// s, the multiplier of the √(2η) noise; 0 (the default) is pure descent.
    pub noise_scale: ScheduleConfig,
    /// Optional `[lo, hi]` box the chains are clamped to after each step.
    pub clamp: Option<[f64; 2]>,
}

impl Default for GradientDescentParams {
    /// η = 0.01, no noise, no clamp.
    fn default() -> Self {
        GradientDescentParams {
            step_size: ScheduleConfig::Constant(0.01),
            noise_scale: ScheduleConfig::Constant(0.0),
            clamp: None,
        }
    }
}

impl GradientDescentParams {
    /// The same update expressed as Langevin parameters.
    fn as_langevin(&self) -> LangevinParams {
        LangevinParams {
            step_size: self.step_size.clone(),
            noise_scale: self.noise_scale.clone(),
            clamp: self.clamp,
            grad_clip: None,
        }
    }

    pub fn validate(&self, section: &str) -> Result<()> {
        self.as_langevin().validate(section)
    }
}

/// Gradient descent, delegating each step to the Langevin kernel.
pub struct GradientDescent {
    inner: Langevin,
}

impl GradientDescent {
    pub fn new(params: GradientDescentParams) -> Result<Self> {
        params.validate("sampler")?;
        Ok(GradientDescent {
            inner: Langevin::new(params.as_langevin())?,
        })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        let params: GradientDescentParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(GradientDescent {
            inner: Langevin::new(params.as_langevin())?,
        }))
    }
}

ebm_core::register_sampler!("gradient_descent", GradientDescent::from_args);

impl Sampler for GradientDescent {
    fn name(&self) -> &'static str {
        "gradient_descent"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        self.inner.step(energy, chains, ctx)
    }

    fn drift_step(&self, step: u64, n_steps: u64) -> Option<f64> {
        self.inner.drift_step(step, n_steps)
    }
}
