//! Densities of a curve blurred by Gaussian noise: x = γ(t) + ε with the latent t uniform on an
//! interval and ε ~ N(0, σ²I), so p(x) = ∫ N(x − γ(t); 0, σ²I) dt / (t₁ − t₀). Two moons, the
//! circles and the Swiss roll are mixtures of such curves.

use super::quadrature::{normal_2d, simpson};
use std::f64::consts::{PI, TAU};

/// Steps along the curve no longer than σ/8 of arc: the integrand is a Gaussian of width σ in
/// arc length, which Simpson's rule then integrates to ~1e-7.
const STEPS_PER_SIGMA: f64 = 8.0;

/// The average over t ∈ [t0, t1] of N(x − γ(t)), integrating only over `[lo, hi]` ⊂ [t0, t1]
/// (the caller's window outside which the curve is farther than 10σ from x). `speed` bounds
/// |γ'(t)| on the window.
fn blurred_curve(
    x: [f64; 2],
    (t0, t1): (f64, f64),
    (lo, hi): (f64, f64),
    speed: f64,
    sigma: f64,
    gamma: impl Fn(f64) -> [f64; 2],
) -> f64 {
    let step = sigma / (STEPS_PER_SIGMA * speed.max(1e-12));
    let integral = simpson(lo.max(t0), hi.min(t1), step, |t| {
        let g = gamma(t);
        normal_2d([x[0] - g[0], x[1] - g[1]], sigma)
    });
    integral / (t1 - t0)
}

/// scikit-learn's two moons: each moon with probability ½, t ~ U[0, π].
pub(crate) fn two_moons(x: [f64; 2], sigma: f64) -> f64 {
    let outer = blurred_curve(x, (0.0, PI), (0.0, PI), 1.0, sigma, |t| [t.cos(), t.sin()]);
    let inner = blurred_curve(x, (0.0, PI), (0.0, PI), 1.0, sigma, |t| {
        [1.0 - t.cos(), 0.5 - t.sin()]
    });
    0.5 * (outer + inner)
}

/// scikit-learn's circles: radius `radius` or `factor · radius` with probability ½ each, at a
/// uniform angle.
pub(crate) fn circles(x: [f64; 2], sigma: f64, factor: f64, radius: f64) -> f64 {
    let ring = |r: f64| {
        blurred_curve(x, (0.0, TAU), (0.0, TAU), r, sigma, |t| {
            [r * t.cos(), r * t.sin()]
        })
    };
    0.5 * (ring(radius) + ring(radius * factor))
}

/// The raw (unnormalised) Swiss roll t (cos t, sin t) with t ~ U[t0, t1]. |γ(t)| = t, so only
/// t within 10σ of |x| can contribute: the window.
pub(crate) fn swiss_roll_raw(x: [f64; 2], sigma: f64, (t0, t1): (f64, f64)) -> f64 {
    let rho = x[0].hypot(x[1]);
    let (lo, hi) = (rho - 10.0 * sigma, rho + 10.0 * sigma);
    let speed = (1.0 + t1 * t1).sqrt();
    blurred_curve(x, (t0, t1), (lo, hi), speed, sigma, |t| {
        [t * t.cos(), t * t.sin()]
    })
}
