//! A checkerboard of unit squares.
//!
//! Follows TorchEBM `CheckerboardDataset`: rejection sampling of `U[-L, L)^2` (L = `range_limit`),
//! keeping points where `floor(x) + floor(y)` is odd, then N(0, noise^2) per coordinate. Any
//! `L > 0` leaves a positive kept area next to the origin (the square `[-1, 0) x [0, 1)`), so the
//! loop ends; on average it takes about two tries per point.

use super::{add_noise, uniform};
use crate::points::Points;
use rand::Rng;

/// Whether `(x, y)` lies on a kept ("black") square.
pub(crate) fn is_black(x: f64, y: f64) -> bool {
    // rem_euclid, not %, because Python's modulo of a negative sum is non-negative.
    (x.floor() + y.floor()).rem_euclid(2.0) != 0.0
}

pub(crate) fn sample<R: Rng + ?Sized>(
    n: usize,
    range_limit: f64,
    noise: f64,
    rng: &mut R,
) -> Points {
    let mut pts = Vec::with_capacity(n);
    while pts.len() < n {
        // numpy's uniform(low, high) is low + (high - low) * U[0, 1).
        let x = -range_limit + 2.0 * range_limit * uniform(rng);
        let y = -range_limit + 2.0 * range_limit * uniform(rng);
        if is_black(x, y) {
            pts.push([x, y]);
        }
    }
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}
