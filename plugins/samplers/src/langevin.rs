//! Unadjusted Langevin dynamics (TorchEBM's convention):
//! x ← x − η·∇E(x) + √(2η)·s·ε, ε ~ N(0, I), optionally clamped to [lo, hi].
//! With noise scale s = 1 this samples exp(−E) up to the O(η) discretisation bias; IGEBM-style
//! image training uses a large η with a small s. η and s may be schedules over the chain step.

use crate::raw_update;
use candle_core::Tensor;
use ebm_core::{
    rng, Chains, Energy, Error, PluginArgs, Result, Rng, Sampler, Schedule, ScheduleConfig,
    StepCtx, StepInfo,
};
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "langevin"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangevinParams {
    /// η, the gradient step (a number or a schedule).
    #[serde(default = "default_step_size")]
    pub step_size: ScheduleConfig,
    /// s, the multiplier of the √(2η) noise; 1 is exact Langevin at temperature 1.
    #[serde(default = "default_noise_scale")]
    pub noise_scale: ScheduleConfig,
    /// Optional `[lo, hi]` box the chains are clamped to after each step (e.g. the image range).
    #[serde(default)]
    pub clamp: Option<[f64; 2]>,
}

fn default_step_size() -> ScheduleConfig {
    ScheduleConfig::Constant(0.01)
}

fn default_noise_scale() -> ScheduleConfig {
    ScheduleConfig::Constant(1.0)
}

impl Default for LangevinParams {
    fn default() -> Self {
        LangevinParams {
            step_size: default_step_size(),
            noise_scale: default_noise_scale(),
            clamp: None,
        }
    }
}

impl LangevinParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        self.step_size
            .validate_positive(&format!("{section}.step_size"))?;
        self.noise_scale
            .validate_non_negative(&format!("{section}.noise_scale"))?;
        if let Some([lo, hi]) = self.clamp {
            if !(lo < hi) {
                return Err(Error::config(
                    format!("{section}.clamp"),
                    format!("need lo < hi, got [{lo}, {hi}]"),
                ));
            }
        }
        Ok(())
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
        let params: LangevinParams = args.parse()?;
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
        let eta = self.params.step_size.value(ctx.step);
        let scale = self.params.noise_scale.value(ctx.step);
        let x = chains.x();
        let g = energy.grad(x)?;
        let clamp = self.params.clamp;
        let next = match raw_update::langevin_move(x, &g, eta, scale, clamp, ctx.rng)? {
            Some(next) => next,
            None => noise_and_clamp((x - (g * eta)?)?, eta, scale, clamp, ctx.rng)?,
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
