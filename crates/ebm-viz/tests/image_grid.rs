//! Image grids: the PNG has the computed size, every image lands at its cell with the exact
//! byte values of its pixels (−1 → 0, 0 → 128, 1 → 255, outside values clamped), borders keep
//! their colour, and bad input is an error.

mod common;

use common::load;
use ebm_viz::{draw_image_grid, to_byte, Error, ImageGrid, TITLE_HEIGHT};

/// `[n, c, h, w]` images whose value at (i, ch, y, x) is a known function of the position.
fn pattern(n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n * c * h * w);
    for i in 0..n {
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    v.push(value(i, ch, y, x));
                }
            }
        }
    }
    v
}

/// Spans beyond [-1, 1] on purpose, so clamping is exercised.
fn value(i: usize, ch: usize, y: usize, x: usize) -> f32 {
    -1.3 + 0.11 * i as f32 + 0.37 * ch as f32 + 0.19 * y as f32 + 0.07 * x as f32
}

#[test]
fn byte_mapping_clamps_and_rounds() {
    assert_eq!(to_byte(-1.0), 0);
    assert_eq!(to_byte(-7.0), 0);
    assert_eq!(to_byte(0.0), 128);
    assert_eq!(to_byte(1.0), 255);
    assert_eq!(to_byte(f32::INFINITY), 255);
}

#[test]
fn rgb_grid_has_expected_size_and_pixels() {
    let (n, c, h, w) = (7, 3, 5, 6);
    let data = pattern(n, c, h, w);
    let mut grid = ImageGrid::new(&data, [n, c, h, w], 3);
    grid.padding = 1;
    grid.border = (10, 200, 30);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.png");
    draw_image_grid(&path, &grid).unwrap();
    let img = load(&path);
    // 3 columns, 3 rows (the last holds one image), 1-px borders.
    assert_eq!(img.dimensions(), (3 * (6 + 1) + 1, 3 * (5 + 1) + 1));
    assert_eq!(grid.size().unwrap(), img.dimensions());
    for i in 0..n {
        let (x0, y0) = ((1 + (i % 3) * 7) as u32, (1 + (i / 3) * 6) as u32);
        assert_eq!(grid.origin(i), (x0, y0));
        for y in 0..h {
            for x in 0..w {
                let p = img.get_pixel(x0 + x as u32, y0 + y as u32).0;
                let want = [0, 1, 2].map(|ch| to_byte(value(i, ch, y, x)));
                assert_eq!(p, want, "image {i} pixel ({x}, {y})");
            }
        }
    }
    // Corners, a gap between cells, and the empty cells of the last row are border.
    for (x, y) in [(0, 0), (21, 18), (7, 3), (10, 15), (20, 16)] {
        assert_eq!(img.get_pixel(x, y).0, [10, 200, 30], "({x}, {y})");
    }
}

#[test]
fn grayscale_scaled_titled_grid() {
    let (n, h, w) = (4, 3, 2);
    let data = pattern(n, 1, h, w);
    let mut grid = ImageGrid::new(&data, [n, 1, h, w], 4).with_title("samples");
    grid.scale = 3;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gray.png");
    draw_image_grid(&path, &grid).unwrap();
    let img = load(&path);
    let (cw, ch) = (w as u32 * 3 + 2, h as u32 * 3 + 2);
    assert_eq!(img.dimensions(), (4 * cw + 2, TITLE_HEIGHT + ch + 2));
    for i in 0..n {
        let (x0, y0) = (2 + i as u32 * cw, TITLE_HEIGHT + 2);
        for y in 0..h as u32 * 3 {
            for x in 0..w as u32 * 3 {
                let b = to_byte(value(i, 0, (y / 3) as usize, (x / 3) as usize));
                assert_eq!(img.get_pixel(x0 + x, y0 + y).0, [b, b, b]);
            }
        }
    }
    // The title put dark text into the band above the images.
    let dark = (0..img.width())
        .flat_map(|x| (0..TITLE_HEIGHT).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 100))
        .count();
    assert!(dark > 20, "title band has {dark} dark pixels");
}

#[test]
fn bad_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let data = pattern(2, 3, 4, 4);
    let invalid =
        |g: ImageGrid| matches!(draw_image_grid(&path, &g), Err(Error::InvalidInput { .. }));
    assert!(
        invalid(ImageGrid::new(&data, [2, 3, 4, 5], 2)),
        "length mismatch"
    );
    assert!(
        invalid(ImageGrid::new(&data[..64], [2, 2, 4, 4], 2)),
        "2 channels"
    );
    assert!(invalid(ImageGrid::new(&data, [2, 3, 4, 4], 0)), "nrow 0");
    assert!(invalid(ImageGrid::new(&[], [0, 3, 4, 4], 2)), "empty");
    let mut pad = ImageGrid::new(&data, [2, 3, 4, 4], 2);
    pad.padding = 5;
    assert!(invalid(pad), "padding 5");
    let mut nan = data.clone();
    nan[40] = f32::NAN;
    assert!(invalid(ImageGrid::new(&nan, [2, 3, 4, 4], 2)), "NaN");
    assert!(!path.exists());
}
