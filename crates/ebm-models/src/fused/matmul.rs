//! Row-major matrix products for the fused MLP, on the `gemm` crate (the kernels candle's CPU
//! matmul uses, with run-time AVX-512/AVX2 dispatch), called single-threaded: the fused MLP
//! parallelises over batch tiles itself, which keeps each tile's buffers in one core's cache.

use gemm::Parallelism;

/// A layer's weight `[out, inp]`, row-major as torch's Linear stores it.
#[derive(Clone, Copy)]
pub(crate) struct WeightRef<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) out: usize,
    pub(crate) inp: usize,
}

/// How the weight enters the product.
#[derive(Clone, Copy)]
pub(crate) enum Weight {
    /// `dst[m, out] += lhs[m, inp] · wᵀ` (the forward).
    Transposed,
    /// `dst[m, inp] = lhs[m, out] · w` (the input gradient).
    AsIs,
}

/// `dst = [dst +] lhs · op(w)` for `m` rows, with `w: [out, inp]`. With `accumulate` the product
/// is added to what `dst` holds (the bias rows), else it overwrites `dst`.
pub(crate) fn matmul(
    m: usize,
    lhs: &[f32],
    w: WeightRef,
    how: Weight,
    dst: &mut [f32],
    accumulate: bool,
) {
    // (k, n) of the product and the strides of op(w) as a k×n matrix.
    let WeightRef { data: w, out, inp } = w;
    let (k, n, w_rs, w_cs) = match how {
        Weight::Transposed => (inp, out, 1, inp as isize),
        Weight::AsIs => (out, inp, inp as isize, 1),
    };
    // Hard checks, not debug ones: the raw pointers below must stay in bounds.
    assert!(lhs.len() >= m * k && dst.len() >= m * n && w.len() >= out * inp);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the slices hold the m×k, k×n and m×n matrices with the strides given (checked
    // above); dst does not alias lhs or w (a &mut and two & borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            w_cs,
            w_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// `dst[m, n] = aᵀ · b` with `a: [k, m]` and `b: [k, n]` row-major: a weight gradient gᵀh summed
/// over the k rows of a tile.
pub(crate) fn matmul_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], dst: &mut [f32]) {
    // Hard checks, not debug ones: the raw pointers below must stay in bounds.
    assert!(a.len() >= k * m && b.len() >= k * n && dst.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst[..m * n].fill(0.0);
        return;
    }
    // SAFETY: aᵀ is a's k×m block read with row stride 1 and column stride m, b the k×n block
    // row-major, dst the m×n block row-major (all checked above); dst aliases neither (&mut).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            m as isize,
            1,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
