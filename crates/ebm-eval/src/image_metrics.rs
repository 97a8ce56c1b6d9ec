//! Sample-quality and OOD metrics on feature vectors: Fréchet distance (FID's formula), KID, and
//! AUROC. Pure math: the features come from whatever network the caller runs.
//!
//! Feature sets are flat row-major `[n, dim]` f32 slices; everything is computed in f64.
//!
//! - Fréchet distance ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}). The trace term is
//!   taken from a symmetric eigendecomposition of Σ₁^{1/2} Σ₂ Σ₁^{1/2} (itself symmetric PSD),
//!   which stays real and stable where the usual sqrtm(Σ₁Σ₂) of a non-symmetric product does not;
//!   tiny negative eigenvalues from round-off are clamped to zero.
//! - KID: the unbiased MMD² with the cubic kernel k(x, y) = (xᵀy/d + 1)³, averaged over random
//!   subsets (Bińkowski et al. 2018), with its standard deviation over the subsets.
//! - AUROC: the probability that an in-distribution score exceeds an out-of-distribution one,
//!   ties counting one half — the Mann–Whitney U statistic over n_in · n_out.

use crate::Result;
use ebm_core::{rng, Error as CoreError};
use nalgebra::{DMatrix, DVector};
use rand::seq::index::sample;

fn invalid(key: &str, message: String) -> crate::Error {
    CoreError::config(key, message).into()
}

/// Checks a `[n, dim]` feature slice: dim > 0, a whole number of rows, at least `min_rows`, all
/// finite. Returns n.
fn rows(features: &[f32], dim: usize, min_rows: usize, what: &str) -> Result<usize> {
    if dim == 0 || !features.chunks_exact(dim).remainder().is_empty() {
        return Err(invalid(
            what,
            format!("{} values are not rows of dimension {dim}", features.len()),
        ));
    }
    let n = features.len() / dim;
    if n < min_rows {
        return Err(invalid(
            what,
            format!("{n} feature vectors; need at least {min_rows}"),
        ));
    }
    if let Some(i) = features.iter().position(|v| !v.is_finite()) {
        return Err(invalid(
            what,
            format!("value {} of row {} is not finite", features[i], i / dim),
        ));
    }
    Ok(n)
}

/// Mean and unbiased (n − 1) covariance of the rows of a `[n, dim]` slice.
pub fn mean_and_covariance(features: &[f32], dim: usize) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let n = rows(features, dim, 2, "features")?;
    let x = DMatrix::from_row_iterator(n, dim, features.iter().map(|&v| f64::from(v)));
    let mean = x.row_mean().transpose();
    let centred = DMatrix::from_fn(n, dim, |i, j| x[(i, j)] - mean[j]);
    let cov = centred.tr_mul(&centred) / (n as f64 - 1.0);
    Ok((mean, cov))
}

/// Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).
pub fn frechet_distance_from_stats(
    mu1: &DVector<f64>,
    sigma1: &DMatrix<f64>,
    mu2: &DVector<f64>,
    sigma2: &DMatrix<f64>,
) -> Result<f64> {
    let d = mu1.len();
    let square = |m: &DMatrix<f64>| m.nrows() == d && m.ncols() == d;
    if mu2.len() != d || !square(sigma1) || !square(sigma2) {
        return Err(invalid(
            "frechet",
            format!(
                "dimensions disagree: μ₁ {d}, μ₂ {}, Σ₁ {:?}, Σ₂ {:?}",
                mu2.len(),
                sigma1.shape(),
                sigma2.shape()
            ),
        ));
    }
    let sqrt1 = psd_sqrt(sigma1);
    let inner = &sqrt1 * sigma2 * &sqrt1;
    let tr_sqrt: f64 = symmetric_eigenvalues(&inner)
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    let dist = (mu1 - mu2).norm_squared() + sigma1.trace() + sigma2.trace() - 2.0 * tr_sqrt;
    // Round-off can leave −1e-12 for identical inputs; a distance is never negative.
    Ok(dist.max(0.0))
}

/// Fréchet distance between the Gaussians fitted to two feature sets (FID when the features
/// are Inception pool features).
pub fn frechet_distance(a: &[f32], b: &[f32], dim: usize) -> Result<f64> {
    let (mu1, s1) = mean_and_covariance(a, dim)?;
    let (mu2, s2) = mean_and_covariance(b, dim)?;
    frechet_distance_from_stats(&mu1, &s1, &mu2, &s2)
}

/// The symmetric part's eigenvalues (the input is symmetric up to round-off).
fn symmetric_eigenvalues(m: &DMatrix<f64>) -> DVector<f64> {
    let sym = (m + m.transpose()) * 0.5;
    sym.symmetric_eigenvalues()
}

