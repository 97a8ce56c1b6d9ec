//! Pinwheel: balanced blades on the curves `angle = 2 pi k / K + spiral_scale * r / radial_scale`.

use crate::{draw, pairs};
use ebm_data::{DataConfig, Pinwheel};
use std::f64::consts::TAU;

/// Angular distance, wrapped into [0, pi].
fn wrapped(a: f64) -> f64 {
    let d = a.rem_euclid(TAU);
    d.min(TAU - d)
}

#[test]
fn noiseless_blades_follow_the_spiral_curves() {
    let (k, radial, spiral) = (5usize, 2.0, 5.0);
    let config = DataConfig::Pinwheel(Pinwheel {
        n_samples: 1000,
        n_classes: k,
        noise: 0.0,
        radial_scale: radial,
        angular_scale: 0.0,
        spiral_scale: spiral,
    });
    let pts = pairs(&draw(&config, 1000, 51));
    let mut per_blade = vec![0usize; k];
    for &[x, y] in &pts {
        let r = x.hypot(y);
        assert!(r <= radial + 1e-5, "radius {r}");
        if r < 1e-3 {
            continue; // the angle is meaningless at the hub
        }
        let along = y.atan2(x) - spiral * r / radial;
        let (blade, dist) = (0..k)
            .map(|b| (b, wrapped(along - TAU * b as f64 / k as f64)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("k >= 1");
        // Only f32 rounding of the stored coordinates separates a point from its curve.
        assert!(
            dist < 1e-5 / r + 1e-5,
            "({x}, {y}) off every blade by {dist}"
        );
        per_blade[blade] += 1;
    }
    // Equal shares: 200 per blade, minus any hub points skipped above.
    assert!(
        per_blade.iter().all(|&c| (195..=200).contains(&c)),
        "{per_blade:?}"
    );
}

#[test]
fn defaults_stay_within_the_blade_length() {
    let config = DataConfig::with_defaults("pinwheel").expect("kind");
    let pts = pairs(&draw(&config, 2000, 52));
    // radius <= radial_scale (2), plus the Cartesian noise (0.05) in each coordinate.
    assert!(pts
        .iter()
        .all(|p| p[0].hypot(p[1]) < 2.0 + 6.0 * 0.05 * 2f64.sqrt()));
}
