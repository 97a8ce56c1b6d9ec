//! `Integrator`: one step of an ODE dx = f(x, t) dt, or of an SDE with additive noise
//! dx = f(x, t) dt + g dW. Integrators are defined once and injected into the samplers and flow
//! samplers that need them.

use crate::Result;
use candle_core::Tensor;

/// A drift field f(x, t).
pub type Drift<'a> = dyn Fn(&Tensor, f64) -> Result<Tensor> + 'a;

pub trait Integrator: Send + Sync {
    fn name(&self) -> &'static str;

    /// Advances `x` from `t` to `t + dt`. `noise`, if given, is the diffusion increment g·ΔW for
    /// this step (drawn by the caller from the seeded stream).
    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor>;

    /// Advances the ODE `x` from `t0` to `t1` as well as this integrator can: one `step` for
    /// fixed-step methods, adaptive sub-steps for those with error control (dopri5).
    fn advance(&self, drift: &Drift, x: &Tensor, t0: f64, t1: f64) -> Result<Tensor> {
        self.step(drift, x, t0, t1 - t0, None)
    }
}
