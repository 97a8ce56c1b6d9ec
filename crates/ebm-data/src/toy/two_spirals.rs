//! Two interleaved spirals, each the point reflection of the other.
//!
//! Follows FFJORD's "2spirals" toy (`lib/toy_data.py`; not in TorchEBM):
//! `s = sqrt(U) * 540 * 2 pi / 360`, `d1 = (-cos(s) s + 0.5 U1, sin(s) s + 0.5 U2)`, points
//! `concat(d1, -d1) / 3 + N(0, noise^2)` (FFJORD's noise is 0.1). FFJORD returns `2 * (n / 2)`
//! points; we draw `ceil(n / 2)` base points and reflect the first `n / 2`, so exactly `n`.

use super::{add_noise, uniform};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::TAU;

/// Largest spiral parameter: 540 degrees, i.e. one and a half turns.
pub(crate) const MAX_TURN: f64 = 540.0 * TAU / 360.0;

pub(crate) fn sample<R: Rng + ?Sized>(n: usize, noise: f64, rng: &mut R) -> Points {
    let n_base = n - n / 2;
    let base: Vec<[f64; 2]> = (0..n_base)
        .map(|_| {
            let s = uniform(rng).sqrt() * MAX_TURN;
            let x = -s.cos() * s + uniform(rng) * 0.5;
            let y = s.sin() * s + uniform(rng) * 0.5;
            [x / 3.0, y / 3.0]
        })
        .collect();
    let mut pts = Vec::with_capacity(n);
    pts.extend_from_slice(&base);
    pts.extend(base.iter().take(n / 2).map(|&[x, y]| [-x, -y]));
    fisher_yates(&mut pts, rng);
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}

/// Evaluation reference points: each point reflected with probability 1/2 (not exactly half).
pub(crate) fn sample_iid<R: Rng + ?Sized>(n: usize, noise: f64, rng: &mut R) -> Points {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            let s = uniform(rng).sqrt() * MAX_TURN;
            let x = (-s.cos() * s + uniform(rng) * 0.5) / 3.0;
            let y = (s.sin() * s + uniform(rng) * 0.5) / 3.0;
            match rng.random::<bool>() {
                false => [x, y],
                true => [-x, -y],
            }
        })
        .collect();
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}
