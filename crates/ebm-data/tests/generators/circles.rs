//! Concentric circles: two radii in ratio `factor`, split like sklearn.

use crate::{draw, pairs};
use ebm_data::{Circles, DataConfig};

#[test]
fn noiseless_points_lie_on_two_radii_in_ratio_factor() {
    for (factor, radius) in [(0.5, 1.0), (0.3, 2.0), (0.8, 0.5)] {
        let config = DataConfig::Circles(Circles {
            n_samples: 1001,
            noise: 0.0,
            factor,
            radius,
        });
        let pts = pairs(&draw(&config, 1001, 31));
        let (mut outer, mut inner) = (0, 0);
        for p in &pts {
            let r = p[0].hypot(p[1]);
            if (r - radius).abs() < 1e-5 {
                outer += 1;
            } else if (r - factor * radius).abs() < 1e-5 {
                inner += 1;
            } else {
                panic!("radius {r} is neither {radius} nor {}", factor * radius);
            }
        }
        // sklearn: n_out = n / 2, the inner circle takes the extra point.
        assert_eq!((outer, inner), (500, 501));
    }
}

#[test]
fn noisy_radii_spread_by_noise() {
    let config = DataConfig::with_defaults("circles").expect("kind");
    let pts = pairs(&draw(&config, 2000, 32));
    for p in &pts {
        let r = p[0].hypot(p[1]);
        let d = (r - 1.0).abs().min((r - 0.5).abs());
        assert!(d < 6.0 * 0.05, "radius {r}");
    }
}
