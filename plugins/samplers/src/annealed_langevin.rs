//! Annealed Langevin dynamics: Langevin at a scheduled temperature T(step),
//! x ← x − η·∇E(x) + √(2η·T)·ε, which samples exp(−E/T) (up to the O(η) bias of the unadjusted
//! scheme). Annealing from a hot T down to 1 lets chains cross barriers early and settle late,
//! e.g. `temperature = { kind = "linear", start = 5.0, end = 1.0, steps = 200 }`. The default
//! temperature is a constant 1, which is plain Langevin; T = 0 is gradient descent.
//!
//! Each step is [`Langevin::kernel`] with noise scale √T, so the update (and its CPU fast path)
//! is written once.

use crate::LangevinParams;
use ebm_core::{
    Chains, Energy, PluginArgs, Result, Sampler, Schedule, ScheduleConfig, StepCtx, StepInfo,
};
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "annealed_langevin"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnnealedLangevinParams {
    /// η, the gradient step (a number or a schedule).
    pub step_size: ScheduleConfig,
    /// T, the temperature (a number or a schedule over the chain step); ≥ 0, default 1.
    pub temperature: ScheduleConfig,
    /// Optional `[lo, hi]` box the chains are clamped to after each step.
    pub clamp: Option<[f64; 2]>,
    /// Optional largest L2 norm of one chain's ∇E per step, as `langevin`'s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_clip: Option<f64>,
}

impl Default for AnnealedLangevinParams {
    /// η = 0.01 and a constant T = 1 (plain Langevin until a schedule is given), no clamp.
    fn default() -> Self {
        AnnealedLangevinParams {
            step_size: ScheduleConfig::Constant(0.01),
            temperature: ScheduleConfig::Constant(1.0),
            clamp: None,
            grad_clip: None,
        }
    }
}

impl AnnealedLangevinParams {
    /// The Langevin kernel of one step: η and s = √T taken at `step`.
    fn langevin_at(&self, step: u64) -> LangevinParams {
        LangevinParams {
            step_size: self.step_size.value(step).into(),
            noise_scale: self.temperature.value(step).max(0.0).sqrt().into(),
            clamp: self.clamp,
            grad_clip: self.grad_clip,
        }
    }

    pub fn validate(&self, section: &str) -> Result<()> {
        // T = 0 is not sampling exp(−E/T) at all (a division by zero): temperatures are > 0.
        self.temperature
            .validate_positive(&format!("{section}.temperature"))?;
        LangevinParams {
            step_size: self.step_size.clone(),
            ..self.langevin_at(0)
        }
        .validate(section)
    }
}

pub struct AnnealedLangevin {
    params: AnnealedLangevinParams,
}

impl AnnealedLangevin {
    pub fn new(params: AnnealedLangevinParams) -> Result<Self> {
        params.validate("sampler")?;
        Ok(AnnealedLangevin { params })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        let params: AnnealedLangevinParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(AnnealedLangevin { params }))
    }
}

ebm_core::register_sampler!("annealed_langevin", AnnealedLangevin::from_args);

impl Sampler for AnnealedLangevin {
    fn name(&self) -> &'static str {
        "annealed_langevin"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        // x ← x − η∇E + √(2ηT)·ε: the Langevin step with noise scale √T (constants at this step).
        self.params
            .langevin_at(ctx.step)
            .step_at(energy, chains, ctx.rng, ctx.step)
    }

    fn drift_step(&self, step: u64, _n_steps: u64) -> Option<f64> {
        Some(self.params.step_size.value(step))
    }
}
