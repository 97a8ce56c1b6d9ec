//! The flow sampler: generates by integrating a learned velocity field from noise (t = 0) to
//! data (t = 1) with any registered integrator, the run's steps spreading t evenly over [0, 1]
//! (`ebm-launch sample --steps 100` takes 100 steps of 0.01).
//!
//! The velocity is v(x, t) = −g(x, t), the model's gradient field (−∇ₓE(x, t) of a
//! time-conditioned energy, the output of a field network; flow matching trains it so).
//! - `mode = "ode"`: dx/dt = v. dopri5 integrates each interval adaptively to its tolerance.
//! - `mode = "sde"`: dx = [v + D(t)·s(x, t)] dt + √(2D(t)) dW with D(t) = `diffusion`·σ(t), the
//!   score s recovered from v through the interpolant (x = αx₁ + σx₀ and v = α'x₁ + σ'x₀ give
//!   x₀ = (αv − α'x)/(ασ' − α'σ) and s = −x₀/σ, so D·s = −`diffusion`·x₀ stays finite as σ → 0).
//!   Same marginals as the ODE; the noise corrects integration error. Euler–Maruyama is the
//!   integrator that treats the noise exactly.
//!
//! A time-invariant field (equilibrium matching) also works: the ODE is then its gradient flow.

use candle_core::Tensor;
use ebm_core::{
    build_integrator, build_interpolant, rng, Chains, Energy, Error, Integrator, Interpolant,
    PluginArgs, PluginSpec, Result, Sampler, StepCtx, StepInfo,
};
use serde::{Deserialize, Serialize};

/// ODE or SDE generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowMode {
    #[default]
    Ode,
    Sde,
}

/// `[sampler] kind = "flow"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowParams {
    /// Any registered integrator but leapfrog (which integrates Hamiltonian dynamics).
    pub integrator: PluginSpec,
    pub mode: FlowMode,
    /// The SDE's diffusion multiplier (`mode = "sde"`).
    pub diffusion: f64,
    /// The path the velocity was trained on (the SDE needs it to turn velocity into score).
    pub interpolant: PluginSpec,
}

impl Default for FlowParams {
    /// Heun's ODE on the linear path; diffusion 1 when `mode = "sde"`.
    fn default() -> Self {
        FlowParams {
            integrator: PluginSpec::new("heun"),
            mode: FlowMode::default(),
            diffusion: 1.0,
            interpolant: PluginSpec::new("linear"),
        }
    }
}

pub struct Flow {
    params: FlowParams,
    integrator: Box<dyn Integrator>,
    interpolant: Box<dyn Interpolant>,
}

impl Flow {
    pub fn new(params: FlowParams) -> Result<Self> {
        Self::build("sampler", params)
    }

    fn build(section: &str, params: FlowParams) -> Result<Self> {
        let key = |k: &str| format!("{section}.{k}");
        if params.integrator.kind == "leapfrog" {
            return Err(Error::config(
                key("integrator.kind"),
                "leapfrog integrates Hamiltonian dynamics on [q | p], not a flow: use \
                 euler_maruyama, heun, rk4 or dopri5",
            ));
        }
        if !(params.diffusion >= 0.0 && params.diffusion.is_finite()) {
            return Err(Error::config(
                key("diffusion"),
                format!("must be finite and >= 0, got {}", params.diffusion),
            ));
        }
        let integrator = build_integrator(&key("integrator"), &params.integrator)?;
        let interpolant = build_interpolant(&key("interpolant"), &params.interpolant)?;
        Ok(Flow {
            params,
            integrator,
            interpolant,
        })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        Ok(Box::new(Self::build(args.section, args.parse_resolved()?)?))
    }

    /// dx/dt at (x, t): the velocity, plus D(t)·s(x, t) for the SDE.
    fn drift(&self, energy: &dyn Energy, x: &Tensor, t: f64) -> Result<Tensor> {
        let times = Tensor::full(t as f32, x.dims()[0], x.device())?.to_dtype(x.dtype())?;
        let v = energy.grad_at(x, &times)?.neg()?;
        if self.params.mode == FlowMode::Ode || self.params.diffusion == 0.0 {
            return Ok(v);
        }
        let coef = |f: &dyn Fn(&Tensor) -> Result<Tensor>| -> Result<f64> {
            Ok(f(&Tensor::new(&[t], x.device())?)?.to_vec1::<f64>()?[0])
        };
        let i = self.interpolant.as_ref();
        let (a, s) = (coef(&|t| i.alpha(t))?, coef(&|t| i.sigma(t))?);
        let (da, ds) = (coef(&|t| i.d_alpha(t))?, coef(&|t| i.d_sigma(t))?);
        let det = a * ds - da * s;
        if det.abs() < 1e-12 {
            return Err(Error::plugin(
                "flow sampler",
                format!(
                    "the {} interpolant is degenerate at t = {t} (α·σ' − α'·σ = 0)",
                    i.name()
                ),
            ));
        }
        // x₀ = (αv − α'x)/(ασ' − α'σ); D·s = −diffusion·x₀.
        let x0 = ((&v * a)? - (x * da)?)?.affine(1.0 / det, 0.0)?;
        Ok((v - (x0 * self.params.diffusion)?)?)
    }
}

ebm_core::register_sampler!("flow", Flow::from_args);

impl Sampler for Flow {
    fn name(&self) -> &'static str {
        "flow"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        if ctx.step >= ctx.n_steps {
            return Err(Error::plugin(
                "flow sampler",
                format!(
                    "step {} of a {}-step run is past t = 1",
                    ctx.step, ctx.n_steps
                ),
            ));
        }
        let n = ctx.n_steps as f64;
        let (t0, t1) = (ctx.step as f64 / n, (ctx.step + 1) as f64 / n);
        let drift = |x: &Tensor, t: f64| self.drift(energy, x, t);
        let x = chains.x();
        let next = match self.params.mode {
            FlowMode::Ode => self.integrator.advance(&drift, x, t0, t1)?,
            FlowMode::Sde => {
                // √(2D(t₀)·dt)·ε with D = diffusion·σ(t₀), drawn from the chains' stream.
                let sigma = self
                    .interpolant
                    .sigma(&Tensor::new(&[t0], x.device())?)?
                    .to_vec1::<f64>()?[0];
                let g = (2.0 * self.params.diffusion * sigma.max(0.0) * (t1 - t0)).sqrt();
                let eps = rng::randn(ctx.rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
                let noise = (eps * g)?;
                self.integrator.step(&drift, x, t0, t1 - t0, Some(&noise))?
            }
        };
        chains.set_x(next);
        Ok(StepInfo::default())
    }
}
