//! Seeds, counts and finiteness, for every dataset.

use crate::{all_defaults, draw, rng};
use ebm_data::{Checkerboard, DataConfig, Error};

#[test]
fn same_seed_gives_identical_points() {
    for config in all_defaults() {
        assert_eq!(draw(&config, 500, 7), draw(&config, 500, 7), "{config:?}");
    }
}

#[test]
fn different_seeds_give_different_points() {
    for config in all_defaults() {
        assert_ne!(draw(&config, 500, 7), draw(&config, 500, 8), "{config:?}");
    }
}

#[test]
fn exact_count_dimension_and_finite_for_any_n() {
    for config in all_defaults() {
        assert_eq!(config.dim(), 2);
        assert_eq!(config.n_samples(), 2000);
        for n in [1, 2, 3, 17, 2001] {
            let p = draw(&config, n, 1);
            assert_eq!((p.len(), p.dim, p.data.len()), (n, 2, 2 * n), "{config:?}");
            assert!(p.data.iter().all(|v| v.is_finite()), "{config:?} n={n}");
        }
    }
}

#[test]
fn zero_points_is_an_error() {
    let config = DataConfig::default();
    assert!(matches!(
        config.sample(0, &mut rng(0)),
        Err(Error::InvalidParam { key, .. }) if key == "n"
    ));
}

#[test]
fn invalid_config_is_rejected_before_drawing() {
    let config = DataConfig::Checkerboard(Checkerboard {
        n_samples: 10,
        range_limit: 0.0,
        noise: 0.0,
    });
    // Without validation this would be a rejection loop that never ends.
    let err = config.sample(10, &mut rng(0)).expect_err("invalid");
    assert!(err.to_string().contains("data.range_limit"), "{err}");
}

#[test]
fn to_tensor_has_shape_and_values() {
    let p = draw(&DataConfig::default(), 5, 3);
    let t = p.to_tensor(&candle_core::Device::Cpu).expect("tensor");
    assert_eq!(t.dims(), &[5, 2]);
    let rows: Vec<Vec<f32>> = t.to_vec2().expect("to_vec2");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.as_slice(), p.row(i));
    }
}
