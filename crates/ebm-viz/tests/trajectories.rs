//! Trajectory plots: paths and markers are drawn inside the bounds, left out outside, and bad
//! inputs are rejected before anything is written.

mod common;

use common::{assert_no_temp_files, assert_real_png, count_near};
use ebm_viz::{draw_trajectories, grid_points, Error, Trajectories, PATH_COLORS};

const SIZE: (u32, u32) = (800, 700);
const BOUNDS: [f32; 4] = [-2.0, 2.0, -2.0, 2.0];
const RES: usize = 40;

fn bowl() -> Vec<f32> {
    grid_points(BOUNDS, RES)
        .into_iter()
        .map(|[x, y]| x * x + y * y)
        .collect()
}

fn plot<'a>(energy: &'a [f32], paths: &'a [Vec<[f32; 2]>]) -> Trajectories<'a> {
    Trajectories {
        title: "chain paths",
        bounds: BOUNDS,
        resolution: RES,
        energy,
        paths,
    }
}

fn rgb(c: (u8, u8, u8)) -> [u8; 3] {
    [c.0, c.1, c.2]
}

#[test]
fn paths_and_markers_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paths.png");
    let e = bowl();
    let spiral: Vec<[f32; 2]> = (0..60)
        .map(|k| {
            let t = k as f32 * 0.2;
            let r = 1.8 - k as f32 * 0.028;
            [r * t.cos(), r * t.sin()]
        })
        .collect();
    let line = vec![[-1.5f32, -1.5], [0.0, -1.0], [1.5, -0.5]];
    let paths = [spiral, line];
    draw_trajectories(&path, &plot(&e, &paths)).unwrap();
    let img = assert_real_png(&path, SIZE);
    // A long red spiral and an orange polyline, each two pixels wide.
    let red = count_near(&img, rgb(PATH_COLORS[0]));
    let orange = count_near(&img, rgb(PATH_COLORS[1]));
    assert!(red > 400, "red pixels {red}");
    assert!(orange > 200, "orange pixels {orange}");
    // White start markers (the heat map has no white; the legend adds one more).
    assert!(count_near(&img, [255, 255, 255]) > 3 * 40);
    assert_no_temp_files(dir.path());
}

#[test]
fn segments_outside_the_bounds_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outside.png");
    let e = bowl();
    let paths = [vec![
        [3.0f32, 3.0],
        [5.0, 4.0],
        [f32::NAN, 0.0],
        [9.0, -9.0],
    ]];
    draw_trajectories(&path, &plot(&e, &paths)).unwrap();
    let img = assert_real_png(&path, SIZE);
    // Only the legend's end marker carries the path colour.
    assert!(count_near(&img, rgb(PATH_COLORS[0])) < 150);
}

#[test]
fn no_paths_is_just_the_landscape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.png");
    let e = bowl();
    draw_trajectories(&path, &plot(&e, &[])).unwrap();
    let img = assert_real_png(&path, SIZE);
    assert_eq!(count_near(&img, rgb(PATH_COLORS[0])), 0);
}

#[test]
fn bad_inputs_are_invalid_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let short = vec![0.0; 10];
    let err = draw_trajectories(&path, &plot(&short, &[])).unwrap_err();
    match err {
        Error::InvalidInput { what } => assert!(what.contains("1600"), "{what}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let e = bowl();
    let mut t = plot(&e, &[]);
    t.bounds = [1.0, -1.0, 0.0, 1.0];
    assert!(matches!(
        draw_trajectories(&path, &t),
        Err(Error::InvalidInput { .. })
    ));
    assert!(!path.exists());
}
