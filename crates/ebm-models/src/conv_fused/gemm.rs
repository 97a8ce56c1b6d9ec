//! A bounds-checked, safe face for the `gemm` crate (the kernel candle's CPU matmul uses):
//! dst[m, n] (row-major, contiguous) = (dst if `accumulate`) + a[m, k] · b[k, n], where a and b are
//! strided views, so Wᵀ needs no copy.

use super::scalar::Real;
use ebm_core::{Error, Result};
use gemm::Parallelism;

/// A read-only strided matrix: element (i, j) at `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A contiguous row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [T], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view of the same data.
    pub fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element the view addresses is inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        last < self.data.len()
    }
}

/// `dst = [dst +] a · b`, with `threads` > 1 splitting the product over rayon's pool (for when
/// the caller has no outer parallelism to use).
pub(crate) fn matmul<T: Real>(
    dst: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    accumulate: bool,
    threads: usize,
) -> Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || dst.len() != m * n || !a.in_bounds() || !b.in_bounds() {
        return Err(Error::Msg(format!(
            "fused conv: matmul of [{m}, {k}]·[{}, {n}] into {} elements (a bug in the fused path)",
            b.rows,
            dst.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::ZERO);
        }
        return Ok(());
    }
    let parallelism = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the shapes agree and every index the kernel reads (a, b) or writes (dst, row-major
    // with `n` columns) was checked to be inside its slice above; dst does not alias a or b
    // (it is a unique borrow). `T` is f32 or f64, types `gemm` supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}
