//! Hamiltonian Monte Carlo: momentum p ~ N(0, M) with a diagonal mass M, `n_leapfrog` leapfrog
//! steps of H(x, p) = E(x) + ½pᵀM⁻¹p (the shared `ebm_integrators::leapfrog`), then a per-chain
//! Metropolis correction on ΔH. The chains cache E and ∇E at their positions, so a transition
//! costs exactly `n_leapfrog` gradient evaluations; a rejected chain keeps its position and cache.

use crate::adaptation::{AdaptParams, StepSizeAdapter};
use crate::metropolis::{cached_energy_and_grad, metropolis, row_sum_sq, select};
use crate::validate::validate_step;
use candle_core::{DType, Tensor};
use ebm_core::{
    rng, Chains, Energy, Error, PluginArgs, Result, Sampler, Schedule, ScheduleConfig, StepCtx,
    StepInfo,
};
use ebm_integrators::leapfrog;
use serde::{Deserialize, Serialize};

/// The diagonal mass: one number for every coordinate, or one per coordinate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Mass {
    Scalar(f64),
    Diagonal(Vec<f64>),
}

/// `[sampler] kind = "hmc"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HmcParams {
    /// ε, the leapfrog step (a number or a schedule; with `adapt`, a number: the initial step).
    pub step_size: ScheduleConfig,
    /// L, leapfrog steps per transition.
    pub n_leapfrog: usize,
    /// Diagonal of M (a number or a list of D numbers).
    pub mass: Mass,
    /// Dual-averaging step-size adaptation; absent = fixed step.
    pub adapt: Option<AdaptParams>,
}

/// Stan's and BlackJAX's default target for HMC step-size adaptation.
pub const HMC_TARGET_ACCEPT: f64 = 0.8;

impl Default for HmcParams {
    fn default() -> Self {
        HmcParams {
            step_size: ScheduleConfig::Constant(0.1),
            n_leapfrog: 10,
            mass: Mass::Scalar(1.0),
            adapt: None,
        }
    }
}

impl HmcParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        validate_step(&self.step_size, self.adapt.as_ref(), section)?;
        if self.n_leapfrog == 0 {
            return Err(Error::config(
                format!("{section}.n_leapfrog"),
                "must be >= 1",
            ));
        }
        let masses = match &self.mass {
            Mass::Scalar(m) => std::slice::from_ref(m),
            Mass::Diagonal(v) => v.as_slice(),
        };
        if masses.is_empty() || masses.iter().any(|m| !(*m > 0.0 && m.is_finite())) {
            return Err(Error::config(
                format!("{section}.mass"),
                "must be a positive number or a non-empty list of positive numbers",
            ));
        }
        Ok(())
    }
}

pub struct Hmc {
    params: HmcParams,
    section: String,
    adapter: Option<StepSizeAdapter>,
}

impl Hmc {
    pub fn new(params: HmcParams) -> Result<Self> {
        Self::build(params, "sampler")
    }

    fn build(params: HmcParams, section: &str) -> Result<Self> {
        params.validate(section)?;
        let adapter = params
            .adapt
            .as_ref()
            .map(|a| StepSizeAdapter::new(a, HMC_TARGET_ACCEPT, params.step_size.value(0)));
        Ok(Hmc {
            params,
            section: section.into(),
            adapter,
        })
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

    /// The diagonal of M as `[1, ...]`, broadcasting against one chain's shape.
    fn mass_row(&self, like: &Tensor) -> Result<Tensor> {
        let dims = like.dims();
        let d: usize = dims[1..].iter().product();
        let values = match &self.params.mass {
            Mass::Scalar(m) => vec![*m; d],
            Mass::Diagonal(v) if v.len() == d => v.clone(),
            Mass::Diagonal(v) => {
                return Err(Error::config(
                    format!("{}.mass", self.section),
                    format!("has {} values but each chain has {d} coordinates", v.len()),
                ))
            }
        };
        let mut shape = dims.to_vec();
        shape[0] = 1;
        Ok(Tensor::from_vec(values, shape, like.device())?.to_dtype(like.dtype())?)
    }

    /// The HMC kernel with an explicit step size (what adaptation drives).
    pub fn kernel(
        &self,
        energy: &dyn Energy,
        chains: &mut Chains,
        rng: &mut ebm_core::Rng,
        eps: f64,
    ) -> Result<StepInfo> {
        let x = chains.x().clone();
        let mass = self.mass_row(&x)?;
        let inv_mass = mass.recip()?;
        let (e, g) = cached_energy_and_grad(energy, chains)?;
        let noise = rng::randn(rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
        let p = noise.broadcast_mul(&mass.sqrt()?)?;
        let end = leapfrog(energy, &x, &p, &g, eps, self.params.n_leapfrog, &inv_mass)?;
        let kinetic = |p: &Tensor| -> Result<Tensor> {
            Ok((row_sum_sq(&p.broadcast_mul(&inv_mass.sqrt()?)?)? * 0.5)?)
        };
        // log α = H(start) − H(end), computed in f64 so large energies keep their difference.
        let f64s = |t: Tensor| t.to_dtype(DType::F64);
        let h0 = (f64s(e.clone())? + f64s(kinetic(&p)?)?)?;
        let h1 = (f64s(end.energy.clone())? + f64s(kinetic(&end.p)?)?)?;
        let log_alpha = (h0 - h1)?.to_vec1::<f64>()?;
        let (mask, rate) = metropolis(rng, &log_alpha);
        let keep = |on: &Tensor, off: &Tensor| select(&mask, on, off);
        chains.set_x_cached(
            keep(&end.x, &x)?,
            Some(keep(&end.energy, &e)?),
            Some(keep(&end.grad, &g)?),
        );
        Ok(energy_diagnostics(
            StepInfo::with_acceptance(rate),
            &log_alpha,
        ))
    }
}

/// |ΔH| above which a trajectory counts as divergent (BlackJAX's and Stan's threshold).
pub const DIVERGENCE_THRESHOLD: f64 = 1000.0;

/// Adds HMC's diagnostics, from log α = H(start) − H(end) of each chain:
/// - `divergences`: how many chains' trajectories diverged (|ΔH| > [`DIVERGENCE_THRESHOLD`] or
///   not finite); a sign that the step is too large for the energy's curvature there;
/// - `energy_error`: the mean |ΔH| over the other chains (absent when all diverged), the
///   integration error the Metropolis test corrects.
fn energy_diagnostics(info: StepInfo, log_alpha: &[f64]) -> StepInfo {
    let ok: Vec<f64> = log_alpha
        .iter()
        .map(|la| la.abs())
        .filter(|d| *d <= DIVERGENCE_THRESHOLD)
        .collect();
    let info = info.with("divergences", (log_alpha.len() - ok.len()) as f64);
    if ok.is_empty() {
        return info;
    }
    info.with("energy_error", ok.iter().sum::<f64>() / ok.len() as f64)
}

ebm_core::register_sampler!("hmc", Hmc::from_args);

impl Sampler for Hmc {
    fn name(&self) -> &'static str {
        "hmc"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let rng = &mut *ctx.rng;
        let fixed = self.params.step_size.value(ctx.step);
        // Take the adapter out so the kernel can borrow `self` while the adapter drives it.
        match self.adapter.take() {
            Some(mut a) => {
                let info = a.run(|eps| self.kernel(energy, chains, rng, eps));
                self.adapter = Some(a);
                info
            }
            None => self.kernel(energy, chains, rng, fixed),
        }
    }
}
