//! Euler (order 1) for ODEs; with a noise increment g·ΔW it is Euler–Maruyama,
//! x ← x + f(x, t)·dt + g·ΔW (strong order 1 for additive noise). One drift evaluation per step.

use crate::butcher::{rk_step, EULER};
use crate::no_params;
use candle_core::Tensor;
use ebm_core::{Drift, Integrator, PluginArgs, Result};

#[derive(Clone, Copy, Debug, Default)]
pub struct EulerMaruyama;

impl EulerMaruyama {
    fn from_args(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
        no_params(args)?;
        Ok(Box::new(EulerMaruyama))
    }
}

ebm_core::register_integrator!("euler_maruyama", EulerMaruyama::from_args);

impl Integrator for EulerMaruyama {
    fn name(&self) -> &'static str {
        "euler_maruyama"
    }

    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        Ok(rk_step(&EULER, drift, x, t, dt, noise, None)?.x)
    }
}
