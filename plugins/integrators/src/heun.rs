//! Heun's method (explicit trapezoid, order 2 for ODEs), two drift evaluations per step. With
//! noise, the one increment g·ΔW is applied once per step and shared by predictor and corrector
//! (x̃ = x + f·dt + g·ΔW; x ← x + ½(f(x) + f(x̃))·dt + g·ΔW), the additive-noise stochastic Heun
//! scheme; its SDE accuracy is that of Euler–Maruyama (strong order 1), not 2.

use crate::butcher::{rk_step, HEUN};
use crate::no_params;
use candle_core::Tensor;
use ebm_core::{Drift, Integrator, PluginArgs, Result};

#[derive(Clone, Copy, Debug, Default)]
pub struct Heun;

impl Heun {
    fn from_args(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
        no_params(args)?;
        Ok(Box::new(Heun))
    }
}

ebm_core::register_integrator!("heun", Heun::from_args);

impl Integrator for Heun {
    fn name(&self) -> &'static str {
        "heun"
    }

    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        Ok(rk_step(&HEUN, drift, x, t, dt, noise, None)?.x)
    }
}