/// The PSD square root V·diag(√max(λ, 0))·Vᵀ of a symmetric matrix.
fn psd_sqrt(m: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = sym.symmetric_eigen();
    let roots = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&roots) * eig.eigenvectors.transpose()
}

/// KID's subsets: how many, and how large.
#[derive(Clone, Debug, PartialEq)]
pub struct KidConfig {
    pub subsets: usize,
    /// Rows drawn (without replacement) from each set per subset; capped at the smaller set.
    pub subset_size: usize,
    pub seed: u64,
}

impl Default for KidConfig {
    fn default() -> Self {
        KidConfig {
            subsets: 100,
            subset_size: 1000,
            seed: 0,
        }
    }
}

/// KID: mean and standard deviation over subsets of the unbiased MMD².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kid {
    pub mean: f64,
    pub std: f64,
}

/// The unbiased MMD² with the cubic polynomial kernel between two `[n, dim]` sets (n ≥ 2 each).
pub fn mmd2_polynomial(a: &[f32], b: &[f32], dim: usize) -> Result<f64> {
    let n = rows(a, dim, 2, "kid.features")?;
    let m = rows(b, dim, 2, "kid.features")?;
    let a: Vec<&[f32]> = a.chunks(dim).collect();
    let b: Vec<&[f32]> = b.chunks(dim).collect();
    Ok(mmd2_rows(&a, &b, dim, n, m))
}

fn mmd2_rows(a: &[&[f32]], b: &[&[f32]], dim: usize, n: usize, m: usize) -> f64 {
    let k = |x: &[f32], y: &[f32]| {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum();
        (dot / dim as f64 + 1.0).powi(3)
    };
    // Off-diagonal sums only: dropping k(x, x) is what makes the estimate unbiased.
    let within = |s: &[&[f32]]| {
        let mut sum = 0.0;
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                sum += k(s[i], s[j]);
            }
        }
        2.0 * sum / (s.len() * (s.len() - 1)) as f64
    };
    let cross: f64 = a.iter().flat_map(|x| b.iter().map(|y| k(x, y))).sum();
    within(a) + within(b) - 2.0 * cross / (n * m) as f64
}

/// Kernel Inception Distance between two `[n, dim]` feature sets.
pub fn kid(a: &[f32], b: &[f32], dim: usize, cfg: &KidConfig) -> Result<Kid> {
    let n = rows(a, dim, 2, "kid.features")?;
    let m = rows(b, dim, 2, "kid.features")?;
    if cfg.subsets == 0 || cfg.subset_size < 2 {
        return Err(invalid(
            "kid",
            "need at least 1 subset of at least 2 rows".into(),
        ));
    }
    let size = cfg.subset_size.min(n).min(m);
    let a: Vec<&[f32]> = a.chunks(dim).collect();
    let b: Vec<&[f32]> = b.chunks(dim).collect();
    let mut stream = rng::stream(cfg.seed, "kid", 0);
    let values: Vec<f64> = (0..cfg.subsets)
        .map(|_| {
            let sa: Vec<&[f32]> = sample(&mut stream, n, size).iter().map(|i| a[i]).collect();
            let sb: Vec<&[f32]> = sample(&mut stream, m, size).iter().map(|i| b[i]).collect();
            mmd2_rows(&sa, &sb, dim, size, size)
        })
        .collect();
    let s = values.len() as f64;
    let mean = values.iter().sum::<f64>() / s;
    let std = if values.len() > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (s - 1.0)).sqrt()
    } else {
        0.0
    };
    Ok(Kid { mean, std })
}

/// AUROC of `in_scores` (positives) against `out_scores`: P(in > out) + ½P(in = out). Higher
/// scores must mean "more in-distribution" (for an EBM pass −E(x)). Ranks with midranks for
/// ties, O(n log n).
pub fn auroc(in_scores: &[f64], out_scores: &[f64]) -> Result<f64> {
    if in_scores.is_empty() || out_scores.is_empty() {
        return Err(invalid(
            "auroc",
            format!(
                "need scores on both sides ({} in, {} out)",
                in_scores.len(),
                out_scores.len()
            ),
        ));
    }
    if in_scores.iter().chain(out_scores).any(|v| !v.is_finite()) {
        return Err(invalid("auroc", "scores must be finite".into()));
    }
    let mut all: Vec<(f64, bool)> = in_scores
        .iter()
        .map(|&s| (s, true))
        .chain(out_scores.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|p, q| p.0.total_cmp(&q.0));
    // Sum of the positives' ranks (1-based), each tie group sharing its mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let j = i + all[i..].iter().take_while(|p| p.0 == all[i].0).count();
        let mid = (i + 1 + j) as f64 / 2.0;
        rank_sum += mid * all[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let (n_in, n_out) = (in_scores.len() as f64, out_scores.len() as f64);
    let u = rank_sum - n_in * (n_in + 1.0) / 2.0;
    Ok(u / (n_in * n_out))
}
