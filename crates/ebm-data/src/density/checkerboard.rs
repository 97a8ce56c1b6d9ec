//! The checkerboard: uniform on the black unit squares inside `[-L, L)²`, then N(0, σ²) per
//! coordinate. Each square seen through the noise is a product of two smoothed intervals.

use super::quadrature::smoothed_uniform;
use crate::toy::checkerboard::is_black;

/// The black squares' area inside `[-L, L)²` (squares cut by the border count their part).
pub(crate) fn black_area(range_limit: f64) -> f64 {
    let l = range_limit;
    let (first, last) = ((-l).floor() as i64, l.ceil() as i64 - 1);
    let mut area = 0.0;
    for i in first..=last {
        for j in first..=last {
            if is_black(i as f64, j as f64) {
                let w = (i as f64 + 1.0).min(l) - (i as f64).max(-l);
                let h = (j as f64 + 1.0).min(l) - (j as f64).max(-l);
                area += w.max(0.0) * h.max(0.0);
            }
        }
    }
    area
}

/// p(x), given the black area from [`black_area`]. Only squares within 10σ of x contribute.
pub(crate) fn density(x: [f64; 2], range_limit: f64, sigma: f64, area: f64) -> f64 {
    let l = range_limit;
    let reach = 10.0 * sigma;
    let cells = |c: f64| {
        let lo = (c - reach).max(-l).floor() as i64;
        let hi = (c + reach).min(l).floor() as i64;
        lo..=hi
    };
    let mut sum = 0.0;
    for i in cells(x[0]) {
        for j in cells(x[1]) {
            if !is_black(i as f64, j as f64) {
                continue;
            }
            let (x0, x1) = ((i as f64).max(-l), (i as f64 + 1.0).min(l));
            let (y0, y1) = ((j as f64).max(-l), (j as f64 + 1.0).min(l));
            // smoothed_uniform divides by the side; multiply back to get the square's mass.
            sum += smoothed_uniform(x[0], x0, x1, sigma)
                * (x1 - x0).max(0.0)
                * smoothed_uniform(x[1], y0, y1, sigma)
                * (y1 - y0).max(0.0);
        }
    }
    sum / area
}
