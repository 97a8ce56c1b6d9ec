//! The thin ends of the MLP: the input layer when x has few coordinates (2 for the 2-D
//! examples), the input gradient through it, and the scalar head. As GEMMs these have k or n of
//! 1–2, where `gemm` falls to its slowest kernels (profiled: ~6 % of a 10,000-chain step), and
//! the head's per-row dot product written as an iterator sum is a chain of 128 dependent adds.
//! Here they are row loops over contiguous memory with independent partial sums, vectorised per
//! instruction set ([`ebm_kernels::simd`]).

use ebm_kernels::multiversion;

/// Input widths up to this take the thin path.
pub(super) const THIN_MAX: usize = 8;

/// Lanes of partial sums in [`dot`]: one AVX-512 register, or two AVX2 ones.
const LANES: usize = 16;

/// a·b with [`LANES`] independent partial sums (a fixed order, so the same bits everywhere).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = at.iter().zip(bt).map(|(x, y)| x * y).sum();
    // Pairwise, so the reduction is a short tree rather than a 16-long chain.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0] + tail
}

multiversion! {
    /// `energy[r] = b + h[r, :]·w` for rows of width `w.len()`.
    pub(super) fn head(h: &[f32], w: &[f32], b: f32, energy: &mut [f32]) {
        for (e, row) in energy.iter_mut().zip(h.chunks_exact(w.len())) {
            *e = b + dot(row, w);
        }
    }
}

multiversion! {
    /// `z[r, :] = bias + Σₖ x[r, k]·wt[k, :]`, with `wt = W₀ᵀ` (`[inp, out]`, out = bias.len()).
    pub(super) fn forward(x: &[f32], wt: &[f32], bias: &[f32], z: &mut [f32]) {
        let out = bias.len();
        let inp = wt.len() / out;
        for (zr, xr) in z.chunks_exact_mut(out).zip(x.chunks_exact(inp)) {
            zr.copy_from_slice(bias);
            for (xk, wk) in xr.iter().zip(wt.chunks_exact(out)) {
                for (zj, wj) in zr.iter_mut().zip(wk) {
                    *zj += xk * wj;
                }
            }
        }
    }
}

multiversion! {
    /// `gx[r, k] = g[r, :]·wt[k, :]`: the input gradient through the first layer.
    pub(super) fn backward(g: &[f32], wt: &[f32], inp: usize, gx: &mut [f32]) {
        let out = wt.len() / inp;
        for (gxr, gr) in gx.chunks_exact_mut(inp).zip(g.chunks_exact(out)) {
            for (gxk, wk) in gxr.iter_mut().zip(wt.chunks_exact(out)) {
                *gxk = dot(gr, wk);
            }
        }
    }
}
