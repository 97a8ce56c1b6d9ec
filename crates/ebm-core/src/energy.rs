//! `Energy` (a scalar field E(x) over a batch) and `Model` (an energy with trainable parameters).
//!
//! Samplers only ever see `&dyn Energy`. A trainable model hands them `Model::detached()`, a view of
//! the same weights that autograd does not track, so a sampler's ∇ₓE never pays for parameter
//! gradients it would throw away.

use crate::{Error, Result};
use candle_core::{Tensor, Var};

/// An energy function over a batch: `x` is `[B, ...]`, the energy is `[B]`.
pub trait Energy: Send + Sync {
    /// E(x), one value per batch row.
    fn energy(&self, x: &Tensor) -> Result<Tensor>;

    /// ∇ₓE(x), same shape as `x`. The default uses candle's autograd; analytic energies and built-in
    /// networks override it with a closed-form or explicit path.
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }

    /// Both at once (MALA and HMC need both; one pass shares the forward).
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        autograd_energy_and_grad(self, x)
    }
}

/// E(x) and ∇ₓE(x) by reverse-mode autograd through `energy`. The result is detached.
pub fn autograd_energy_and_grad<E: Energy + ?Sized>(
    energy: &E,
    x: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let x = Var::from_tensor(&x.detach())?;
    let e = energy.energy(x.as_tensor())?;
    let grads = e.sum_all()?.backward()?;
    let g = match grads.get(x.as_tensor()) {
        Some(g) => g.detach(),
        // An energy that does not depend on x has a zero gradient.
        None => x.as_tensor().zeros_like()?,
    };
    Ok((e.detach(), g))
}

/// A named trainable parameter.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
}

/// An energy with trainable parameters.
pub trait Model: Energy {
    /// The trainable parameters, in a stable order with stable names (checkpoints key on them).
    fn params(&self) -> Vec<Param>;

    /// A view of the current weights that autograd does not track, for sampling. It shares
    /// storage with the parameters, so making one is cheap.
    fn detached(&self) -> Box<dyn Energy>;

    /// The shape of one input (without the batch dimension).
    fn input_shape(&self) -> Vec<usize>;

    /// Overwrites the parameters with saved values, checking names and shapes.
    fn load_params(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        for p in self.params() {
            let t = saved(&p.name).ok_or_else(|| Error::State {
                what: "model".into(),
                message: format!("parameter `{}` missing", p.name),
            })?;
            if t.dims() != p.var.dims() {
                return Err(Error::State {
                    what: "model".into(),
                    message: format!(
                        "parameter `{}` has shape {:?}, the model expects {:?}",
                        p.name,
                        t.dims(),
                        p.var.dims()
                    ),
                });
            }
            p.var.set(&t)?;
        }
        Ok(())
    }
}
