//! A grid of images (model samples, data) as one PNG, like torchvision's `make_grid`.
//!
//! Images come as f32 in [-1, 1] with shape `[N, C, H, W]` (C = 1 grayscale, C = 3 RGB), the
//! layout image models train on. Values are clamped to [-1, 1] and mapped linearly to 0..=255
//! (−1 → 0, 1 → 255, rounded); NaN is an error, since a grey pixel would hide a broken sampler.
//! Image `i` sits in column `i % nrow`, row `i / nrow`, each cell framed by a `padding`-pixel
//! border; an optional title is drawn above the grid in the crate's embedded font.
//!
//! ```no_run
//! # fn main() -> ebm_viz::Result<()> {
//! let pixels = vec![0.0f32; 16 * 3 * 8 * 8];
//! let grid = ebm_viz::ImageGrid::new(&pixels, [16, 3, 8, 8], 4).with_title("samples");
//! ebm_viz::draw_image_grid(std::path::Path::new("grid.png"), &grid)?;
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{RGBColor, TextStyle, BLACK};

use crate::render::render_png;
use crate::{style, Error, Result};

/// Height of the band above the grid that holds the title (when there is one).
pub const TITLE_HEIGHT: u32 = 36;

/// Images and layout for [`draw_image_grid`].
#[derive(Debug, Clone, Copy)]
pub struct ImageGrid<'a> {
    /// `N·C·H·W` values, row-major `[N, C, H, W]`, nominally in [-1, 1].
    pub pixels: &'a [f32],
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// Images per row (the last row may be partial).
    pub nrow: usize,
    /// Border width around every cell, in output pixels: 1 or 2.
    pub padding: u32,
    /// Each image pixel becomes a `scale`×`scale` block (nearest neighbour), for small images.
    pub scale: u32,
    /// Colour of the borders and of the empty cells of a partial last row.
    pub border: (u8, u8, u8),
    /// Text above the grid; `None` adds no title band.
    pub title: Option<&'a str>,
}

impl<'a> ImageGrid<'a> {
    /// A grid with a 2-pixel white border, native size, no title.
    pub fn new(pixels: &'a [f32], shape: [usize; 4], nrow: usize) -> Self {
        ImageGrid {
            pixels,
            shape,
            nrow,
            padding: 2,
            scale: 1,
            border: (255, 255, 255),
            title: None,
        }
    }

    pub fn with_title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }

    /// Size of the PNG in pixels (width, height), after checking the layout.
    pub fn size(&self) -> Result<(u32, u32)> {
        let [n, c, h, w] = self.shape;
        if n == 0 || h == 0 || w == 0 {
            return Err(Error::invalid(format!(
                "image grid: shape {:?} has no pixels",
                self.shape
            )));
        }
        if c != 1 && c != 3 {
            return Err(Error::invalid(format!(
                "image grid: {c} channels; expected 1 (grayscale) or 3 (RGB)"
            )));
        }
        if self.pixels.len() != n * c * h * w {
            return Err(Error::invalid(format!(
                "image grid: {} values for shape {:?} ({} expected)",
                self.pixels.len(),
                self.shape,
                n * c * h * w
            )));
        }
        if self.nrow == 0 {
            return Err(Error::invalid("image grid: nrow must be at least 1"));
        }
        if !(1..=2).contains(&self.padding) {
            return Err(Error::invalid(format!(
                "image grid: padding {} (must be 1 or 2 pixels)",
                self.padding
            )));
        }
        if !(1..=64).contains(&self.scale) {
            return Err(Error::invalid(format!(
                "image grid: scale {} (must be 1..=64)",
                self.scale
            )));
        }
        let cols = self.nrow.min(n) as u64;
        let rows = n.div_ceil(self.nrow) as u64;
        let (pad, s) = (u64::from(self.padding), u64::from(self.scale));
        let width = cols * (w as u64 * s + pad) + pad;
        let height = self.title_height() as u64 + rows * (h as u64 * s + pad) + pad;
        // Keeps the RGB buffer well under isize::MAX and the PNG encodable.
        if width > 16_384 || height > 16_384 {
            return Err(Error::invalid(format!(
                "image grid: {width}x{height} pixels is too large (at most 16384 per side)"
            )));
        }
        Ok((width as u32, height as u32))
    }

    /// Top-left output pixel of image `i`'s content (inside its border).
    pub fn origin(&self, i: usize) -> (u32, u32) {
        let [_, _, h, w] = self.shape;
        let (pad, s) = (self.padding, self.scale);
        let (col, row) = ((i % self.nrow) as u32, (i / self.nrow) as u32);
        (
            pad + col * (w as u32 * s + pad),
            self.title_height() + pad + row * (h as u32 * s + pad),
        )
    }

    fn title_height(&self) -> u32 {
        if self.title.is_some() {
            TITLE_HEIGHT
        } else {
            0
        }
    }
}

/// Maps a value in [-1, 1] to a byte (clamping outside values).
pub fn to_byte(v: f32) -> u8 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Writes `grid` as a PNG to `path`. Errors (never panics) on a shape that does not match the
/// data, a channel count other than 1 or 3, NaN values, or a bad layout.
pub fn draw_image_grid(path: &Path, grid: &ImageGrid) -> Result<()> {
    let size = grid.size()?;
    if let Some(i) = grid.pixels.iter().position(|v| v.is_nan()) {
        return Err(Error::invalid(format!(
            "image grid: value {i} is NaN (image {})",
            i / (grid.shape[1] * grid.shape[2] * grid.shape[3])
        )));
    }
    let [n, c, h, w] = grid.shape;
    let s = grid.scale;
    render_png(path, size, |root| {
        let (r, g, b) = grid.border;
        root.fill(&RGBColor(r, g, b))?;
        if let Some(title) = grid.title {
            let font = TextStyle::from(style::title_font())
                .pos(Pos::new(HPos::Center, VPos::Center))
                .color(&BLACK);
            let centre = ((size.0 / 2) as i32, (TITLE_HEIGHT / 2) as i32);
            root.draw_text(title, &font, centre)?;
        }
        let plane = h * w;
        for i in 0..n {
            let image = &grid.pixels[i * c * plane..(i + 1) * c * plane];
            let (x0, y0) = grid.origin(i);
            for (y, x) in (0..h).flat_map(|y| (0..w).map(move |x| (y, x))) {
                let at = |ch: usize| to_byte(image[ch * plane + y * w + x]);
                let colour = if c == 1 {
                    RGBColor(at(0), at(0), at(0))
                } else {
                    RGBColor(at(0), at(1), at(2))
                };
                for (dy, dx) in (0..s).flat_map(|dy| (0..s).map(move |dx| (dy, dx))) {
                    let px = (x0 + x as u32 * s + dx) as i32;
                    let py = (y0 + y as u32 * s + dy) as i32;
                    root.draw_pixel((px, py), &colour)?;
                }
            }
        }
        Ok(())
    })
}
