//! Helpers shared by the integration tests: decoding PNGs and measuring pixels.

#![allow(dead_code)] // each test binary uses a different subset

use std::ops::Range;
use std::path::Path;

use image::{Rgb, RgbImage};

/// Decodes `path` as a PNG (by content, not by name) into RGB.
pub fn load(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).expect("png written");
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .expect("valid png")
        .to_rgb8()
}

pub fn luma(p: &Rgb<u8>) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// Mean luma over the pixel rectangle `xs` x `ys`.
pub fn mean_luma(img: &RgbImage, xs: Range<u32>, ys: Range<u32>) -> f64 {
    let n = f64::from(xs.len() as u32 * ys.len() as u32);
    let sum: f64 = ys
        .flat_map(|y| xs.clone().map(move |x| (x, y)))
        .map(|(x, y)| luma(img.get_pixel(x, y)))
        .sum();
    sum / n
}

/// Number of distinct colours; a blank or flat image has one.
pub fn distinct_colours(img: &RgbImage) -> usize {
    let mut seen: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Decodes, checks the size and that the image is more than one flat colour.
pub fn assert_real_png(path: &Path, size: (u32, u32)) -> RgbImage {
    let img = load(path);
    assert_eq!(img.dimensions(), size, "{}", path.display());
    assert!(distinct_colours(&img) > 10, "{} is flat", path.display());
    img
}

/// Pixels close to `colour` (each channel within 40), anywhere in the image.
pub fn count_near(img: &RgbImage, colour: [u8; 3]) -> usize {
    img.pixels()
        .filter(|p| (0..3).all(|c| p[c].abs_diff(colour[c]) <= 40))
        .count()
}

/// No `.*.tmp.png` leftovers in `dir`.
pub fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp.png"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}
