//! Per-chain clipping of ∇ₓE before a Langevin-type move (`grad_clip` of `langevin` and
//! `annealed_langevin`): each chain's gradient is rescaled to L2 norm at most c,
//! ∇ᵢ ← ∇ᵢ·min(1, c/‖∇ᵢ‖). IGEBM's `proj_norm`: with the large step sizes of image EBMs, one
//! steep region (early in training, or far from the data) would otherwise throw a chain across
//! the clamp box in one step.
//!
//! It is an [`Energy`] wrapper, so the Langevin kernel and its CPU fast path are unchanged.

use candle_core::{Tensor, D};
use ebm_core::{Energy, Result};

/// `energy` with each chain's gradient clipped to norm `max_norm`.
pub(crate) struct ClippedGrad<'a> {
    pub energy: &'a dyn Energy,
    pub max_norm: f64,
}

impl Energy for ClippedGrad<'_> {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        self.energy.energy(x)
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        clip_rows(&self.energy.grad(x)?, self.max_norm)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (e, g) = self.energy.energy_and_grad(x)?;
        Ok((e, clip_rows(&g, self.max_norm)?))
    }

    fn has_energy_values(&self) -> bool {
        self.energy.has_energy_values()
    }
}

/// Rows of `g` (`[B, ...]`) rescaled to L2 norm at most `max_norm`.
pub(crate) fn clip_rows(g: &Tensor, max_norm: f64) -> Result<Tensor> {
    let norms = g.sqr()?.flatten_from(1)?.sum(D::Minus1)?.sqrt()?;
    // min(1, c/‖g‖); a zero row keeps factor 1 (c/0 = ∞).
    let factor = (norms.recip()? * max_norm)?.clamp(0.0, 1.0)?;
    let mut shape = vec![g.dims()[0]];
    shape.resize(g.rank(), 1);
    Ok(g.broadcast_mul(&factor.reshape(shape)?)?)
}
