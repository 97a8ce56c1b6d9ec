//! Metropolis-adjusted Langevin (MALA): the Langevin proposal y = x − η∇E(x) + √(2η)·ε, accepted
//! per chain with probability min(1, exp(−E(y) + E(x) + log q(x|y) − log q(y|x))). The correction
//! removes unadjusted Langevin's O(η) bias. E and ∇E of the current state live in the chains'
//! cache, so each transition evaluates the energy once (at the proposal).

use crate::adaptation::{AdaptParams, StepSizeAdapter};
use crate::metropolis::{cached_energy_and_grad, metropolis, row_sum_sq, select};
use crate::validate::validate_step;
use candle_core::{DType, Tensor};
use ebm_core::{
    rng, Chains, Energy, PluginArgs, Result, Sampler, Schedule, ScheduleConfig, StepCtx, StepInfo,
};
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "mala"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MalaParams {
    /// η (a number or a schedule; with `adapt`, a number: the initial step).
    pub step_size: ScheduleConfig,
    /// Dual-averaging step-size adaptation; absent = fixed step.
    pub adapt: Option<AdaptParams>,
}

/// Roberts & Rosenthal (1998): the optimal MALA acceptance in high dimension.
pub const MALA_TARGET_ACCEPT: f64 = 0.574;

impl Default for MalaParams {
    fn default() -> Self {
        MalaParams {
            step_size: ScheduleConfig::Constant(0.01),
            adapt: None,
        }
    }
}

impl MalaParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        validate_step(&self.step_size, self.adapt.as_ref(), section)
    }
}

pub struct Mala {
    params: MalaParams,
    adapter: Option<StepSizeAdapter>,
}

impl Mala {
    pub fn new(params: MalaParams) -> Result<Self> {
        Self::build(params, "sampler")
    }

    fn build(params: MalaParams, section: &str) -> Result<Self> {
        params.validate(section)?;
        let adapter = params
            .adapt
            .as_ref()
            .map(|a| StepSizeAdapter::new(a, MALA_TARGET_ACCEPT, params.step_size.value(0)));
        Ok(Mala { params, adapter })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        Ok(Box::new(Self::build(args.parse_resolved()?, args.section)?))
    }

    /// The adapted step once warm-up is over (None without adaptation or during warm-up).
    pub fn adapted_step_size(&self) -> Option<f64> {
        self.adapter
            .as_ref()
            .filter(|a| a.is_frozen())
            .map(StepSizeAdapter::step_size)
    }

    /// The MALA kernel with an explicit step size (what adaptation drives).
    pub fn kernel(
        energy: &dyn Energy,
        chains: &mut Chains,
        rng: &mut ebm_core::Rng,
        eta: f64,
    ) -> Result<StepInfo> {
        let x = chains.x().clone();
        let (e, g) = cached_energy_and_grad(energy, chains)?;
        let noise = rng::randn(rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
        let y = ((&x - (&g * eta)?)? + (&noise * (2.0 * eta).sqrt())?)?;
        let (ey, gy) = energy.energy_and_grad(&y)?;
        // log q(y|x) = −‖y − x + η∇E(x)‖²/(4η) = −½‖ε‖²; the reverse move needs ∇E(y).
        let fwd = (row_sum_sq(&noise)? * -0.5)?;
        let back = (row_sum_sq(&((&x - &y)? + (&gy * eta)?)?)? * (-0.25 / eta))?;
        let log_alpha = ((((&e - &ey)? + back)? - fwd)?).to_dtype(DType::F64)?;
        let (mask, rate) = metropolis(rng, &log_alpha.to_vec1::<f64>()?);
        let keep = |on: &Tensor, off: &Tensor| select(&mask, on, off);
        chains.set_x_cached(keep(&y, &x)?, Some(keep(&ey, &e)?), Some(keep(&gy, &g)?));
        Ok(StepInfo::with_acceptance(rate))
    }
}

ebm_core::register_sampler!("mala", Mala::from_args);

impl Sampler for Mala {
    fn name(&self) -> &'static str {
        "mala"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let rng = &mut *ctx.rng;
        match self.adapter.as_mut() {
            Some(a) => a.run(|eta| Self::kernel(energy, chains, rng, eta)),
            None => Self::kernel(energy, chains, rng, self.params.step_size.value(ctx.step)),
        }
    }
}
