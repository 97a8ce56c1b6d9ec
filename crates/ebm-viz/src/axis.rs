//! Axis ranges that never degenerate, and compact tick labels.
//!
//! plotters misbehaves on empty or zero-width ranges, and its log axis draws no
//! ticks at all unless the range contains a power of ten, so every range is
//! computed here from the finite data with explicit fallbacks.

use std::ops::Range;

/// Beyond this magnitude the span of a range could overflow to infinity.
const HUGE: f64 = f64::MAX / 4.0;

/// Smallest range covering all `values` (non-finite ones ignored), widened by
/// `pad` of its span on each side; empty or single-valued input gets a sane width.
pub(crate) fn linear_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Range<f64> {
    let Some((lo, hi)) = finite_extent(values) else {
        return 0.0..1.0;
    };
    let (lo, hi) = (lo.max(-HUGE), hi.min(HUGE));
    if lo == hi {
        // A flat line in the middle of the plot reads better than on its edge.
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return lo - half..hi + half;
    }
    let margin = (hi - lo) * pad;
    (lo - margin).max(-HUGE)..(hi + margin).min(HUGE)
}

/// Range for a log axis covering the positive finite `values`, extended to whole
/// decades so that plotters has at least one power of ten to label.
pub(crate) fn log_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let positive = values.into_iter().filter(|v| *v > 0.0);
    let (lo_exp, hi_exp) = match finite_extent(positive) {
        None => (0.0, 1.0),
        Some((lo, hi)) => {
            let lo_exp = lo.log10().floor().max(-300.0);
            let hi_exp = hi.log10().ceil().min(300.0);
            (lo_exp, hi_exp.max(lo_exp + 1.0))
        }
    };
    // plotters finds the first labelled decade by `ceil(log10(start))`, where
    // rounding can turn an exact 0.01 into the next decade up; a hair of slack
    // on both ends keeps the end decades labelled.
    10f64.powf(lo_exp) * (1.0 - SLACK)..10f64.powf(hi_exp) * (1.0 + SLACK)
}

/// Relative widening of log ranges, far below one pixel.
const SLACK: f64 = 1e-9;

fn finite_extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Short tick label: plain decimals for ordinary magnitudes, `1.5e-5` style
/// otherwise, never float noise such as `0.30000000000000004`.
pub(crate) fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            v.to_string()
        };
    }
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    // Four significant digits are plenty for a tick and keep labels narrow.
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_ranges_have_width() {
        assert_eq!(linear_range([], 0.05), 0.0..1.0);
        assert_eq!(linear_range([f64::NAN, f64::INFINITY], 0.05), 0.0..1.0);
        let r = linear_range([3.0, 3.0], 0.05);
        assert!(r.start < 3.0 && r.end > 3.0);
        let r = linear_range([0.0], 0.05);
        assert!(r.start < 0.0 && r.end > 0.0);
        let r = linear_range([-f64::MAX, f64::MAX], 0.05);
        assert!((r.end - r.start).is_finite() && r.start < r.end);
    }

    #[test]
    fn log_range_spans_whole_decades() {
        let close = |r: Range<f64>, lo: f64, hi: f64| {
            (r.start / lo - 1.0).abs() < 1e-6 && (r.end / hi - 1.0).abs() < 1e-6
        };
        assert!(close(log_range([2.0, 8.0]), 1.0, 10.0));
        assert!(close(log_range([0.05, 300.0, -1.0, 0.0]), 0.01, 1000.0));
        assert!(close(log_range([1.0]), 1.0, 10.0));
        assert!(close(log_range([-1.0, f64::NAN]), 1.0, 10.0));
        let r = log_range([0.01, 10.0]);
        assert!(r.start <= 0.01 && r.end >= 10.0);
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(format_tick(0.30000000000000004), "0.3");
        assert_eq!(format_tick(1500.0), "1500");
        assert_eq!(format_tick(-2.5), "-2.5");
        assert_eq!(format_tick(0.0), "0");
        assert_eq!(format_tick(1e-5), "1e-5");
        assert_eq!(format_tick(2.5e7), "2.5e7");
    }
}
