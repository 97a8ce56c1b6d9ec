//! The generators, one file each. They trust their parameters: [`crate::DataConfig::sample`]
//! validates first, which is why this module is private. All compute in f64 and store f32.

pub(crate) mod checkerboard;
pub(crate) mod circles;
pub(crate) mod eight_gaussians;
pub(crate) mod gaussian_mixture;
pub(crate) mod pinwheel;
pub(crate) mod swiss_roll;
pub(crate) mod two_moons;
pub(crate) mod two_spirals;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// One draw from N(0, 1).
pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// One draw from U[0, 1), like numpy's `random.rand`.
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}

/// Adds N(0, std^2) to every coordinate, x then y for each point in order (sklearn's
/// `X += normal(scale=noise, size=X.shape)`). Always draws, even for std 0, so the number of
/// draws does not depend on the value.
pub(crate) fn add_noise<R: Rng + ?Sized>(pts: &mut [[f64; 2]], std: f64, rng: &mut R) {
    for p in pts.iter_mut() {
        p[0] += std * normal(rng);
        p[1] += std * normal(rng);
    }
}

/// numpy's `linspace(start, stop, num, endpoint)`, value for value: `i * step + start`, and with
/// `endpoint` the last value is exactly `stop` (so moons end exactly at x = -1 and x = 2).
pub(crate) fn linspace(start: f64, stop: f64, num: usize, endpoint: bool) -> Vec<f64> {
    let div = if endpoint { num.saturating_sub(1) } else { num };
    if div == 0 {
        // numpy returns `[start]` for num = 1 and `[]` for num = 0.
        return vec![start; num];
    }
    let step = (stop - start) / div as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if endpoint {
        if let Some(last) = v.last_mut() {
            *last = stop;
        }
    }
    v
}

/// Points per component when `n` is split as evenly as possible over `k`, the first `n % k`
/// components getting one extra (TorchEBM's stratified mixtures).
pub(crate) fn stratified(n: usize, k: usize) -> impl Iterator<Item = usize> {
    (0..k).map(move |i| n / k + usize::from(i < n % k))
}

/// `n` points of the equal-weight Gaussian mixture on `centres`, each point's component drawn
/// uniformly, then N(0, std^2) per coordinate.
pub(crate) fn iid_mixture<R: Rng + ?Sized>(
    centres: &[[f64; 2]],
    n: usize,
    std: f64,
    rng: &mut R,
) -> crate::Points {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|_| centres[rng.random_range(0..centres.len())])
        .collect();
    add_noise(&mut pts, std, rng);
    crate::Points::from_pairs(&pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy() {
        assert_eq!(linspace(0.0, 1.0, 5, true), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(0.0, 1.0, 4, false), vec![0.0, 0.25, 0.5, 0.75]);
        assert_eq!(linspace(2.0, 3.0, 1, true), vec![2.0]);
        assert!(linspace(2.0, 3.0, 0, true).is_empty());
    }

    #[test]
    fn stratified_counts_sum_to_n() {
        let counts: Vec<usize> = stratified(10, 4).collect();
        assert_eq!(counts, vec![3, 3, 2, 2]);
        assert_eq!(stratified(3, 5).sum::<usize>(), 3);
    }
}
