//! Double well E(x) = h·Σᵢ (xᵢ² − 1)², minima at xᵢ = ±1 separated by a barrier of height h
//! (TorchEBM's `DoubleWellModel`). ∇E = 4h·x·(x² − 1).

use candle_core::Tensor;
use ebm_core::{Energy, Error, Result};

#[derive(Clone, Debug)]
pub struct DoubleWell {
    barrier: f64,
}

impl DoubleWell {
    pub fn new(barrier: f64) -> Result<Self> {
        if !(barrier > 0.0 && barrier.is_finite()) {
            return Err(Error::config(
                "barrier",
                format!("barrier height must be > 0, got {barrier}"),
            ));
        }
        Ok(DoubleWell { barrier })
    }
}

impl Energy for DoubleWell {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        Ok(((x.sqr()? - 1.0)?.sqr()?.sum(1)? * self.barrier)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let g = ((x * (x.sqr()? - 1.0)?)? * (4.0 * self.barrier))?;
        Ok((self.energy(x)?, g))
    }
}
