//! Equal-weight isotropic Gaussian mixtures (eight Gaussians, the Gaussian ring): closed form.

use std::f64::consts::PI;

/// log p(x) of the mixture of N(c, σ²I) over `centres`, through a log-sum-exp so points far
/// from every centre keep a finite log-density.
pub(crate) fn log_density(x: [f64; 2], centres: &[[f64; 2]], sigma: f64) -> f64 {
    let s2 = sigma * sigma;
    let exps: Vec<f64> = centres
        .iter()
        .map(|c| {
            let (dx, dy) = (x[0] - c[0], x[1] - c[1]);
            -(dx * dx + dy * dy) / (2.0 * s2)
        })
        .collect();
    let top = exps.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = exps.iter().map(|e| (e - top).exp()).sum();
    top + sum.ln() - (centres.len() as f64).ln() - (2.0 * PI * s2).ln()
}
