//! Mixed precision (`[train] precision = "bf16"`): the energy network computes in a narrower
//! dtype while its weights, their gradients and the optimizer state stay f32, as PyTorch's
//! autocast does. [`AutocastModel`] wraps a built model: its inputs are cast to the compute dtype
//! on the way in and E and ∇ₓE back to the input's dtype on the way out; the layers cast their f32
//! weights to the input's dtype (a no-op in f32), so autograd carries the gradients back to the
//! f32 parameters through the casts. Chains, losses and the optimizer never see bf16.
//!
//! The trainer only wraps a model on a CUDA device (bf16 matmuls and convs are what the GPU's
//! tensor cores are for; on a CPU candle's bf16 kernels are slower than f32), but the wrapper itself
//! works on any device: the tests run it on the CPU.

use candle_core::{DType, Tensor};
use ebm_core::{Energy, Model, Param, Result};

/// A sampling view ([`Model::detached`]) of an [`AutocastModel`].
pub struct AutocastEnergy {
    inner: Box<dyn Energy>,
    dtype: DType,
}

/// A trainable model that computes in `dtype` (see the module docs).
pub struct AutocastModel {
    inner: Box<dyn Model>,
    dtype: DType,
}

impl AutocastModel {
    pub fn new(inner: Box<dyn Model>, dtype: DType) -> Self {
        AutocastModel { inner, dtype }
    }
}

/// The methods of [`Energy`] on `inner`, with `x` (and `t`) cast to `dtype` and results cast back.
fn cast_in(x: &Tensor, dtype: DType) -> Result<Tensor> {
    Ok(x.to_dtype(dtype)?)
}

macro_rules! autocast_energy {
    ($ty:ty) => {
        impl Energy for $ty {
            fn energy(&self, x: &Tensor) -> Result<Tensor> {
                let e = self.inner.energy(&cast_in(x, self.dtype)?)?;
                Ok(e.to_dtype(x.dtype())?)
            }

            fn grad(&self, x: &Tensor) -> Result<Tensor> {
                let g = self.inner.grad(&cast_in(x, self.dtype)?)?;
                Ok(g.to_dtype(x.dtype())?)
            }

            fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
                let (e, g) = self.inner.energy_and_grad(&cast_in(x, self.dtype)?)?;
                Ok((e.to_dtype(x.dtype())?, g.to_dtype(x.dtype())?))
            }

            fn grad_is_differentiable(&self) -> bool {
                self.inner.grad_is_differentiable()
            }

            fn has_energy_values(&self) -> bool {
                self.inner.has_energy_values()
            }

            fn time_conditioned(&self) -> bool {
                self.inner.time_conditioned()
            }

            fn grad_at(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
                let g = self
                    .inner
                    .grad_at(&cast_in(x, self.dtype)?, &cast_in(t, self.dtype)?)?;
                Ok(g.to_dtype(x.dtype())?)
            }
        }
    };
}

autocast_energy!(AutocastEnergy);
autocast_energy!(AutocastModel);

impl Model for AutocastModel {
    fn params(&self) -> Vec<Param> {
        self.inner.params()
    }

    fn detached(&self) -> Box<dyn Energy> {
        Box::new(AutocastEnergy {
            inner: self.inner.detached(),
            dtype: self.dtype,
        })
    }

    fn input_shape(&self) -> Vec<usize> {
        self.inner.input_shape()
    }

    // energy_param_grads: the default (None), so losses use autograd through the casts; the
    // fused paths are f32 CPU ones.

    fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        self.inner.buffers()
    }

    fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.inner.load_buffers(saved)
    }

    fn load_params(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.inner.load_params(saved)
    }
}
