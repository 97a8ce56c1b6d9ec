//! A ring of equal Gaussians.
//!
//! Follows TorchEBM `GaussianMixtureDataset`: `n_components` centres at angles
//! `linspace(0, 2 pi, k, endpoint=False)` on the circle of radius `radius`, an equal share of the
//! points each (the first `n % k` one extra), plus N(0, std^2) per coordinate; rows shuffled.

use super::{add_noise, linspace, stratified};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::TAU;

pub(crate) fn sample<R: Rng + ?Sized>(
    n: usize,
    n_components: usize,
    std: f64,
    radius: f64,
    rng: &mut R,
) -> Points {
    let mut pts = Vec::with_capacity(n);
    for (centre, count) in centres(n_components, radius)
        .into_iter()
        .zip(stratified(n, n_components))
    {
        pts.extend(std::iter::repeat_n(centre, count));
    }
    add_noise(&mut pts, std, rng);
    fisher_yates(&mut pts, rng);
    Points::from_pairs(&pts)
}

/// The `n_components` centres on the circle of radius `radius`.
pub(crate) fn centres(n_components: usize, radius: f64) -> Vec<[f64; 2]> {
    linspace(0.0, TAU, n_components, false)
        .into_iter()
        .map(|theta| [radius * theta.cos(), radius * theta.sin()])
        .collect()
}

/// Evaluation reference points: each point's component drawn uniformly (not in equal shares).
pub(crate) fn sample_iid<R: Rng + ?Sized>(
    n: usize,
    n_components: usize,
    std: f64,
    radius: f64,
    rng: &mut R,
) -> Points {
    super::iid_mixture(&centres(n_components, radius), n, std, rng)
}
