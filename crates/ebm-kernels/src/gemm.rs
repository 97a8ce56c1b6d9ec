//! The one safe, bounds-checked face of the `gemm` crate (the kernels candle's CPU matmul uses,
//! with run-time AVX-512/AVX2 dispatch): dst[m, n] (row-major, contiguous) = (dst if
//! `accumulate`) + a[m, k] · b[k, n], where a and b are strided views, so Wᵀ needs no copy.

use crate::Real;
use gemm::Parallelism;

/// A read-only strided matrix: element (i, j) at `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, T> {
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

/// `dst = [dst +] a · b` into the first `a.rows × b.cols` elements of `dst` (row-major), with
/// `threads` > 1 splitting the product over rayon's pool (for callers with no outer parallelism
/// to use).
///
/// # Panics
/// When the shapes do not fit or a view reaches outside its slice: the callers build these from
/// their own layouts, so a mismatch is a bug, and the raw pointers below must stay in bounds.
pub fn matmul<T: Real>(
    dst: &mut [T],
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    accumulate: bool,
    threads: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && dst.len() >= m * n && a.in_bounds() && b.in_bounds(),
        "matmul of [{m}, {k}]·[{}, {n}] into {} elements",
        b.rows,
        dst.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::ZERO);
        }
        return;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by definition, in f64.
    fn naive(a: Mat<'_, f64>, b: Mat<'_, f64>) -> Vec<f64> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for l in 0..a.cols {
                    out[i * b.cols + j] += a.data[i * a.row_stride + l * a.col_stride]
                        * b.data[l * b.row_stride + j * b.col_stride];
                }
            }
        }
        out
    }

    #[test]
    fn strided_views_multiply_as_their_matrices() {
        let a: Vec<f64> = (0..15).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..20).map(|i| (i as f64).sin()).collect();
        // a: [3, 5]; b: [4, 5] read transposed as [5, 4].
        let (am, bm) = (Mat::rows(&a, 3, 5), Mat::rows(&b, 4, 5).t());
        let mut dst = vec![0.0; 12];
        matmul(&mut dst, am, bm, false, 1);
        let want = naive(am, bm);
        for (x, y) in dst.iter().zip(&want) {
            assert!((x - y).abs() < 1e-12);
        }
        // accumulate adds to what dst holds; threads give the same values
        let mut acc = vec![1.0; 12];
        matmul(&mut acc, am, bm, true, 2);
        for (x, y) in acc.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() < 1e-12);
        }
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros_or_leaves_dst() {
        let mut dst = vec![5.0f32; 6];
        matmul(
            &mut dst,
            Mat::rows(&[], 2, 0),
            Mat::rows(&[], 0, 3),
            true,
            1,
        );
        assert_eq!(dst, [5.0; 6]);
        matmul(
            &mut dst,
            Mat::rows(&[], 2, 0),
            Mat::rows(&[], 0, 3),
            false,
            1,
        );
        assert_eq!(dst, [0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "matmul of")]
    fn a_view_outside_its_slice_panics() {
        let a = [1.0f32; 5];
        let mut dst = [0.0f32; 4];
        matmul(&mut dst, Mat::rows(&a, 2, 3), Mat::rows(&a, 3, 2), false, 1);
    }
}
