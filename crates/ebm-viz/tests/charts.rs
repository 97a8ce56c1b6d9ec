//! Line charts and scatter plots: they decode, show their series, and survive
//! degenerate input.

mod common;

use common::{assert_real_png, count_near};
use ebm_viz::{draw_line_chart, draw_scatter, Error, LineChart, PointLayer, Series};

const CHART: (u32, u32) = (900, 500);
const SQUARE: (u32, u32) = (800, 700);
const RED: (u8, u8, u8) = (255, 0, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);

fn chart<'a>(series: Vec<Series<'a>>, log_y: bool) -> LineChart<'a> {
    LineChart {
        title: "Loss",
        x_label: "step",
        y_label: "loss",
        series,
        log_y,
    }
}

/// Red pixels in the chart: only unlabelled red series can produce them.
fn red_pixels(name: &str, c: &LineChart) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    draw_line_chart(&path, c).unwrap();
    count_near(&assert_real_png(&path, CHART), [255, 0, 0])
}

#[test]
fn line_chart_draws_each_series() {
    let loss: Vec<(f64, f64)> = (0..200)
        .map(|s| (f64::from(s), 2.0 / (1.0 + f64::from(s))))
        .collect();
    let gap: Vec<(f64, f64)> = (0..200)
        .map(|s| (f64::from(s), (f64::from(s) / 20.0).sin()))
        .collect();
    let c = chart(
        vec![
            Series {
                label: "",
                points: &loss,
                color: RED,
            },
            Series {
                label: "energy gap",
                points: &gap,
                color: BLUE,
            },
        ],
        false,
    );
    assert!(red_pixels("lines.png", &c) > 200);
}

#[test]
fn log_y_skips_non_positive_and_non_finite_points() {
    let pts = [
        (0.0, 1.0),
        (1.0, 0.0),
        (2.0, -3.0),
        (3.0, f64::NAN),
        (4.0, 0.01),
        (f64::INFINITY, 5.0),
    ];
    let c = chart(
        vec![Series {
            label: "",
            points: &pts,
            color: RED,
        }],
        true,
    );
    assert!(red_pixels("log.png", &c) > 50);
    let bad = [(0.0, 0.0), (1.0, -1.0), (2.0, f64::NAN)];
    let c = chart(
        vec![Series {
            label: "",
            points: &bad,
            color: RED,
        }],
        true,
    );
    assert_eq!(red_pixels("log_bad.png", &c), 0);
}

fn red(label: &str, points: &[(f64, f64)]) -> Vec<Series<'static>> {
    // Leaking keeps the table below readable; it is a few bytes in a test.
    let label: &'static str = Box::leak(label.to_owned().into_boxed_str());
    let points: &'static [(f64, f64)] = Box::leak(points.to_vec().into_boxed_slice());
    vec![Series {
        label,
        points,
        color: RED,
    }]
}

#[test]
fn degenerate_series_still_draw() {
    let flat = [(0.0, 0.7), (10.0, 0.7), (20.0, 0.7)];
    // (name, series, log_y, whether red pixels must appear)
    let cases = [
        ("no_series", vec![], false, false),
        ("empty", red("", &[]), false, false),
        ("empty_log", red("", &[]), true, false),
        // A labelled empty series still gets its legend entry.
        ("empty_labelled", red("loss", &[]), false, true),
        ("flat", red("", &flat), false, true),
        ("flat_log", red("", &flat), true, true),
        ("single", red("", &[(1000.0, 3.0)]), false, true),
        ("single_log", red("", &[(1000.0, 3.0)]), true, true),
        ("same_x", red("", &[(5.0, 1.0), (5.0, 2.0)]), false, true),
        ("tiny", red("", &[(0.0, 1e-30), (1.0, 2e-30)]), true, true),
    ];
    for (name, series, log_y, drawn) in cases {
        let n = red_pixels(&format!("{name}.png"), &chart(series, log_y));
        assert_eq!(n > 0, drawn, "{name}: {n} red pixels");
    }
}

#[test]
fn scatter_draws_layers_and_skips_outside_points() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<[f32; 2]> = (0..100)
        .map(|k| [(k as f32 * 0.37).sin(), (k as f32 * 0.91).cos()])
        .collect();
    let outside = [[5.0f32, 5.0], [-1.5, 0.0], [f32::NAN, f32::NAN]];
    let layers = [
        PointLayer {
            label: "data",
            points: &data,
            color: BLUE,
        },
        PointLayer {
            label: "",
            points: &outside,
            color: RED,
        },
    ];
    let path = dir.path().join("scatter.png");
    draw_scatter(&path, "Samples", [-1.2, 1.2, -1.2, 1.2], &layers).unwrap();
    let img = assert_real_png(&path, SQUARE);
    assert!(count_near(&img, [0, 0, 255]) > 500);
    assert_eq!(count_near(&img, [255, 0, 0]), 0);
}

#[test]
fn scatter_with_no_layers_draws_and_bad_bounds_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.png");
    draw_scatter(&path, "Nothing yet", [0.0, 1.0, 0.0, 1.0], &[]).unwrap();
    assert_real_png(&path, SQUARE);
    let bad = dir.path().join("bad.png");
    let err = draw_scatter(&bad, "bad", [0.0, 0.0, 0.0, 1.0], &[]);
    assert!(matches!(err, Err(Error::InvalidInput { .. })));
    assert!(!bad.exists());
}
