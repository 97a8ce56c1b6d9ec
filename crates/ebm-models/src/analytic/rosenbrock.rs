//! Rosenbrock ("banana") E(x) = Σᵢ (a − xᵢ)² + b·(xᵢ₊₁ − xᵢ²)² over consecutive coordinates.

use candle_core::Tensor;
use ebm_core::{Energy, Error, Result};

#[derive(Clone, Debug)]
pub struct Rosenbrock {
    a: f64,
    b: f64,
}

impl Rosenbrock {
    /// The classic banana is a = 1, b = 100; sampling demos use a smaller b.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        if !(a.is_finite() && b > 0.0 && b.is_finite()) {
            return Err(Error::config(
                "b",
                format!("need finite a and b > 0, got a {a}, b {b}"),
            ));
        }
        Ok(Rosenbrock { a, b })
    }

    fn split(x: &Tensor) -> Result<(Tensor, Tensor)> {
        let d = x.dims()[1];
        if d < 2 {
            return Err(Error::invalid_argument(
                "build a Rosenbrock energy",
                "it needs at least 2 dimensions",
            ));
        }
        Ok((x.narrow(1, 0, d - 1)?, x.narrow(1, 1, d - 1)?))
    }
}

impl Energy for Rosenbrock {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (head, tail) = Self::split(x)?;
        let valley = (self.a - &head)?.sqr()?;
        let ridge = ((tail - head.sqr()?)?.sqr()? * self.b)?;
        Ok((valley + ridge)?.sum(1)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (head, tail) = Self::split(x)?;
        let r = (&tail - head.sqr()?)?;
        // ∂/∂xᵢ from the terms where xᵢ is the head (i < d−1) and where it is the tail (i > 0).
        let as_head = ((-2.0 * (self.a - &head)?)? - ((&head * &r)? * (4.0 * self.b))?)?;
        let as_tail = (&r * (2.0 * self.b))?;
        let g = (as_head.pad_with_zeros(1, 0, 1)? + as_tail.pad_with_zeros(1, 1, 0)?)?;
        Ok((self.energy(x)?, g))
    }
}
