//! Checkerboard: only the squares with odd `floor(x) + floor(y)`, all of them used.

use crate::{draw, pairs};
use ebm_data::{Checkerboard, DataConfig};
use std::collections::HashMap;

#[test]
fn noiseless_points_fill_only_black_squares() {
    let config = DataConfig::with_defaults("checkerboard").expect("kind");
    let pts = pairs(&draw(&config, 4000, 41));
    let mut per_cell: HashMap<(i64, i64), usize> = HashMap::new();
    for &[x, y] in &pts {
        assert!(
            (-4.0..4.0).contains(&x) && (-4.0..4.0).contains(&y),
            "({x}, {y})"
        );
        let cell = (x.floor() as i64, y.floor() as i64);
        assert!(
            (cell.0 + cell.1).rem_euclid(2) == 1,
            "({x}, {y}) on a white square"
        );
        *per_cell.entry(cell).or_default() += 1;
    }
    // 8 x 8 board, half of it black; each black square gets ~4000 / 32 = 125 points.
    assert_eq!(per_cell.len(), 32);
    assert!(
        per_cell.values().all(|&c| (70..=180).contains(&c)),
        "{per_cell:?}"
    );
}

#[test]
fn fractional_range_limit_still_works() {
    let config = DataConfig::Checkerboard(Checkerboard {
        n_samples: 100,
        range_limit: 0.5,
        noise: 0.0,
    });
    let pts = pairs(&draw(&config, 500, 42));
    // Black squares within [-0.5, 0.5)^2: x < 0 <= y or y < 0 <= x.
    assert!(pts.iter().all(|&[x, y]| (x < 0.0) != (y < 0.0)));
}
