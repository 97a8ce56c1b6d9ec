//! A pinwheel of curved blades.
//!
//! Follows TorchEBM `PinwheelDataset`: for blade `k` of `n_classes` (equal shares, the first
//! `n % n_classes` one extra), `t = sqrt(U)`, radius `t * radial_scale`, angle
//! `2 pi k / n_classes + spiral_scale * t + N(0, angular_scale^2)`; rows shuffled, then
//! N(0, noise^2) per Cartesian coordinate.

use super::{add_noise, normal, stratified, uniform};
use crate::points::Points;
use crate::shuffle::fisher_yates;
use rand::Rng;
use std::f64::consts::TAU;

/// The blade shape; `n_classes` and the final noise are passed separately.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blades {
    pub radial_scale: f64,
    pub angular_scale: f64,
    pub spiral_scale: f64,
}

/// One point of blade `k` before the Cartesian noise: t = √U, radius t·R, angle
/// 2πk/K + S·t + N(0, a²) (draws U, then the angle's normal).
fn blade_point<R: Rng + ?Sized>(
    k: usize,
    n_classes: usize,
    blades: Blades,
    rng: &mut R,
) -> [f64; 2] {
    let t = uniform(rng).sqrt();
    let r = t * blades.radial_scale;
    let theta = k as f64 * (TAU / n_classes as f64)
        + blades.spiral_scale * t
        + normal(rng) * blades.angular_scale;
    [r * theta.cos(), r * theta.sin()]
}

pub(crate) fn sample<R: Rng + ?Sized>(
    n: usize,
    n_classes: usize,
    noise: f64,
    blades: Blades,
    rng: &mut R,
) -> Points {
    let mut pts = Vec::with_capacity(n);
    for (k, count) in stratified(n, n_classes).enumerate() {
        for _ in 0..count {
            pts.push(blade_point(k, n_classes, blades, rng));
        }
    }
    fisher_yates(&mut pts, rng);
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}

/// Evaluation reference points: each point's blade drawn uniformly (not in equal shares).
pub(crate) fn sample_iid<R: Rng + ?Sized>(
    n: usize,
    n_classes: usize,
    noise: f64,
    blades: Blades,
    rng: &mut R,
) -> Points {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            let k = rng.random_range(0..n_classes);
            blade_point(k, n_classes, blades, rng)
        })
        .collect();
    add_noise(&mut pts, noise, rng);
    Points::from_pairs(&pts)
}
