//! A 2-D Swiss roll (an Archimedean spiral band).
//!
//! Follows TorchEBM `SwissRollDataset`: `t = arclength * pi * (1 + 2 U)`, point
//! `(t cos t, t sin t) + N(0, noise^2)`, then centred and divided by `std_x + std_y` (TorchEBM's
//! `(X - mean) / (std.mean() * 2)`). TorchEBM takes mean and std from the sample it just drew;
//! we use their exact population values (closed form below), which is what the sample values
//! converge to, so a training set and an evaluation set of any size share one geometry and a
//! single point is as well-defined as a thousand.

use super::{normal, uniform};
use crate::points::Points;
use rand::Rng;
use std::f64::consts::PI;

/// The fixed affine map applied after the noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Normalisation {
    pub mean: [f64; 2],
    /// `std_x + std_y` of the noisy, unnormalised distribution.
    pub scale: f64,
}

/// Range of `t`: `[arclength * pi, 3 * arclength * pi]`.
pub(crate) fn t_range(arclength: f64) -> (f64, f64) {
    (arclength * PI, 3.0 * arclength * PI)
}

/// Population mean and `std_x + std_y` for `t ~ U[lo, hi]`, from the antiderivatives
/// `∫ t cos t = t sin t + cos t`, `∫ t sin t = sin t - t cos t` and
/// `∫ t² cos² t = t³/6 + g(t)/2`, `∫ t² sin² t = t³/6 - g(t)/2` with
/// `g = t² sin 2t / 2 + t cos 2t / 2 - sin 2t / 4`. `None` if the result is degenerate
/// (zero spread or overflow), which validation reports.
pub(crate) fn normalisation(arclength: f64, noise: f64) -> Option<Normalisation> {
    let (lo, hi) = t_range(arclength);
    let width = hi - lo;
    let between = |f: &dyn Fn(f64) -> f64| (f(hi) - f(lo)) / width;
    let g = |t: f64| {
        let s2 = (2.0 * t).sin();
        t * t * s2 / 2.0 + t * (2.0 * t).cos() / 2.0 - s2 / 4.0
    };
    let mean_x = between(&|t| t * t.sin() + t.cos());
    let mean_y = between(&|t| t.sin() - t * t.cos());
    let sq_x = between(&|t| t.powi(3) / 6.0 + g(t) / 2.0);
    let sq_y = between(&|t| t.powi(3) / 6.0 - g(t) / 2.0);
    let var_x = sq_x - mean_x * mean_x + noise * noise;
    let var_y = sq_y - mean_y * mean_y + noise * noise;
    let scale = var_x.max(0.0).sqrt() + var_y.max(0.0).sqrt();
    let ok = scale.is_finite() && scale > 0.0 && mean_x.is_finite() && mean_y.is_finite();
    ok.then_some(Normalisation {
        mean: [mean_x, mean_y],
        scale,
    })
}

pub(crate) fn sample<R: Rng + ?Sized>(
    n: usize,
    noise: f64,
    arclength: f64,
    norm: Normalisation,
    rng: &mut R,
) -> Points {
    let (lo, hi) = t_range(arclength);
    let ts: Vec<f64> = (0..n).map(|_| lo + (hi - lo) * uniform(rng)).collect();
    let pts: Vec<[f64; 2]> = ts
        .into_iter()
        .map(|t| {
            let x = t * t.cos() + noise * normal(rng);
            let y = t * t.sin() + noise * normal(rng);
            [
                (x - norm.mean[0]) / norm.scale,
                (y - norm.mean[1]) / norm.scale,
            ]
        })
        .collect();
    Points::from_pairs(&pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form against a midpoint-rule integral, so a sign slip in an antiderivative
    /// cannot hide behind a loose statistical test.
    #[test]
    fn closed_form_matches_quadrature() {
        for arclength in [0.5, 1.0, 3.0] {
            let norm = normalisation(arclength, 0.1).expect("non-degenerate");
            let (lo, hi) = t_range(arclength);
            let m = 200_000;
            let h = (hi - lo) / m as f64;
            let (mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0);
            for i in 0..m {
                let t = lo + (i as f64 + 0.5) * h;
                let (x, y) = (t * t.cos(), t * t.sin());
                sx += x;
                sy += y;
                sxx += x * x;
                syy += y * y;
            }
            let mf = m as f64;
            let (mx, my) = (sx / mf, sy / mf);
            let sd_x = (sxx / mf - mx * mx + 0.01).sqrt();
            let sd_y = (syy / mf - my * my + 0.01).sqrt();
            assert!((norm.mean[0] - mx).abs() < 1e-6, "{arclength}");
            assert!((norm.mean[1] - my).abs() < 1e-6, "{arclength}");
            assert!((norm.scale - (sd_x + sd_y)).abs() < 1e-6, "{arclength}");
        }
    }

    /// Without noise, undoing the normalisation gives back `t (cos t, sin t)` with `t` in range.
    #[test]
    fn noiseless_points_lie_on_the_spiral() {
        use rand::SeedableRng;
        let arclength = 3.0;
        let norm = normalisation(arclength, 0.0).expect("non-degenerate");
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let pts = sample(2000, 0.0, arclength, norm, &mut rng);
        let (lo, hi) = t_range(arclength);
        for row in pts.rows() {
            let x = row[0] as f64 * norm.scale + norm.mean[0];
            let y = row[1] as f64 * norm.scale + norm.mean[1];
            let t = x.hypot(y);
            assert!(t > lo - 1e-3 && t < hi + 1e-3, "{t}");
            assert!((x - t * t.cos()).abs() < 1e-3 && (y - t * t.sin()).abs() < 1e-3);
        }
    }
}
