//! The figures of image runs: grids of replay-buffer chains and of final samples, and the
//! energies of data and samples as overlaid histograms.

use crate::Result;
use candle_core::{DType, Tensor};
use ebm_viz::{Histogram, HistogramSet, ImageGrid};
use std::path::Path;

/// Images shown per grid.
pub const GRID_IMAGES: usize = 64;
const DATA_COLOR: (u8, u8, u8) = (40, 120, 200);
const SAMPLE_COLOR: (u8, u8, u8) = (240, 80, 40);

/// Whether one sample of this shape is an image a grid can show: `[C, H, W]`, C = 1 or 3.
pub fn is_image(shape: &[usize]) -> bool {
    shape.len() == 3 && (shape[0] == 1 || shape[0] == 3)
}

/// The first `GRID_IMAGES` rows of `x` as an 8-wide PNG grid of images of `shape` `[C, H, W]`
/// (`x` may hold them flattened, as an MLP sees them).
pub fn grid(path: &Path, title: &str, x: &Tensor, shape: &[usize]) -> Result<()> {
    let n = x.dims()[0].min(GRID_IMAGES);
    let (c, h, w) = (shape[0], shape[1], shape[2]);
    let pixels = x
        .narrow(0, 0, n)?
        .reshape((n, c, h, w))?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let mut grid = ImageGrid::new(&pixels, [n, c, h, w], 8).with_title(title);
    // Small images (28×28) read better doubled.
    grid.scale = if h < 48 { 2 } else { 1 };
    ebm_viz::draw_image_grid(path, &grid)?;
    Ok(())
}

/// E(data) against E(samples), 40 shared bins.
pub fn energy_histogram(path: &Path, title: &str, data: &Tensor, samples: &Tensor) -> Result<()> {
    let values = |t: &Tensor| -> Result<Vec<f64>> { Ok(t.to_dtype(DType::F64)?.to_vec1::<f64>()?) };
    let (data, samples) = (values(data)?, values(samples)?);
    ebm_viz::draw_histogram(
        path,
        &Histogram {
            title,
            x_label: "energy",
            sets: vec![
                HistogramSet {
                    label: "test data",
                    values: &data,
                    color: DATA_COLOR,
                },
                HistogramSet {
                    label: "model samples",
                    values: &samples,
                    color: SAMPLE_COLOR,
                },
            ],
            bins: 40,
        },
    )?;
    Ok(())
}
