//! Swiss roll: TorchEBM's centring and `std_x + std_y` normalisation, at its population values.

use crate::{draw, mean_std, pairs};
use ebm_data::{DataConfig, SwissRoll};

#[test]
fn large_sample_is_centred_with_unit_summed_std() {
    for (noise, arclength) in [(0.05, 3.0), (0.5, 1.5)] {
        let config = DataConfig::SwissRoll(SwissRoll {
            n_samples: 40_000,
            noise,
            arclength,
        });
        let pts = pairs(&draw(&config, 40_000, 21));
        let (mean, std) = mean_std(&pts);
        assert!(mean[0].abs() < 0.01 && mean[1].abs() < 0.01, "{mean:?}");
        assert!((std[0] + std[1] - 1.0).abs() < 0.01, "{std:?}");
    }
}

#[test]
fn normalised_roll_spans_about_unit_box() {
    // The exact spiral geometry is checked in the crate's unit tests, where the normalisation
    // is visible; here: a 2-D roll (spread in both axes), not blown up or collapsed.
    let config = DataConfig::with_defaults("swiss_roll").expect("kind");
    let pts = pairs(&draw(&config, 20_000, 22));
    let (_, std) = mean_std(&pts);
    assert!(std[0] > 0.3 && std[1] > 0.3, "{std:?}");
    let max_r = pts.iter().map(|p| p[0].hypot(p[1])).fold(0.0, f64::max);
    assert!((1.0..2.0).contains(&max_r), "{max_r}");
}
