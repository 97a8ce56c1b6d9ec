//! Two moons must equal scikit-learn's `make_moons` geometry.

use crate::{draw, pairs};
use ebm_data::{DataConfig, TwoMoons};

fn moons(noise: f64) -> DataConfig {
    DataConfig::TwoMoons(TwoMoons {
        n_samples: 2000,
        noise,
    })
}

fn extent(pts: &[[f64; 2]]) -> [f64; 4] {
    pts.iter().fold(
        [f64::MAX, f64::MIN, f64::MAX, f64::MIN],
        |[a, b, c, d], p| [a.min(p[0]), b.max(p[0]), c.min(p[1]), d.max(p[1])],
    )
}

#[test]
fn noiseless_points_lie_on_the_two_arcs() {
    let pts = pairs(&draw(&moons(0.0), 2001, 0));
    let (mut outer, mut inner) = (0, 0);
    for &[x, y] in &pts {
        // Outer: unit circle, upper half. Inner: unit circle around (1, 0.5), lower half.
        let on_outer = (x * x + y * y - 1.0).abs() < 1e-5 && y >= -1e-6;
        let on_inner =
            ((x - 1.0).powi(2) + (y - 0.5).powi(2) - 1.0).abs() < 1e-5 && y <= 0.5 + 1e-6;
        assert!(on_outer ^ on_inner, "({x}, {y}) is on neither or both arcs");
        outer += usize::from(on_outer);
        inner += usize::from(on_inner);
    }
    // sklearn: n_out = n / 2, the inner moon takes the extra point.
    assert_eq!((outer, inner), (1000, 1001));
    let [x0, x1, y0, y1] = extent(&pts);
    assert_eq!((x0, x1), (-1.0, 2.0), "linspace ends exactly at pi");
    assert!(
        (y0 + 0.5).abs() < 1e-5 && (y1 - 1.0).abs() < 1e-5,
        "{y0} {y1}"
    );
}

#[test]
fn noisy_points_stay_near_the_reference_box() {
    let pts = pairs(&draw(&moons(0.05), 2000, 1));
    let [x0, x1, y0, y1] = extent(&pts);
    for (got, want) in [(x0, -1.0), (x1, 2.0), (y0, -0.5), (y1, 1.0)] {
        assert!((got - want).abs() < 0.3, "{got} vs {want}");
    }
}

#[test]
fn noise_has_the_requested_spread() {
    // Same seed, same shuffle: the difference is exactly the added noise.
    let clean = pairs(&draw(&moons(0.0), 4000, 5));
    let noisy = pairs(&draw(&moons(0.1), 4000, 5));
    let diffs: Vec<[f64; 2]> = clean
        .iter()
        .zip(&noisy)
        .map(|(a, b)| [b[0] - a[0], b[1] - a[1]])
        .collect();
    let (mean, std) = crate::mean_std(&diffs);
    for k in 0..2 {
        assert!(
            mean[k].abs() < 0.01 && (std[k] - 0.1).abs() < 0.005,
            "{mean:?} {std:?}"
        );
    }
}
