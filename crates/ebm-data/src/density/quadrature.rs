//! The one-dimensional rules the densities integrate with, and the Gaussian pieces they share.

use std::f64::consts::{PI, SQRT_2};

/// Composite Simpson's rule of `f` over `[lo, hi]` with steps no longer than `max_step`
/// (an even number of them, at least two). Exact for cubics; for the smooth integrands here
/// (Gaussians of width w, steps ≤ w/4) the relative error is below 1e-5.
pub(crate) fn simpson(lo: f64, hi: f64, max_step: f64, f: impl Fn(f64) -> f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    let mut n = ((hi - lo) / max_step).ceil().max(2.0) as usize;
    n += n % 2;
    let h = (hi - lo) / n as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(lo + i as f64 * h);
    }
    sum * h / 3.0
}

/// Trapezoid rule of `f` over `[lo, hi]` with steps no longer than `max_step`. For an integrand
/// that is periodic over the interval, or negligible at both ends, it converges faster than any
/// power of the step (the error of a Gaussian of width w at step w/2 is ~e^(-79)).
pub(crate) fn trapezoid(lo: f64, hi: f64, max_step: f64, f: impl Fn(f64) -> f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    let n = ((hi - lo) / max_step).ceil().max(1.0) as usize;
    let h = (hi - lo) / n as f64;
    let mut sum = 0.5 * (f(lo) + f(hi));
    for i in 1..n {
        sum += f(lo + i as f64 * h);
    }
    sum * h
}

/// The isotropic 2-D normal density N(d; 0, σ²I) at offset `d`.
pub(crate) fn normal_2d(d: [f64; 2], sigma: f64) -> f64 {
    let s2 = sigma * sigma;
    (-(d[0] * d[0] + d[1] * d[1]) / (2.0 * s2)).exp() / (2.0 * PI * s2)
}

/// The 1-D normal density N(z; 0, σ²).
pub(crate) fn normal_1d(z: f64, sigma: f64) -> f64 {
    (-(z * z) / (2.0 * sigma * sigma)).exp() / (sigma * (2.0 * PI).sqrt())
}

/// P(lo < Z < hi) for a standard normal Z, without the cancellation of Φ(hi) − Φ(lo) in the
/// tails (each side through erfc).
pub(crate) fn normal_interval(lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    let upper = |z: f64| 0.5 * libm::erfc(z / SQRT_2); // P(Z > z)
    if lo >= 0.0 {
        upper(lo) - upper(hi)
    } else if hi <= 0.0 {
        upper(-hi) - upper(-lo)
    } else {
        1.0 - upper(hi) - upper(-lo)
    }
}

/// The density at `x` of `u + ε`, `u` uniform on `[lo, hi]` and ε ~ N(0, σ²): the mass of the
/// interval seen through the noise, divided by its length. σ = 0 gives the uniform density.
pub(crate) fn smoothed_uniform(x: f64, lo: f64, hi: f64, sigma: f64) -> f64 {
    let width = hi - lo;
    if width <= 0.0 {
        return 0.0;
    }
    if sigma == 0.0 {
        return if (lo..hi).contains(&x) {
            1.0 / width
        } else {
            0.0
        };
    }
    normal_interval((x - hi) / sigma, (x - lo) / sigma) / width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_a_gaussian() {
        let exact = 1.0;
        let s = simpson(-8.0, 8.0, 0.25, |z| normal_1d(z, 1.0));
        let t = trapezoid(-8.0, 8.0, 0.5, |z| normal_1d(z, 1.0));
        assert!((s - exact).abs() < 1e-6, "{s}");
        assert!((t - exact).abs() < 1e-12, "{t}");
        assert_eq!(simpson(1.0, 1.0, 0.1, |_| 1.0), 0.0);
    }

    #[test]
    fn normal_interval_is_accurate_in_both_tails() {
        // P(8 < Z < 9) = 6.2210e-16 - 1.1286e-19 (erfc tables).
        let p = normal_interval(8.0, 9.0);
        assert!((p / 6.2198e-16 - 1.0).abs() < 1e-3, "{p}");
        assert!((normal_interval(-9.0, -8.0) - p).abs() < 1e-30);
        assert!((normal_interval(-1.0, 1.0) - 0.682_689_492_137_085_9).abs() < 1e-12);
        assert_eq!(normal_interval(1.0, 1.0), 0.0);
    }

    #[test]
    fn smoothed_uniform_integrates_to_one() {
        for sigma in [0.0, 0.05, 0.5] {
            let total = simpson(-5.0, 6.0, 0.001, |x| smoothed_uniform(x, 0.0, 1.0, sigma));
            assert!((total - 1.0).abs() < 1e-3, "{sigma}: {total}");
        }
    }
}
