//! The "8 Gaussians" of the EBM / flow literature.
//!
//! Follows TorchEBM `EightGaussiansDataset`: centres at the compass points and diagonals of the
//! circle of radius `scale`, in its order `(1,0), (-1,0), (0,1), (0,-1)` then the four diagonals;
//! each centre gets an equal share of the points (the first `n % 8` one extra), plus
//! N(0, std^2) per coordinate; rows are shuffled at the end.

use super::{add_noise, stratified};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::FRAC_1_SQRT_2 as H;

/// Unit-radius centres in TorchEBM's order.
const CENTRES: [[f64; 2]; 8] = [
    [1.0, 0.0],
    [-1.0, 0.0],
    [0.0, 1.0],
    [0.0, -1.0],
    [H, H],
    [H, -H],
    [-H, H],
    [-H, -H],
];

pub(crate) fn sample<R: Rng + ?Sized>(n: usize, std: f64, scale: f64, rng: &mut R) -> Points {
    let mut pts = Vec::with_capacity(n);
    for (c, count) in CENTRES.iter().zip(stratified(n, CENTRES.len())) {
        pts.extend(std::iter::repeat_n([c[0] * scale, c[1] * scale], count));
    }
    add_noise(&mut pts, std, rng);
    fisher_yates(&mut pts, rng);
    Points::from_pairs(&pts)
}

/// Evaluation reference points: each point's centre drawn uniformly (not in equal shares).
pub(crate) fn sample_iid<R: Rng + ?Sized>(n: usize, std: f64, scale: f64, rng: &mut R) -> Points {
    super::iid_mixture(&centres(scale), n, std, rng)
}

/// The centres at radius `scale`, for the density.
pub(crate) fn centres(scale: f64) -> Vec<[f64; 2]> {
    CENTRES
        .iter()
        .map(|c| [c[0] * scale, c[1] * scale])
        .collect()
}
