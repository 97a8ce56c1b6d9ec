//! Two interleaving half circles.
//!
//! Follows scikit-learn `make_moons` (which TorchEBM's `TwoMoonsDataset` copies): the outer moon
//! is `(cos t, sin t)` and the inner `(1 - cos t, 1 - sin t - 0.5)` with
//! `t = linspace(0, pi, m)`; the outer gets `n / 2` points and the inner the rest (so the inner
//! one has the extra point for odd `n`, as in both references). Rows are shuffled like sklearn's
//! default `shuffle=True`, then N(0, noise^2) is added to every coordinate.

use super::{add_noise, linspace, uniform};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::PI;

pub(crate) fn sample<R: Rng + ?Sized>(n: usize, noise: f64, rng: &mut R) -> Points {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut pts = Vec::with_capacity(n);
    pts.extend(
        linspace(0.0, PI, n_out, true)
            .into_iter()
            .map(|t| [t.cos(), t.sin()]),
    );
    pts.extend(
        linspace(0.0, PI, n_in, true)
            .into_iter()
            .map(|t| [1.0 - t.cos(), 1.0 - t.sin() - 0.5]),
    );
    fisher_yates(&mut pts, rng);
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}

/// Evaluation reference points: each point on a moon picked at random, at a uniform arc
/// parameter `t ~ U[0, pi)` (the distribution `sample`'s even layout stands for).
pub(crate) fn sample_iid<R: Rng + ?Sized>(n: usize, noise: f64, rng: &mut R) -> Points {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            let t = PI * uniform(rng);
            match rng.random::<bool>() {
                false => [t.cos(), t.sin()],
                true => [1.0 - t.cos(), 1.0 - t.sin() - 0.5],
            }
        })
        .collect();
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}
