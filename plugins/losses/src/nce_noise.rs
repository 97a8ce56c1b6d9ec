//! The noise distributions of noise-contrastive estimation, fitted to the training data:
//! a Gaussian with the data's mean and covariance, or a mixture of isotropic Gaussians centred on
//! data points (a kernel density estimate with `components` centres). NCE learns well when the
//! noise is close to the data (the classifier's task is then hard and informative) and covers it
//! everywhere; the mixture is both for low-dimensional sets.

use candle_core::{Device, Tensor};
use ebm_core::{rng, Error, Result, Rng};
use rand::Rng as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Above this many dimensions the Gaussian noise uses the data's variances only.
const FULL_COVARIANCE_MAX_DIM: usize = 64;

/// `[loss] noise = "..."`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// N(mean, scale²·Σ) with the data's mean and full covariance Σ.
    Gaussian,
    /// `background`·N(mean, (scale·s_b)²·Σ) + (1 − `background`)·(1/(LK)) Σₗ Σₖ N(cₖ, hₗ²I),
    /// s_b = `background_scale`: K data
    /// points as centres, L = `levels` bandwidths hₗ = h/rˡ (r = `level_ratio`), h = `bandwidth`
    /// (or Scott's rule for a K-point kernel estimate, times `scale`).
    #[default]
    Mixture,
}

/// The data-fitted Gaussian N(mean, LLᵀ).
pub struct GaussianPart {
    mean: Vec<f64>,
    /// Lower Cholesky factor of scale²·Σ, row-major D×D.
    chol: Vec<f64>,
    log_det: f64,
}

/// The multi-scale kernel estimate (1/(LK)) Σₗ Σₖ N(cₖ, hₗ²I). Several bandwidths bridge the
/// "density chasm" of NCE (Rhodes et al. 2020): with one wide bandwidth almost no noise lands
/// inside modes much narrower than it, and the classifier wins without learning their shape;
/// with one narrow bandwidth nothing samples the space between the modes. A geometric ladder of
/// bandwidths puts noise at every scale from the data's spread down to its finest structure.
pub struct KernelPart {
    centres: Vec<Vec<f64>>,
    bandwidths: Vec<f64>,
    /// Per bandwidth h: (log of N's normaliser (2πh²)^(−D/2), 1/(2h²)), fixed at the fit so
    /// that the per-row density computes neither.
    levels: Vec<(f64, f64)>,
}

/// How the mixture is shaped: `[loss]`'s `components`, `bandwidth`, `levels`, `level_ratio`,
/// `background_scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelShape {
    pub components: usize,
    /// The widest bandwidth; `None`: Scott's rule.
    pub bandwidth: Option<f64>,
    pub levels: usize,
    pub level_ratio: f64,
    /// Widens the mixture's Gaussian share beyond `scale`: noise far from the data keeps a
    /// flexible model (Fourier features) from putting mass there unseen.
    pub background_scale: f64,
}

/// A fitted noise distribution: the Gaussian alone, or `background`·Gaussian +
/// (1 − `background`)·kernel estimate. The Gaussian share keeps the noise everywhere the model
/// might put mass (a narrow kernel estimate alone leaves the space between sharp modes unseen
/// and the model free to put mass there); the kernel share makes the classification hard where
/// the data are.
pub struct Noise {
    gaussian: GaussianPart,
    kernel: Option<KernelPart>,
    /// Probability of drawing from the Gaussian.
    background: f64,
}

