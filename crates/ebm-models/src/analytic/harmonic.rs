//! Harmonic potential E(x) = ½·k·‖x‖², ∇E = k·x.

use candle_core::Tensor;
use ebm_core::{Energy, Error, Result};

#[derive(Clone, Debug)]
pub struct Harmonic {
    k: f64,
}

impl Harmonic {
    pub fn new(k: f64) -> Result<Self> {
        if !(k > 0.0 && k.is_finite()) {
            return Err(Error::config(
                "k",
                format!("spring constant must be > 0, got {k}"),
            ));
        }
        Ok(Harmonic { k })
    }
}

impl Energy for Harmonic {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        Ok((x.sqr()?.sum(1)? * (0.5 * self.k))?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.energy(x)?, (x * self.k)?))
    }
}
