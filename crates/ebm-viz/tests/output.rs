//! Output behaviour shared by every plot: embedded-font text, directory
//! creation, atomic replacement.

mod common;

use common::{assert_no_temp_files, load, luma};
use ebm_viz::{draw_line_chart, draw_scatter, Error, LineChart};

fn chart(title: &str) -> LineChart<'_> {
    LineChart {
        title,
        x_label: "step",
        y_label: "value",
        series: vec![],
        log_y: false,
    }
}

/// (dark, light) pixel counts in the title band of a line chart.
fn title_band(title: &str) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.png");
    draw_line_chart(&path, &chart(title)).unwrap();
    let img = load(&path);
    // The title is centred in the top ~40 rows, above the plot frame.
    let band: Vec<f64> = (250..650)
        .flat_map(|x| (0..38).map(move |y| (x, y)))
        .map(|(x, y)| luma(img.get_pixel(x, y)))
        .collect();
    let dark = band.iter().filter(|l| **l < 100.0).count();
    let light = band.iter().filter(|l| **l > 200.0).count();
    (dark, light)
}

#[test]
fn title_text_renders_with_the_embedded_font() {
    let (dark, light) = title_band("Training loss over steps");
    assert!(dark > 200, "only {dark} dark pixels: no title text drawn");
    assert!(
        light > 4 * dark,
        "background not light: {light} light vs {dark} dark"
    );
    // Without a title the same band is blank, so the dark pixels are the text.
    assert_eq!(title_band("").0, 0);
}

#[test]
fn parent_directories_are_created_and_files_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let path = nested.join("plot.png");
    draw_scatter(&path, "first", [0.0, 1.0, 0.0, 1.0], &[]).unwrap();
    let first = std::fs::read(&path).unwrap();
    draw_scatter(&path, "a different title", [0.0, 1.0, 0.0, 1.0], &[]).unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), first);
    assert_no_temp_files(&nested);
}

#[test]
fn output_name_need_not_end_in_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curve.out");
    draw_line_chart(&path, &chart("no extension")).unwrap();
    assert_eq!(load(&path).dimensions(), (900, 500));
    assert_no_temp_files(dir.path());
}

#[test]
fn path_without_file_name_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let err = draw_line_chart(&dir.path().join(".."), &chart("x"));
    assert!(matches!(err, Err(Error::InvalidInput { .. })), "{err:?}");
}

#[test]
fn unwritable_target_is_io_error_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be replaced by a file.
    let target = dir.path().join("taken");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let err = draw_line_chart(&target, &chart("x"));
    assert!(matches!(err, Err(Error::Io(_))), "{err:?}");
    assert_no_temp_files(dir.path());
}
