//! The pinwheel. Before the Cartesian noise a point has radius r = R·t with t = √U (density
//! 2r/R² on [0, R]) and angle θ = 2πk/K + S·r/R + φ, φ ~ N(0, a²): in the plane that is the
//! closed form p₀(r, θ) = (2/R²)·(1/K)·Σₖ WN_a(θ − 2πk/K − S·r/R) for r ≤ R (the Jacobian 1/r
//! cancels the radial density's r), WN the wrapped normal. The noise N(0, σ²I) blurs it:
//! p(x) = ∫₀^R ∫ p₀(r, θ) N(x − r e^{iθ}; σ²) r dθ dr, integrated in polar coordinates so the
//! disk's edge r = R is an integration limit rather than a jump inside a grid cell.

use super::quadrature::{normal_1d, normal_2d, simpson, trapezoid};
use crate::toy::pinwheel::Blades;
use std::f64::consts::{PI, TAU};

/// Pinwheel parameters, as the generator reads them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub n_classes: usize,
    pub blades: Blades,
    pub noise: f64,
}

/// The wrapped normal density of angle `d` with standard deviation `a`.
fn wrapped_normal(d: f64, a: f64) -> f64 {
    let d = d.rem_euclid(TAU);
    let d = if d > PI { d - TAU } else { d };
    // Images beyond 10a of zero add less than e^-50 of the total.
    let wraps = (10.0 * a / TAU).ceil() as i64;
    (-wraps..=wraps)
        .map(|j| d + TAU * j as f64)
        .filter(|z| z.abs() <= 10.0 * a)
        .map(|z| normal_1d(z, a))
        .sum()
}

/// p₀ at polar (r, θ): the density before the Cartesian noise.
fn noiseless(r: f64, theta: f64, s: &Shape) -> f64 {
    let b = s.blades;
    if r > b.radial_scale {
        return 0.0;
    }
    let k = s.n_classes as f64;
    let blades: f64 = (0..s.n_classes)
        .map(|i| {
            let centre = TAU * i as f64 / k + b.spiral_scale * r / b.radial_scale;
            wrapped_normal(theta - centre, b.angular_scale)
        })
        .sum();
    2.0 / (b.radial_scale * b.radial_scale) * blades / k
}

pub(crate) fn density(x: [f64; 2], s: &Shape) -> f64 {
    let b = s.blades;
    let rho = x[0].hypot(x[1]);
    if s.noise == 0.0 {
        return noiseless(rho, x[1].atan2(x[0]), s);
    }
    let sigma = s.noise;
    let psi = x[1].atan2(x[0]);
    // Radially the integrand varies on the scale of σ and of a·R/S (the blade's angular width
    // turned into radius by the spiral); steps of a quarter of the smaller.
    let radial_scale =
        sigma.min(b.angular_scale * b.radial_scale / b.spiral_scale.abs().max(1e-12));
    let (r_lo, r_hi) = (
        (rho - 10.0 * sigma).max(0.0),
        (rho + 10.0 * sigma).min(b.radial_scale),
    );
    simpson(r_lo, r_hi, radial_scale / 2.0, |r| {
        // In θ the noise is a bump of width σ/√(ρr) around x's angle; the blades vary on a.
        let width = sigma / (rho * r).sqrt().max(1e-12);
        let half = (10.0 * width).min(PI);
        let step = width.min(b.angular_scale) / 2.0;
        r * trapezoid(psi - half, psi + half, step, |theta| {
            let y = [r * theta.cos(), r * theta.sin()];
            noiseless(r, theta, s) * normal_2d([x[0] - y[0], x[1] - y[1]], sigma)
        })
    })
}
