//! The data's own energy, E(x) = −log p(x) from the true density of a 2-D set
//! ([`ebm_data::DataConfig::log_density`]): the model a perfect fit would be. It calibrates the
//! measures (its KL to the data is 0, its grid log Z is 0, exact samplers on it reach the MMD²
//! floor) and gives the samplers a hard, exactly known target.

use candle_core::{DType, Device, Tensor};
use ebm_core::{Energy, Error, Result};
use ebm_data::DataConfig;

/// Central-difference step of the gradient: the densities are smooth on the noise's scale (≥
/// 0.002 for the default sets), and the f64 arithmetic leaves ~1e-8 of rounding at this step.
const FD_STEP: f64 = 1e-5;

/// E(x) = −log p(x) of a 2-D set (inputs `[B, 2]`).
pub struct DataEnergy {
    data: DataConfig,
}

impl DataEnergy {
    /// Errors when the set has no density in the plane (images, noiseless curves).
    pub fn new(data: DataConfig) -> Result<Self> {
        data.log_density(&[[0.0, 0.0]])
            .map_err(|e| Error::config("data", e.to_string()))?;
        Ok(DataEnergy { data })
    }

    fn neg_log_p(&self, pts: &[[f64; 2]]) -> Result<Vec<f64>> {
        let lp = self
            .data
            .log_density(pts)
            .map_err(|e| Error::config("data", e.to_string()))?;
        // Zero density (off the checkerboard with noise 0) is an infinite energy; keep it finite
        // so samplers reject the move rather than produce NaN.
        Ok(lp.into_iter().map(|l| (-l).min(1e30)).collect())
    }
}

fn rows(x: &Tensor) -> Result<Vec<[f64; 2]>> {
    if x.rank() != 2 || x.dims()[1] != 2 {
        return Err(Error::Msg(format!(
            "the data energy takes [B, 2] points, got {:?}",
            x.dims()
        )));
    }
    let v = x.to_dtype(DType::F64)?.to_vec2::<f64>()?;
    Ok(v.into_iter().map(|r| [r[0], r[1]]).collect())
}

fn tensor(v: Vec<f64>, shape: &[usize], like: &Tensor, device: &Device) -> Result<Tensor> {
    Ok(Tensor::from_vec(v, shape, device)?.to_dtype(like.dtype())?)
}

impl Energy for DataEnergy {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let pts = rows(x)?;
        let n = pts.len();
        tensor(self.neg_log_p(&pts)?, &[n], x, x.device())
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let pts = rows(x)?;
        let n = pts.len();
        // One batch: the point, then ±h along each axis.
        let mut probe = Vec::with_capacity(5 * n);
        for p in &pts {
            probe.push(*p);
            probe.push([p[0] + FD_STEP, p[1]]);
            probe.push([p[0] - FD_STEP, p[1]]);
            probe.push([p[0], p[1] + FD_STEP]);
            probe.push([p[0], p[1] - FD_STEP]);
        }
        let e = self.neg_log_p(&probe)?;
        let mut energy = Vec::with_capacity(n);
        let mut grad = Vec::with_capacity(2 * n);
        for c in e.chunks(5) {
            energy.push(c[0]);
            grad.push((c[1] - c[2]) / (2.0 * FD_STEP));
            grad.push((c[3] - c[4]) / (2.0 * FD_STEP));
        }
        Ok((
            tensor(energy, &[n], x, x.device())?,
            tensor(grad, &[n, 2], x, x.device())?,
        ))
    }
}
