//! A set of points stored row-major in one `Vec<f32>`. Generators build these on the CPU; the
//! trainer turns them into tensors only when it needs them, so data never ties itself to a device.

use crate::{Error, Result};
use candle_core::{Device, Tensor};

/// `len()` points of dimension `dim`, row-major: point `i` is `data[i * dim..(i + 1) * dim]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    pub data: Vec<f32>,
    pub dim: usize,
}

impl Points {
    /// Checked constructor: `dim > 0` and `data.len()` a multiple of `dim`.
    pub fn new(data: Vec<f32>, dim: usize) -> Result<Self> {
        let points = Points { data, dim };
        points.check()?;
        Ok(points)
    }

    /// Number of points (0 for a malformed value with `dim == 0`, rather than dividing by zero).
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Coordinates of point `i`. Panics if `i >= len()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Iterates over the points in order.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        // `chunks_exact(0)` panics, so a malformed value yields nothing instead.
        self.data.chunks_exact(self.dim.max(1)).take(self.len())
    }

    /// The points as an `[n, dim]` f32 tensor on `device`.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        self.check()?;
        Ok(Tensor::from_slice(
            &self.data,
            (self.len(), self.dim),
            device,
        )?)
    }

    /// The fields are public, so anything that relies on the layout re-checks it.
    pub(crate) fn check(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::param("points.dim", "must be > 0"));
        }
        // checked_rem rather than `is_multiple_of`, which is newer than the workspace's MSRV.
        if self.data.len().checked_rem(self.dim) != Some(0) {
            return Err(Error::param(
                "points.data",
                format!(
                    "length {} is not a multiple of dim {}",
                    self.data.len(),
                    self.dim
                ),
            ));
        }
        Ok(())
    }

    /// Builds 2-D points from f64 pairs: generators compute in f64 and store f32.
    pub(crate) fn from_pairs(pairs: &[[f64; 2]]) -> Self {
        let data = pairs
            .iter()
            .flat_map(|&[x, y]| [x as f32, y as f32])
            .collect();
        Points { data, dim: 2 }
    }
}
