//! Landscapes: orientation, colour mapping, degenerate energies and validation.

mod common;

use common::{assert_real_png, count_near, mean_luma};
use ebm_viz::{draw_landscape, grid_points, Error, Landscape, PointLayer};

const SIZE: (u32, u32) = (800, 700);
const BOUNDS: [f32; 4] = [-2.0, 2.0, -2.0, 2.0];
const RES: usize = 40;

// The plot area spans roughly x 75..665 and y 45..645 (title above, colour bar
// right, tick labels left and below); these windows stay well inside its halves.
const LEFT: std::ops::Range<u32> = 120..320;
const RIGHT: std::ops::Range<u32> = 420..620;
const TOP: std::ops::Range<u32> = 90..290;
const BOTTOM: std::ops::Range<u32> = 400..600;
const WIDE: std::ops::Range<u32> = 120..620;
const TALL: std::ops::Range<u32> = 90..600;

fn energy(f: impl Fn([f32; 2]) -> f32) -> Vec<f32> {
    grid_points(BOUNDS, RES).into_iter().map(f).collect()
}

fn landscape<'a>(energy: &'a [f32], layers: Vec<PointLayer<'a>>) -> Landscape<'a> {
    Landscape {
        title: "Energy landscape",
        bounds: BOUNDS,
        resolution: RES,
        energy,
        layers,
    }
}

#[test]
fn low_energy_on_the_left_is_bright_on_the_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("left.png");
    let e = energy(|[x, _]| if x < 0.0 { 0.0 } else { 8.0 });
    draw_landscape(&path, &landscape(&e, vec![])).unwrap();
    let img = assert_real_png(&path, SIZE);
    let (left, right) = (mean_luma(&img, LEFT, TALL), mean_luma(&img, RIGHT, TALL));
    assert!(left > right + 100.0, "left {left} right {right}");
}

#[test]
fn low_energy_at_the_bottom_is_bright_at_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bottom.png");
    let e = energy(|[_, y]| if y < 0.0 { 0.0 } else { 8.0 });
    draw_landscape(&path, &landscape(&e, vec![])).unwrap();
    let img = assert_real_png(&path, SIZE);
    let (bottom, top) = (mean_luma(&img, WIDE, BOTTOM), mean_luma(&img, WIDE, TOP));
    assert!(bottom > top + 100.0, "bottom {bottom} top {top}");
}

#[test]
fn layers_inside_bounds_are_drawn_and_outside_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let e = energy(|[x, y]| x * x + y * y);
    let inside = [[0.5f32, 0.5], [-1.0, 1.0], [1.5, -1.5]];
    let outside = [[3.0f32, 0.0], [0.0, -2.5], [f32::NAN, 0.0], [-9.0, 9.0]];
    let red = |points| {
        vec![PointLayer {
            label: "",
            points,
            color: (255, 0, 0),
        }]
    };

    let path = dir.path().join("inside.png");
    draw_landscape(&path, &landscape(&e, red(&inside))).unwrap();
    assert!(count_near(&assert_real_png(&path, SIZE), [255, 0, 0]) > 3 * 10);

    let path = dir.path().join("outside.png");
    draw_landscape(&path, &landscape(&e, red(&outside))).unwrap();
    assert_eq!(count_near(&assert_real_png(&path, SIZE), [255, 0, 0]), 0);
}

#[test]
fn labelled_layers_get_a_legend() {
    let dir = tempfile::tempdir().unwrap();
    let e = energy(|[x, y]| x * x + y * y);
    let data = [[0.0f32, 0.0]];
    let layers = vec![
        PointLayer {
            label: "data",
            points: &data,
            color: (255, 0, 0),
        },
        PointLayer {
            label: "samples (never drawn)",
            points: &[],
            color: (0, 0, 255),
        },
    ];
    let path = dir.path().join("legend.png");
    draw_landscape(&path, &landscape(&e, layers)).unwrap();
    // The empty layer's colour can only come from its legend marker.
    assert!(count_near(&assert_real_png(&path, SIZE), [0, 0, 255]) > 20);
}

#[test]
fn degenerate_energies_still_draw() {
    let dir = tempfile::tempdir().unwrap();
    let constant = vec![3.5; RES * RES];
    let all_nan = vec![f32::NAN; RES * RES];
    let mut some_bad = energy(|[x, y]| x + y);
    some_bad[0] = f32::NAN;
    some_bad[1] = f32::INFINITY;
    some_bad[2] = f32::NEG_INFINITY;
    for (name, e) in [
        ("constant", &constant),
        ("nan", &all_nan),
        ("some_bad", &some_bad),
    ] {
        let path = dir.path().join(format!("{name}.png"));
        draw_landscape(&path, &landscape(e, vec![])).unwrap();
        assert_real_png(&path, SIZE);
    }
    // All-NaN is neutral grey, not a colormap colour.
    let img = common::load(&dir.path().join("nan.png"));
    let p = img.get_pixel(300, 300);
    assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
}

#[test]
fn single_cell_grid_draws() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.png");
    let l = Landscape {
        title: "1x1",
        bounds: [0.0, 1.0, 5.0, 6.0],
        resolution: 1,
        energy: &[2.0],
        layers: vec![],
    };
    draw_landscape(&path, &l).unwrap();
    assert_real_png(&path, SIZE);
}

#[test]
fn wrong_energy_length_names_the_expected_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let e = vec![0.0; 10];
    let err = draw_landscape(&path, &landscape(&e, vec![])).unwrap_err();
    match err {
        Error::InvalidInput { what } => assert!(what.contains("1600"), "{what}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(!path.exists());
}

#[test]
fn bad_bounds_and_zero_resolution_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let e = vec![0.0; RES * RES];
    let mut l = landscape(&e, vec![]);
    l.bounds = [1.0, -1.0, 0.0, 1.0];
    assert!(matches!(
        draw_landscape(&path, &l),
        Err(Error::InvalidInput { .. })
    ));
    let l = Landscape {
        resolution: 0,
        energy: &[],
        ..landscape(&e, vec![])
    };
    assert!(matches!(
        draw_landscape(&path, &l),
        Err(Error::InvalidInput { .. })
    ));
    assert!(!path.exists());
}
