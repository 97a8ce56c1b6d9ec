//! The fused MLP's matrix products, as views of its layers' weights for the workspace's one
//! GEMM call ([`ebm_kernels::gemm`]), single-threaded: the fused MLP parallelises over batch
//! tiles itself, which keeps each tile's buffers in one core's cache.

use ebm_kernels::gemm::{self, Mat};

/// A layer's weight `[out, inp]`, row-major as torch's Linear stores it.
#[derive(Clone, Copy)]
pub(super) struct WeightRef<'a> {
    pub(super) data: &'a [f32],
    pub(super) out: usize,
    pub(super) inp: usize,
}

/// How the weight enters the product.
#[derive(Clone, Copy)]
pub(super) enum Weight {
    /// `dst[m, out] += lhs[m, inp] · wᵀ` (the forward).
    Transposed,
    /// `dst[m, inp] = lhs[m, out] · w` (the input gradient).
    AsIs,
}

/// `dst = [dst +] lhs · op(w)` for `m` rows, with `w: [out, inp]`. With `accumulate` the product
/// is added to what `dst` holds (the bias rows), else it overwrites `dst`.
pub(super) fn matmul(
    m: usize,
    lhs: &[f32],
    w: WeightRef,
    how: Weight,
    dst: &mut [f32],
    accumulate: bool,
) {
    let WeightRef { data, out, inp } = w;
    let w = Mat::rows(data, out, inp);
    let (k, w) = match how {
        Weight::Transposed => (inp, w.t()),
        Weight::AsIs => (out, w),
    };
    gemm::matmul(dst, Mat::rows(lhs, m, k), w, accumulate, 1);
}

/// `dst[m, n] = aᵀ · b` with `a: [k, m]` and `b: [k, n]` row-major: a weight gradient gᵀh summed
/// over the k rows of a tile.
pub(super) fn matmul_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], dst: &mut [f32]) {
    gemm::matmul(dst, Mat::rows(a, k, m).t(), Mat::rows(b, k, n), false, 1);
}
