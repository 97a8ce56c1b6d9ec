//! `Interpolant`: a path x_t = α(t)·x₁ + σ(t)·x₀ between noise x₀ and data x₁, with the velocity
//! target α'(t)·x₁ + σ'(t)·x₀. Used by flow and equilibrium matching; `t` is per sample, `[B]`.

use crate::Result;
use candle_core::Tensor;

pub trait Interpolant: Send + Sync {
    fn name(&self) -> &'static str;
    fn alpha(&self, t: &Tensor) -> Result<Tensor>;
    fn sigma(&self, t: &Tensor) -> Result<Tensor>;
    fn d_alpha(&self, t: &Tensor) -> Result<Tensor>;
    fn d_sigma(&self, t: &Tensor) -> Result<Tensor>;

    /// (x_t, velocity target) for noise `x0`, data `x1` `[B, ...]` and times `t` `[B]`.
    fn interpolate(&self, x0: &Tensor, x1: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
        // Reshape [B] coefficients to [B, 1, ...] so they broadcast over each sample.
        let mut shape = vec![1usize; x0.rank()];
        shape[0] = t.dims1()?;
        let col = |c: Tensor| c.reshape(shape.as_slice());
        let (a, s) = (col(self.alpha(t)?)?, col(self.sigma(t)?)?);
        let (da, ds) = (col(self.d_alpha(t)?)?, col(self.d_sigma(t)?)?);
        let xt = (x1.broadcast_mul(&a)? + x0.broadcast_mul(&s)?)?;
        let target = (x1.broadcast_mul(&da)? + x0.broadcast_mul(&ds)?)?;
        Ok((xt, target))
    }
}
