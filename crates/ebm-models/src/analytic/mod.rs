//! Analytic energies with closed-form `energy` and `grad`, for tests, benchmarks and demos. Each
//! works in the dtype of its input (f32 or f64).

mod double_well;
mod gaussian;
mod gaussian_mixture;
mod harmonic;
mod rosenbrock;

pub use double_well::DoubleWell;
pub use gaussian::Gaussian;
pub use gaussian_mixture::GaussianMixture;
pub use harmonic::Harmonic;
pub use rosenbrock::Rosenbrock;

use candle_core::{DType, Device, Tensor};
use ebm_core::Result;

/// A constant row vector `[1, n]` in the input's dtype and device.
pub(crate) fn row(values: &[f64], like: &Tensor) -> Result<Tensor> {
    constant(values, &[1, values.len()], like.dtype(), like.device())
}

pub(crate) fn constant(
    values: &[f64],
    shape: &[usize],
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::from_slice(values, shape, device)?.to_dtype(dtype)?)
}
