//! A viridis-like colormap: perceptually ordered, dark purple (0) to yellow (1),
//! so brightness alone tells high density from low.

use plotters::style::RGBColor;

/// matplotlib's viridis sampled at nine evenly spaced stops; linear
/// interpolation between them is visually indistinguishable from the full table.
const STOPS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (72, 40, 120),
    (62, 73, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (110, 206, 88),
    (253, 231, 37),
];

/// Colour for `t` in [0, 1]; values outside are clamped and NaN maps to 0.
pub(crate) fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let scaled = t * (STOPS.len() - 1) as f64;
    // Truncation is the floor here because `scaled` is non-negative.
    let i = (scaled as usize).min(STOPS.len() - 2);
    let f = scaled - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(c: RGBColor) -> f64 {
        0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2)
    }

    #[test]
    fn endpoints_and_clamping() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }

    #[test]
    fn brightness_increases() {
        let lumas: Vec<f64> = (0..=20)
            .map(|k| luma(viridis(f64::from(k) / 20.0)))
            .collect();
        assert!(lumas.windows(2).all(|w| w[1] > w[0]), "{lumas:?}");
    }
}
