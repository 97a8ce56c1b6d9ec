//! FFJORD's two spirals. A base point is b(s) + u with s = √U·M (density 2s/M² on [0, M]),
//! b(s) = (−s cos s, s sin s)/3 and u uniform on the square [0, 1/6]²; it is reflected through
//! the origin with probability ½, then N(0, σ²I) is added. The square seen through the noise is
//! a product of smoothed intervals, leaving one integral over s:
//! p(x) = ½ (q(x) + q(−x)), q(x) = ∫ (2s/M²) Πₐ f(xₐ − bₐ(s)) ds, f the smoothed uniform on [0, 1/6].

use super::quadrature::{simpson, smoothed_uniform};
use crate::toy::two_spirals::MAX_TURN;

/// Side of the uniform square (FFJORD's 0.5, divided by 3 with the rest).
const SIDE: f64 = 0.5 / 3.0;

fn one_arm(x: [f64; 2], sigma: f64) -> f64 {
    let m = MAX_TURN;
    // |b'(s)| ≤ √(1 + M²)/3; the integrand varies on the scale of σ (and of the square's side).
    let speed = (1.0 + m * m).sqrt() / 3.0;
    let step = sigma.min(SIDE) / (4.0 * speed);
    simpson(0.0, m, step, |s| {
        let (bx, by) = (-s * s.cos() / 3.0, s * s.sin() / 3.0);
        2.0 * s / (m * m)
            * smoothed_uniform(x[0] - bx, 0.0, SIDE, sigma)
            * smoothed_uniform(x[1] - by, 0.0, SIDE, sigma)
    })
}

pub(crate) fn density(x: [f64; 2], sigma: f64) -> f64 {
    0.5 * (one_arm(x, sigma) + one_arm([-x[0], -x[1]], sigma))
}
