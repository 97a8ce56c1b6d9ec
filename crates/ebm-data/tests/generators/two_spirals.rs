//! Two spirals: each point's reflection through the origin is also in the set.

use crate::{draw, mean_std, pairs};
use ebm_data::{DataConfig, TwoSpirals};

#[test]
fn noiseless_set_is_point_symmetric() {
    let config = DataConfig::TwoSpirals(TwoSpirals {
        n_samples: 1000,
        noise: 0.0,
    });
    let points = draw(&config, 1000, 61);
    let key = |x: f32, y: f32| (x.to_bits(), y.to_bits());
    let mut set: Vec<_> = points.rows().map(|r| key(r[0], r[1])).collect();
    let mut mirrored: Vec<_> = points.rows().map(|r| key(-r[0], -r[1])).collect();
    set.sort_unstable();
    mirrored.sort_unstable();
    assert_eq!(set, mirrored);
}

#[test]
fn noisy_set_is_centred_and_bounded() {
    let config = DataConfig::with_defaults("two_spirals").expect("kind");
    let pts = pairs(&draw(&config, 4000, 62));
    let (mean, std) = mean_std(&pts);
    // Symmetric in distribution: the mean is only the noise's, ~0.1 / sqrt(4000).
    assert!(mean[0].abs() < 0.01 && mean[1].abs() < 0.01, "{mean:?}");
    assert!(std[0] > 1.0 && std[1] > 1.0, "{std:?}");
    // |d1| <= 3 pi + 0.5 before the division by 3.
    let bound = (3.0 * std::f64::consts::PI + 0.5) / 3.0 + 6.0 * 0.1;
    assert!(pts.iter().all(|p| p[0].abs() < bound && p[1].abs() < bound));
}