impl Noise {
    /// Fits `kind` to the rows of `data` (`[N, D]`, flattened).
    pub fn fit(
        kind: NoiseKind,
        data: &[f32],
        dim: usize,
        scale: f64,
        shape: KernelShape,
        background: f64,
        rng: &mut Rng,
    ) -> Result<Noise> {
        let n = data.len() / dim;
        if n < 2 {
            return Err(Error::config(
                "loss.noise",
                "needs at least two training points to fit",
            ));
        }
        let rows: Vec<Vec<f64>> = data
            .chunks(dim)
            .map(|r| r.iter().map(|v| *v as f64).collect())
            .collect();
        let mean: Vec<f64> = (0..dim)
            .map(|d| rows.iter().map(|r| r[d]).sum::<f64>() / n as f64)
            .collect();
        // Full covariance up to FULL_COVARIANCE_MAX_DIM dimensions; beyond (images) the diagonal,
        // which costs O(N·D) instead of O(N·D²) and stays invertible with few points.
        let full = dim <= FULL_COVARIANCE_MAX_DIM;
        let mut cov = vec![0.0; dim * dim];
        for r in &rows {
            for i in 0..dim {
                let js = if full { 0..dim } else { i..i + 1 };
                for j in js {
                    cov[i * dim + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (n - 1) as f64;
                }
            }
        }
        // A ridge of 1e-6 of the mean variance keeps a degenerate direction invertible.
        let ridge = 1e-6 * (0..dim).map(|d| cov[d * dim + d]).sum::<f64>() / dim as f64;
        for d in 0..dim {
            cov[d * dim + d] += ridge.max(1e-12);
        }
        let g_scale = match kind {
            NoiseKind::Gaussian => scale,
            NoiseKind::Mixture => scale * shape.background_scale,
        };
        let scaled: Vec<f64> = cov.iter().map(|c| c * g_scale * g_scale).collect();
        let chol = cholesky(&scaled, dim)
            .ok_or_else(|| Error::config("loss.noise", "the data's covariance is singular"))?;
        let log_det = (0..dim).map(|i| 2.0 * chol[i * dim + i].ln()).sum();
        let gaussian = GaussianPart {
            mean,
            chol,
            log_det,
        };
        let kernel = match kind {
            NoiseKind::Gaussian => None,
            NoiseKind::Mixture => {
                let k = shape.components.min(n);
                // K distinct data points, uniformly (a partial Fisher–Yates).
                let mut idx: Vec<usize> = (0..n).collect();
                for i in 0..k {
                    let j = rng.random_range(i..n);
                    idx.swap(i, j);
                }
                let centres = idx[..k].iter().map(|&i| rows[i].clone()).collect();
                // Scott's rule for a K-point estimate: h = σ̄·K^(−1/(D+4)), σ̄ the mean data std.
                let mean_std = (0..dim).map(|d| cov[d * dim + d].sqrt()).sum::<f64>() / dim as f64;
                let h = shape
                    .bandwidth
                    .unwrap_or_else(|| mean_std * (k as f64).powf(-1.0 / (dim as f64 + 4.0)))
                    * scale;
                let bandwidths: Vec<f64> = (0..shape.levels.max(1))
                    .map(|l| h / shape.level_ratio.powi(l as i32))
                    .collect();
                let levels = bandwidths
                    .iter()
                    .map(|h| {
                        let s2 = h * h;
                        (-0.5 * dim as f64 * (2.0 * PI * s2).ln(), 0.5 / s2)
                    })
                    .collect();
                Some(KernelPart {
                    centres,
                    bandwidths,
                    levels,
                })
            }
        };
        Ok(Noise {
            background: if kernel.is_some() { background } else { 1.0 },
            gaussian,
            kernel,
        })
    }

    fn dim(&self) -> usize {
        self.gaussian.mean.len()
    }

    /// `n` draws as a `[n, D]` f32 tensor.
    pub fn sample(&self, n: usize, rng: &mut Rng, device: &Device) -> Result<Tensor> {
        let dim = self.dim();
        let z = rng::normal_vec(rng, n * dim);
        let mut out = Vec::with_capacity(n * dim);
        for zi in z.chunks(dim) {
            let from_gaussian = rng.random::<f64>() < self.background;
            match (&self.kernel, from_gaussian) {
                (Some(k), false) => {
                    let c = &k.centres[rng.random_range(0..k.centres.len())];
                    // One level draws nothing more: the noise stream (and every one-level run)
                    // stays as it was before levels existed.
                    let h = match k.bandwidths.as_slice() {
                        [h] => *h,
                        hs => hs[rng.random_range(0..hs.len())],
                    };
                    out.extend(c.iter().zip(zi).map(|(m, e)| (m + h * *e as f64) as f32));
                }
                _ => {
                    let g = &self.gaussian;
                    for r in 0..dim {
                        let lz: f64 = (0..=r).map(|c| g.chol[r * dim + c] * zi[c] as f64).sum();
                        out.push((g.mean[r] + lz) as f32);
                    }
                }
            }
        }
        Ok(Tensor::from_vec(out, (n, dim), device)?)
    }

    /// log q(x) for each row of `x` (`[n, D]` flattened). Rows in parallel: this runs for
    /// every data and noise row of every NCE step, over every centre and level.
    pub fn log_density(&self, x: &[f32]) -> Vec<f64> {
        let dim = self.dim();
        x.par_chunks(dim)
            .with_min_len(64)
            .map(|row| {
                let lg = self.gaussian_log_density(row);
                match &self.kernel {
                    None => lg,
                    Some(k) => {
                        let lk = kernel_log_density(k, row);
                        let (a, b) = (self.background.ln() + lg, (1.0 - self.background).ln() + lk);
                        let top = a.max(b);
                        if top == f64::NEG_INFINITY {
                            top
                        } else {
                            top + ((a - top).exp() + (b - top).exp()).ln()
                        }
                    }
                }
            })
            .collect()
    }

    fn gaussian_log_density(&self, row: &[f32]) -> f64 {
        let (g, dim) = (&self.gaussian, self.dim());
        // Solve L z = x − μ; log q = −½‖z‖² − ½ log|2πΣ|.
        let mut z = vec![0.0; dim];
        for r in 0..dim {
            let s: f64 = (0..r).map(|c| g.chol[r * dim + c] * z[c]).sum();
            z[r] = (row[r] as f64 - g.mean[r] - s) / g.chol[r * dim + r];
        }
        let q: f64 = z.iter().map(|v| v * v).sum();
        -0.5 * q - 0.5 * (g.log_det + dim as f64 * (2.0 * PI).ln())
    }
}

/// Terms this far below the largest add less than e⁻⁴⁵ ≈ 3e-20 of it each (< 1e-15 together
/// for any mixture below 10⁵ terms): skipped, which saves most `exp` calls at the fine levels.
const NEGLIGIBLE_LOG_RATIO: f64 = -45.0;

fn kernel_log_density(k: &KernelPart, row: &[f32]) -> f64 {
    let d2: Vec<f64> = k
        .centres
        .iter()
        .map(|c| {
            c.iter()
                .zip(row)
                .map(|(m, v)| (*v as f64 - m).powi(2))
                .sum()
        })
        .collect();
    let nearest = d2.iter().cloned().fold(f64::INFINITY, f64::min);
    // log of the mean over levels and centres of N(x; cₖ, hₗ²I), by log-sum-exp. The largest
    // term of each level is the nearest centre's, so the maximum needs no pass over the terms.
    let levels = &k.levels;
    let top = levels
        .iter()
        .map(|(norm, inv)| norm - nearest * inv)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (norm, inv) in levels {
        let base = norm - top;
        for d in &d2 {
            let e = base - d * inv;
            if e > NEGLIGIBLE_LOG_RATIO {
                sum += e.exp();
            }
        }
    }
    top + sum.ln() - ((levels.len() * d2.len()) as f64).ln()
}

/// Lower Cholesky factor of a symmetric positive-definite D×D matrix; `None` if it is not.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                let v = a[i * d + i] - s;
                if !(v > 0.0) {
                    return None;
                }
                l[i * d + j] = v.sqrt();
            } else {
                l[i * d + j] = (a[i * d + j] - s) / l[j * d + j];
            }
        }
    }
    Some(l)
}
