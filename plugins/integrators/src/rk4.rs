//! The classical fourth-order Runge–Kutta method, four drift evaluations per step. Meant for
//! ODEs (e.g. probability-flow sampling); with noise it follows the straight-line Brownian rule of
//! [`crate::butcher`] and is then no more accurate than Euler–Maruyama.

use crate::butcher::{rk_step, RK4};
use crate::no_params;
use candle_core::Tensor;
use ebm_core::{Drift, Integrator, PluginArgs, Result};

#[derive(Clone, Copy, Debug, Default)]
pub struct Rk4;

impl Rk4 {
    fn from_args(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
        no_params(args)?;
        Ok(Box::new(Rk4))
    }
}

ebm_core::register_integrator!("rk4", Rk4::from_args);

impl Integrator for Rk4 {
    fn name(&self) -> &'static str {
        "rk4"
    }

    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        Ok(rk_step(&RK4, drift, x, t, dt, noise, None)?.x)
    }
}
