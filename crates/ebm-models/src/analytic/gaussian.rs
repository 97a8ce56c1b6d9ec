//! Gaussian E(x) = ½(x − μ)ᵀ Σ⁻¹ (x − μ) with a full covariance. ∇E = Σ⁻¹(x − μ).

use super::{constant, row};
use candle_core::Tensor;
use ebm_core::{Energy, Error, Result};

#[derive(Clone, Debug)]
pub struct Gaussian {
    mean: Vec<f64>,
    /// Σ⁻¹, row-major d×d.
    precision: Vec<f64>,
}

impl Gaussian {
    /// `cov` is row-major d×d and must be symmetric positive definite.
    pub fn new(mean: Vec<f64>, cov: Vec<f64>) -> Result<Self> {
        let d = mean.len();
        if cov.len() != d * d {
            return Err(Error::config(
                "cov",
                format!("expected {d}x{d} = {} values, got {}", d * d, cov.len()),
            ));
        }
        let precision = spd_inverse(&cov, d).ok_or_else(|| {
            Error::config("cov", "covariance must be symmetric positive definite")
        })?;
        Ok(Gaussian { mean, precision })
    }

    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    fn centred(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let d = self.mean.len();
        let diff = x.broadcast_sub(&row(&self.mean, x)?)?;
        let p = constant(&self.precision, &[d, d], x.dtype(), x.device())?;
        // Σ⁻¹ is symmetric, so (x − μ)Σ⁻¹ row-wise is Σ⁻¹(x − μ) per sample.
        let g = diff.matmul(&p)?;
        Ok((diff, g))
    }
}

impl Energy for Gaussian {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (diff, g) = self.centred(x)?;
        Ok(((diff * g)?.sum(1)? * 0.5)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (diff, g) = self.centred(x)?;
        Ok((((&diff * &g)?.sum(1)? * 0.5)?, g))
    }
}

/// Inverse of a symmetric positive definite matrix by Cholesky (None if not SPD).
fn spd_inverse(a: &[f64], d: usize) -> Option<Vec<f64>> {
    for i in 0..d {
        for j in 0..d {
            if (a[i * d + j] - a[j * d + i]).abs() > 1e-12 * (1.0 + a[i * d + j].abs()) {
                return None;
            }
        }
    }
    // A = L Lᵀ
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = a[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            if i == j {
                if !(s > 0.0) {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    // Columns of A⁻¹ by forward then backward substitution.
    let mut inv = vec![0.0; d * d];
    for c in 0..d {
        let mut y = vec![0.0; d];
        for i in 0..d {
            let e = if i == c { 1.0 } else { 0.0 };
            y[i] = (e - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
        }
        for i in (0..d).rev() {
            let s: f64 = (i + 1..d).map(|k| l[k * d + i] * inv[k * d + c]).sum();
            inv[i * d + c] = (y[i] - s) / l[i * d + i];
        }
    }
    Some(inv)
}
