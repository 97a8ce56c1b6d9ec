//! A set of samples stored row-major in one `Vec<f32>`: 2-D points from the generators, or
//! images `[C, H, W]` scaled to `[-1, 1]` from the image readers (with their class labels).
//! Generators and readers build these on the CPU; the trainer turns them into tensors only when
//! it needs them, so data never ties itself to a device.

use crate::{Error, Result};
use candle_core::{Device, Tensor};

/// `len()` samples of `dim` values each, row-major: sample `i` is `data[i * dim..(i + 1) * dim]`.
/// `shape` is one sample's shape (`[dim]` for points, `[C, H, W]` for images; its product is
/// `dim`), and `labels`, when present, has one class per sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    pub data: Vec<f32>,
    pub dim: usize,
    pub shape: Vec<usize>,
    pub labels: Option<Vec<u8>>,
}

impl Points {
    /// Checked constructor for vectors: `dim > 0` and `data.len()` a multiple of `dim`.
    pub fn new(data: Vec<f32>, dim: usize) -> Result<Self> {
        let points = Points {
            data,
            dim,
            shape: vec![dim],
            labels: None,
        };
        points.check()?;
        Ok(points)
    }

    /// Checked constructor for images of `shape = [C, H, W]` (or any sample shape), with optional
    /// labels (one per sample).
    pub fn with_shape(data: Vec<f32>, shape: Vec<usize>, labels: Option<Vec<u8>>) -> Result<Self> {
        let points = Points {
            data,
            dim: shape.iter().product(),
            shape,
            labels,
        };
        points.check()?;
        Ok(points)
    }

    /// Images from pixel bytes, scaled with [`crate::images::scale_pixels`] to `[-1, 1]`.
    pub fn from_pixels(pixels: &[u8], shape: Vec<usize>, labels: Option<Vec<u8>>) -> Result<Self> {
        Self::with_shape(crate::images::scale_pixels(pixels), shape, labels)
    }

    /// Samples `rows` only (in that order), with their labels.
    pub fn select(&self, rows: &[usize]) -> Result<Points> {
        self.check()?;
        let mut data = Vec::with_capacity(rows.len() * self.dim);
        for &i in rows {
            if i >= self.len() {
                return Err(Error::param(
                    "rows",
                    format!("{i} is out of 0..{}", self.len()),
                ));
            }
            data.extend_from_slice(self.row(i));
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| rows.iter().map(|&i| l[i]).collect());
        Points::with_shape(data, self.shape.clone(), labels)
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

    /// The samples as an `[n, ...shape]` f32 tensor on `device` (`[n, dim]` for points).
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        self.check()?;
        let mut dims = vec![self.len()];
        dims.extend_from_slice(&self.shape);
        Ok(Tensor::from_slice(&self.data, dims, device)?)
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
        if self.shape.iter().product::<usize>() != self.dim {
            return Err(Error::param(
                "points.shape",
                format!("{:?} does not hold dim = {} values", self.shape, self.dim),
            ));
        }
        if let Some(labels) = &self.labels {
            if labels.len() != self.len() {
                return Err(Error::param(
                    "points.labels",
                    format!("{} labels for {} samples", labels.len(), self.len()),
                ));
            }
        }
        Ok(())
    }

    /// Builds 2-D points from f64 pairs: generators compute in f64 and store f32.
    pub(crate) fn from_pairs(pairs: &[[f64; 2]]) -> Self {
        let data = pairs
            .iter()
            .flat_map(|&[x, y]| [x as f32, y as f32])
            .collect();
        Points {
            data,
            dim: 2,
            shape: vec![2],
            labels: None,
        }
    }
}
