//! Gaussian mixture E(x) = −log Σₖ wₖ N(x; μₖ, σₖ² I). ∇E = Σₖ rₖ(x)(x − μₖ)/σₖ² with
//! responsibilities r = softmax of the component log-densities.

use super::constant;
use candle_core::{Tensor, D};
use ebm_core::{Energy, Error, Result};

#[derive(Clone, Debug)]
pub struct GaussianMixture {
    /// K×d, row-major.
    means: Vec<f64>,
    dim: usize,
    stds: Vec<f64>,
    log_weights: Vec<f64>,
}

impl GaussianMixture {
    /// `means` are K points of dimension d; `stds` and `weights` have K entries (weights are
    /// normalised here).
    pub fn new(means: Vec<Vec<f64>>, stds: Vec<f64>, weights: Vec<f64>) -> Result<Self> {
        let k = means.len();
        let dim = means.first().map(Vec::len).unwrap_or(0);
        if k == 0 || dim == 0 || means.iter().any(|m| m.len() != dim) {
            return Err(Error::config(
                "means",
                "need at least one mean, all of the same dimension",
            ));
        }
        if stds.len() != k || weights.len() != k {
            return Err(Error::config(
                "stds",
                format!("need {k} stds and {k} weights"),
            ));
        }
        if stds.iter().any(|s| !(*s > 0.0)) || weights.iter().any(|w| !(*w > 0.0)) {
            return Err(Error::config("weights", "stds and weights must be > 0"));
        }
        let total: f64 = weights.iter().sum();
        Ok(GaussianMixture {
            means: means.concat(),
            dim,
            log_weights: weights.iter().map(|w| (w / total).ln()).collect(),
            stds,
        })
    }

    /// Component log-densities `[B, K]` and the means `[K, d]`.
    fn log_densities(&self, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let k = self.stds.len();
        let (dt, dev) = (x.dtype(), x.device());
        let m = constant(&self.means, &[k, self.dim], dt, dev)?;
        // ‖x − μ‖² = ‖x‖² − 2x·μ + ‖μ‖²
        let sq = x
            .sqr()?
            .sum_keepdim(1)?
            .broadcast_sub(&(x.matmul(&m.t()?)? * 2.0)?)?
            .broadcast_add(&m.sqr()?.sum(1)?.unsqueeze(0)?)?;
        let inv_var: Vec<f64> = self.stds.iter().map(|s| 1.0 / (s * s)).collect();
        let norm: Vec<f64> = self
            .stds
            .iter()
            .zip(&self.log_weights)
            .map(|(s, lw)| {
                lw - self.dim as f64 * (s.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln())
            })
            .collect();
        let inv_var = constant(&inv_var, &[1, k], dt, dev)?;
        let logp = (sq.broadcast_mul(&inv_var)? * -0.5)?.broadcast_add(&constant(
            &norm,
            &[1, k],
            dt,
            dev,
        )?)?;
        Ok((logp, m, inv_var))
    }
}

impl Energy for GaussianMixture {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (logp, _, _) = self.log_densities(x)?;
        Ok(logp.log_sum_exp(D::Minus1)?.neg()?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (logp, m, inv_var) = self.log_densities(x)?;
        let lse = logp.log_sum_exp(D::Minus1)?;
        let r = logp.broadcast_sub(&lse.unsqueeze(1)?)?.exp()?;
        let r_scaled = r.broadcast_mul(&inv_var)?; // rₖ/σₖ²
        let g = x
            .broadcast_mul(&r_scaled.sum_keepdim(1)?)?
            .sub(&r_scaled.matmul(&m)?)?;
        Ok((lse.neg()?, g))
    }
}
