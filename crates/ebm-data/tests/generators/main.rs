//! Generator tests, one file per dataset, compiled as one test binary to keep link time down.
//! Statistical checks use fixed seeds and tolerances of several standard errors, so they are
//! deterministic and still fail if a formula changes.

mod bounds;
mod checkerboard;
mod circles;
mod determinism;
mod gaussians;
mod pinwheel;
mod swiss_roll;
mod two_moons;
mod two_spirals;

use ebm_data::{DataConfig, Points};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Every synthetic dataset at its defaults.
pub fn all_defaults() -> Vec<DataConfig> {
    DataConfig::SYNTHETIC_KINDS
        .iter()
        .map(|k| DataConfig::with_defaults(k).expect("known kind"))
        .collect()
}

/// Draws `n` points from `config` with `seed`.
pub fn draw(config: &DataConfig, n: usize, seed: u64) -> Points {
    config.sample(n, &mut rng(seed)).expect("valid config")
}

/// The points as f64 pairs.
pub fn pairs(points: &Points) -> Vec<[f64; 2]> {
    assert_eq!(points.dim, 2);
    points.rows().map(|r| [r[0] as f64, r[1] as f64]).collect()
}

/// Per-coordinate mean and (population) standard deviation.
pub fn mean_std(pts: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
    let n = pts.len() as f64;
    let mut mean = [0.0; 2];
    for p in pts {
        mean[0] += p[0] / n;
        mean[1] += p[1] / n;
    }
    let mut var = [0.0; 2];
    for p in pts {
        var[0] += (p[0] - mean[0]).powi(2) / n;
        var[1] += (p[1] - mean[1]).powi(2) / n;
    }
    (mean, [var[0].sqrt(), var[1].sqrt()])
}

/// Index of the centre nearest to `p`.
pub fn nearest(p: [f64; 2], centres: &[[f64; 2]]) -> usize {
    let d2 = |c: &[f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
    (0..centres.len())
        .min_by(|&a, &b| d2(&centres[a]).total_cmp(&d2(&centres[b])))
        .unwrap_or(0)
}
