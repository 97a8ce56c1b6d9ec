//! Plot bounds hold the data.

use crate::{all_defaults, draw, pairs};

#[test]
fn plot_bounds_contain_every_default_sample() {
    for config in all_defaults() {
        let [x0, x1, y0, y1] = config.plot_bounds();
        assert!(x0 < x1 && y0 < y1, "{config:?}");
        for [x, y] in pairs(&draw(&config, 2000, 71)) {
            let inside =
                (x0 as f64..=x1 as f64).contains(&x) && (y0 as f64..=y1 as f64).contains(&y);
            assert!(
                inside,
                "{} ({x}, {y}) outside {:?}",
                config.kind(),
                [x0, x1, y0, y1]
            );
        }
    }
}
