//! Two concentric circles.
//!
//! Follows scikit-learn `make_circles`: the outer circle gets `n / 2` points and the inner the rest,
//! each at evenly spaced angles `linspace(0, 2 pi, m, endpoint=False)`; the inner radius is
//! `factor` times the outer. TorchEBM's `CircleDataset` contributes the `radius` of the outer
//! circle (sklearn's is 1). Rows are shuffled, then N(0, noise^2) is added to every coordinate.

use super::{add_noise, linspace, uniform};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::TAU;

pub(crate) fn sample<R: Rng + ?Sized>(
    n: usize,
    noise: f64,
    factor: f64,
    radius: f64,
    rng: &mut R,
) -> Points {
    let n_out = n / 2;
    let n_in = n - n_out;
    let ring = |m: usize, r: f64| {
        linspace(0.0, TAU, m, false)
            .into_iter()
            .map(move |t| [r * t.cos(), r * t.sin()])
    };
    let mut pts: Vec<[f64; 2]> = ring(n_out, radius)
        .chain(ring(n_in, radius * factor))
        .collect();
    fisher_yates(&mut pts, rng);
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}

/// Evaluation reference points: each point on the outer or inner circle with probability 1/2,
/// at a uniform angle (the distribution `sample`'s even layout stands for).
pub(crate) fn sample_iid<R: Rng + ?Sized>(
    n: usize,
    noise: f64,
    factor: f64,
    radius: f64,
    rng: &mut R,
) -> Points {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            let t = TAU * uniform(rng);
            let r = if rng.random::<bool>() {
                radius
            } else {
                radius * factor
            };
            [r * t.cos(), r * t.sin()]
        })
        .collect();
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}
