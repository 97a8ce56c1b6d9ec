//! φ and φ′ as candle ops: any device and dtype, differentiable to any order. The MLP needs
//! the derivative because it computes ∇ₓE by explicit forward ops (no autograd graph).

use super::Activation;
use candle_core::{Result, Tensor};

fn sigmoid(z: &Tensor) -> Result<Tensor> {
    // Written with plain ops (not candle-nn's custom op) so it stays differentiable to any order.
    (z.neg()?.exp()? + 1.0)?.recip()
}

impl Activation {
    /// φ(z).
    pub fn apply(self, z: &Tensor, beta: f64) -> Result<Tensor> {
        match self {
            Activation::Silu => z.silu(),
            Activation::Elu => z.elu(1.0),
            Activation::Swish => z * sigmoid(&(z * beta)?)?,
            Activation::Tanh => z.tanh(),
            // relu(z) + log(1 + e^{−|z|}): no overflow for large |z|.
            Activation::Softplus => z.relu()? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?,
        }
    }

    /// φ′(z).
    pub fn derivative(self, z: &Tensor, beta: f64) -> Result<Tensor> {
        match self {
            Activation::Silu => Self::swish_derivative(z, 1.0),
            Activation::Swish => Self::swish_derivative(z, beta),
            Activation::Elu => {
                let positive = z.gt(0.0)?;
                positive.where_cond(&z.ones_like()?, &z.exp()?)
            }
            Activation::Tanh => 1.0 - z.tanh()?.sqr()?,
            Activation::Softplus => sigmoid(z),
        }
    }

    // d/dz z·σ(βz) = σ(βz)·(1 + βz·(1 − σ(βz)))
    fn swish_derivative(z: &Tensor, beta: f64) -> Result<Tensor> {
        let bz = (z * beta)?;
        let s = sigmoid(&bz)?;
        let one_minus = (1.0 - &s)?;
        &s * ((bz * one_minus)? + 1.0)?
    }
}
