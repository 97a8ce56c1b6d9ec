//! Unadjusted Langevin dynamics (TorchEBM's convention):
//! x ← x − η·∇E(x) + √(2η)·s·ε, ε ~ N(0, I), optionally clamped to [lo, hi].
//! With noise scale s = 1 this samples exp(−E) up to the O(η) discretisation bias; IGEBM-style
//! image training uses a large η with a small s. η and s may be schedules over the chain step.

use crate::grad_clip::ClippedGrad;
use crate::raw_update;
use crate::validate::{validate_clamp, validate_grad_clip, validate_step};
use candle_core::Tensor;
use ebm_core::{
    rng, Chains, Energy, PluginArgs, Result, Rng, Sampler, Schedule, ScheduleConfig, StepCtx,
    StepInfo,
};
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "langevin"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LangevinParams {
    /// η, the gradient step (a number or a schedule).
    pub step_size: ScheduleConfig,
    /// s, the multiplier of the √(2η) noise; 1 is exact Langevin at temperature 1.
    pub noise_scale: ScheduleConfig,
    /// Optional `[lo, hi]` box the chains are clamped to after each step (e.g. the image range).
    pub clamp: Option<[f64; 2]>,
    /// Optional largest L2 norm of one chain's ∇E per step (IGEBM's `proj_norm`); larger
    /// gradients are rescaled to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_clip: Option<f64>,
}

impl Default for LangevinParams {
    /// η = 0.01, s = 1 (TorchEBM's defaults), no clamp, no gradient clip.
    fn default() -> Self {
        LangevinParams {
            step_size: ScheduleConfig::Constant(0.01),
            noise_scale: ScheduleConfig::Constant(1.0),
            clamp: None,
            grad_clip: None,
        }
    }
}

impl LangevinParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        validate_step(&self.step_size, None, section)?;
        self.noise_scale
            .validate_non_negative(&format!("{section}.noise_scale"))?;
        validate_clamp(self.clamp, section)?;
        validate_grad_clip(self.grad_clip, section)
    }

    /// One step with these parameters taken at chain step `step` (η, s), the gradient clipped
    /// per chain if asked.
    pub(crate) fn step_at(
        &self,
        energy: &dyn Energy,
        chains: &mut Chains,
        rng: &mut Rng,
        step: u64,
    ) -> Result<StepInfo> {
        let (eta, scale) = (self.step_size.value(step), self.noise_scale.value(step));
        match self.grad_clip {
            Some(max_norm) => {
                let clipped = ClippedGrad { energy, max_norm };
                Langevin::kernel(&clipped, chains, rng, eta, scale, self.clamp)
            }
            None => Langevin::kernel(energy, chains, rng, eta, scale, self.clamp),
        }
    }
}

pub struct Langevin {
    params: LangevinParams,
}

impl Langevin {
    pub fn new(params: LangevinParams) -> Result<Self> {
        params.validate("sampler")?;
        Ok(Langevin { params })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        let params: LangevinParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(Langevin { params }))
    }
}

ebm_core::register_sampler!("langevin", Langevin::from_args);

impl Sampler for Langevin {
    fn name(&self) -> &'static str {
        "langevin"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        self.params.step_at(energy, chains, ctx.rng, ctx.step)
    }

    fn drift_step(&self, step: u64, _n_steps: u64) -> Option<f64> {
        Some(self.params.step_size.value(step))
    }
}

impl Langevin {
    /// The Langevin kernel with explicit parameters: x ← clamp(x − η·∇E(x) + √(2η)·s·ε).
    /// CPU f32 contiguous chains take the one-loop fast path (`raw_update`), the rest the op
    /// path; both give the same chains bit for bit and draw the same noise. The noise is skipped
    /// when s = 0, so noiseless descent draws no randomness. Every Langevin-type sampler that
    /// makes this move (gradient descent, annealed Langevin) calls it.
    pub fn kernel(
        energy: &dyn Energy,
        chains: &mut Chains,
        rng: &mut Rng,
        eta: f64,
        scale: f64,
        clamp: Option<[f64; 2]>,
    ) -> Result<StepInfo> {
        let x = chains.x();
        let g = energy.grad(x)?;
        let next = match raw_update::langevin_move(x, &g, eta, scale, clamp, rng)? {
            Some(next) => next,
            None => noise_and_clamp((x - (g * eta)?)?, eta, scale, clamp, rng)?,
        };
        chains.set_x(next);
        Ok(StepInfo::default())
    }
}

/// The tail every Langevin-type move shares: add √(2η)·s·ε (skipped when s = 0, so noiseless
/// descent draws no randomness), then clamp to `[lo, hi]` if asked.
pub(crate) fn noise_and_clamp(
    mut next: Tensor,
    eta: f64,
    scale: f64,
    clamp: Option<[f64; 2]>,
    rng: &mut Rng,
) -> Result<Tensor> {
    if scale > 0.0 {
        let noise = rng::randn(rng, next.dims(), next.device())?.to_dtype(next.dtype())?;
        next = (next + (noise * ((2.0 * eta).sqrt() * scale))?)?;
    }
    if let Some([lo, hi]) = clamp {
        next = next.clamp(lo, hi)?;
    }
    Ok(next)
}
