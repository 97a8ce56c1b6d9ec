//! im2col and its adjoint col2im for a square k×k convolution with stride and zero padding, on a
//! group of images, so that a convolution and its input gradient are each one GEMM:
//!
//! - forward:  z[C_out, N] = W[C_out, C_in·k·k] · cols[C_in·k·k, N]
//! - backward: cols[C_in·k·k, N] = Wᵀ · g[C_out, N], then col2im scatter-adds cols into ∂E/∂input
//!
//! where N = images·H_out·W_out and column j = (image, oy, ox). Padding is never materialised:
//! out-of-image taps are zeros in im2col and are skipped in col2im (that is the crop).

use ebm_kernels::Real;
use std::ops::Range;

/// One conv layer's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

/// Where element (channel c, image g, y, x) of a group of feature maps lives:
/// `c·channel + g·image + y·W + x`. Lets the same code read the caller's `[B, C, H, W]` input
/// and the internal `[C, G, H, W]` maps (which are what a GEMM with N = G·H·W writes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strides {
    pub channel: usize,
    pub image: usize,
}

impl ConvShape {
    /// `None` when the kernel is larger than the padded input.
    pub fn new(
        cin: usize,
        (h, w): (usize, usize),
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Option<Self> {
        let out = |n: usize| (n + 2 * pad).checked_sub(k).map(|d| d / stride + 1);
        Some(ConvShape {
            cin,
            h,
            w,
            k,
            stride,
            pad,
            ho: out(h)?,
            wo: out(w)?,
        })
    }

    /// Rows of cols: C_in·k·k.
    pub fn rows(&self) -> usize {
        self.cin * self.k * self.k
    }

    pub fn out_pixels(&self) -> usize {
        self.ho * self.wo
    }

    /// The valid outputs of every kernel tap along one side of length `n` with `n_out` outputs.
    fn taps(&self, n: usize, n_out: usize) -> Vec<Tap> {
        (0..self.k).map(|t| self.tap(t, n, n_out)).collect()
    }

    /// The outputs o whose input o·s + t − p lies in [0, n), and the input of the first one.
    fn tap(&self, t: usize, n: usize, n_out: usize) -> Tap {
        let s = self.stride;
        if n + self.pad < t + 1 {
            return Tap {
                out: 0..0,
                first: 0,
            };
        }
        // smallest o with o·s + t ≥ p
        let lo = self.pad.saturating_sub(t).div_ceil(s);
        // largest o with o·s + t − p ≤ n − 1, plus one
        let hi = ((n + self.pad - t - 1) / s + 1).min(n_out);
        let out = lo.min(hi)..hi;
        let first = (out.start * s + t).wrapping_sub(self.pad);
        Tap { out, first }
    }
}

/// One kernel tap along one side: the outputs that read inside the image, and the input index
/// of the first of them (the others follow every `stride`). Computed once per call, so the
/// inner loops do no bounds arithmetic.
#[derive(Clone, Debug)]
struct Tap {
    out: Range<usize>,
    first: usize,
}

/// The taps of both sides.
struct Taps {
    y: Vec<Tap>,
    x: Vec<Tap>,
}

impl Taps {
    fn new(sh: &ConvShape) -> Self {
        Taps {
            y: sh.taps(sh.h, sh.ho),
            x: sh.taps(sh.w, sh.wo),
        }
    }
}

/// `out[j] = line[j·s]`. Stride 1 and 2 (every conv of the built-in nets) get their own
/// instances with the stride known at compile time, which the compiler vectorises; a generic
/// `step_by` zip did not.
fn gather<T: Real>(out: &mut [T], line: &[T], s: usize) {
    match s {
        1 => out.copy_from_slice(&line[..out.len()]),
        2 => gather_const::<T, 2>(out, line),
        _ => gather_dyn(out, line, s),
    }
}

fn gather_const<T: Real, const S: usize>(out: &mut [T], line: &[T]) {
    let Some((last, head)) = out.split_last_mut() else {
        return;
    };
    // Whole chunks of S for all but the last output, so that no index is checked in the loop
    // (the last one's chunk may run past the end of the image).
    let (chunks, rest) = line[..head.len() * S + 1].split_at(head.len() * S);
    for (o, chunk) in head.iter_mut().zip(chunks.chunks_exact(S)) {
        *o = chunk[0];
    }
    *last = rest[0];
}

fn gather_dyn<T: Real>(out: &mut [T], line: &[T], s: usize) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = line[j * s];
    }
}

/// `line[j·s] += src[j]`: the adjoint of [`gather`].
fn scatter_add<T: Real>(line: &mut [T], src: &[T], s: usize) {
    match s {
        1 => {
            for (d, v) in line[..src.len()].iter_mut().zip(src) {
                *d += *v;
            }
        }
        2 => scatter_add_const::<T, 2>(line, src),
        _ => scatter_add_dyn(line, src, s),
    }
}

fn scatter_add_const<T: Real, const S: usize>(line: &mut [T], src: &[T]) {
    let Some((last, head)) = src.split_last() else {
        return;
    };
    // As in `gather_const`: whole chunks, no index checks in the loop.
    let (chunks, rest) = line[..head.len() * S + 1].split_at_mut(head.len() * S);
    for (chunk, v) in chunks.chunks_exact_mut(S).zip(head) {
        chunk[0] += *v;
    }
    rest[0] += *last;
}

fn scatter_add_dyn<T: Real>(line: &mut [T], src: &[T], s: usize) {
    for (j, v) in src.iter().enumerate() {
        line[j * s] += *v;
    }
}

/// `cols[(c, ky, kx), (g, oy, ox)] = src[c, g, oy·s + ky − p, ox·s + kx − p]` (0 outside).
pub(crate) fn im2col<T: Real>(
    sh: &ConvShape,
    images: usize,
    src: &[T],
    st: Strides,
    cols: &mut [T],
) {
    let hw_out = sh.out_pixels();
    let n = images * hw_out;
    debug_assert_eq!(cols.len(), sh.rows() * n);
    let taps = Taps::new(sh);
    let mut rows = cols.chunks_exact_mut(n);
    for c in 0..sh.cin {
        for ty in &taps.y {
            for tx in &taps.x {
                let row = rows.next().expect("cols has C_in·k·k rows");
                for (g, out) in row.chunks_exact_mut(hw_out).enumerate() {
                    let plane = &src[c * st.channel + g * st.image..][..sh.h * sh.w];
                    im2col_plane(sh, (ty, tx), plane, out);
                }
            }
        }
    }
}

/// One image's part of one row of cols (tap (ty, tx) of one channel's `plane`): zeros where the
/// tap falls in the padding, the strided input elsewhere.
fn im2col_plane<T: Real>(sh: &ConvShape, (ty, tx): (&Tap, &Tap), plane: &[T], out: &mut [T]) {
    let (wo, ys, xs) = (sh.wo, ty.out.clone(), tx.out.clone());
    if xs.is_empty() {
        out.fill(T::ZERO);
        return;
    }
    out[..ys.start * wo].fill(T::ZERO);
    out[ys.end * wo..].fill(T::ZERO);
    let lines = out[ys.start * wo..ys.end * wo].chunks_exact_mut(wo);
    for (i, out) in lines.enumerate() {
        let iy = ty.first + i * sh.stride;
        out[..xs.start].fill(T::ZERO);
        out[xs.end..].fill(T::ZERO);
        gather(
            &mut out[xs.clone()],
            &plane[iy * sh.w + tx.first..],
            sh.stride,
        );
    }
}

/// The adjoint of [`im2col`]: `dst[c, g, iy, ix] += cols[(c, ky, kx), (g, oy, ox)]` over all taps
/// that land on (iy, ix); padding taps are dropped. Adds into `dst` (the callers pass zeros):
/// every element receives its taps in ascending row order of cols, so the sums are
/// deterministic and independent of how the loops below are blocked.
pub(crate) fn col2im<T: Real>(
    sh: &ConvShape,
    images: usize,
    cols: &[T],
    dst: &mut [T],
    st: Strides,
) {
    let hw_out = sh.out_pixels();
    let n = images * hw_out;
    debug_assert_eq!(cols.len(), sh.rows() * n);
    let taps = Taps::new(sh);
    let mut rows = cols.chunks_exact(n);
    for c in 0..sh.cin {
        for ty in &taps.y {
            for tx in &taps.x {
                let row = rows.next().expect("cols has C_in·k·k rows");
                if tx.out.is_empty() {
                    continue;
                }
                for (g, src) in row.chunks_exact(hw_out).enumerate() {
                    let plane = &mut dst[c * st.channel + g * st.image..][..sh.h * sh.w];
                    col2im_plane(sh, (ty, tx), src, plane);
                }
            }
        }
    }
}

/// The adjoint of [`im2col_plane`]: adds one image's part of one row of cols into its plane.
fn col2im_plane<T: Real>(sh: &ConvShape, (ty, tx): (&Tap, &Tap), src: &[T], plane: &mut [T]) {
    let (wo, ys, xs) = (sh.wo, ty.out.clone(), tx.out.clone());
    let lines = src[ys.start * wo..ys.end * wo].chunks_exact(wo);
    for (i, src) in lines.enumerate() {
        let iy = ty.first + i * sh.stride;
        let line = &mut plane[iy * sh.w + tx.first..];
        scatter_add(line, &src[xs.clone()], sh.stride);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::rng;

    fn normal(seed: u64, n: usize) -> Vec<f64> {
        let mut r = rng::stream(seed, "im2col-test", 0);
        rng::normal_vec(&mut r, n)
            .into_iter()
            .map(f64::from)
            .collect()
    }

    /// ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for both layouts: col2im is exactly the adjoint, so the
    /// backward through it is the transpose of the forward (padding and crop included).
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // (cin, h, w, k, stride, pad, images)
        let cases = [
            (1, 5, 5, 3, 1, 1, 1),
            (2, 7, 6, 4, 2, 1, 3),
            (3, 9, 10, 3, 2, 0, 2),
            (2, 6, 8, 5, 1, 2, 2),
            (1, 4, 4, 3, 3, 2, 1),
            (3, 8, 8, 1, 1, 0, 2),
            (2, 5, 7, 2, 3, 0, 2),
        ];
        for (i, &(cin, h, w, k, stride, pad, images)) in cases.iter().enumerate() {
            let sh = ConvShape::new(cin, (h, w), k, stride, pad).expect("valid case");
            let n = images * sh.out_pixels();
            let x = normal(i as u64, cin * images * h * w);
            let c = normal(100 + i as u64, sh.rows() * n);
            for st in [
                Strides {
                    channel: h * w,
                    image: cin * h * w,
                },
                Strides {
                    channel: images * h * w,
                    image: h * w,
                },
            ] {
                let mut cols = vec![0.0; sh.rows() * n];
                im2col(&sh, images, &x, st, &mut cols);
                let mut back = vec![0.0; x.len()];
                col2im(&sh, images, &c, &mut back, st);
                let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
                let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
                assert!(
                    (lhs - rhs).abs() < 1e-10 * (1.0 + lhs.abs()),
                    "case {i}: {lhs} vs {rhs}"
                );
            }
        }
    }

    /// im2col and col2im by the definition, one element at a time, rows of cols in ascending
    /// order: the reference the blocked loops must match bit for bit.
    fn naive(sh: &ConvShape, images: usize, x: &[f64], c: &[f64], st: Strides) -> [Vec<f64>; 2] {
        let (k, n) = (sh.k, images * sh.out_pixels());
        let mut cols = vec![0.0; sh.rows() * n];
        let mut back = vec![0.0; x.len()];
        let at = |o: usize, t: usize, len: usize| {
            (o * sh.stride + t).checked_sub(sh.pad).filter(|&i| i < len)
        };
        for r in 0..sh.rows() {
            let (ch, ky, kx) = (r / (k * k), r / k % k, r % k);
            for g in 0..images {
                for oy in 0..sh.ho {
                    for ox in 0..sh.wo {
                        let j = r * n + g * sh.out_pixels() + oy * sh.wo + ox;
                        if let (Some(iy), Some(ix)) = (at(oy, ky, sh.h), at(ox, kx, sh.w)) {
                            let i = ch * st.channel + g * st.image + iy * sh.w + ix;
                            cols[j] = x[i];
                            back[i] += c[j];
                        }
                    }
                }
            }
        }
        [cols, back]
    }

    /// The blocked im2col and col2im equal the definition bitwise (col2im's sums included:
    /// each element adds its taps in the same order), over strides 1, 2 and 3 and paddings up
    /// to past the kernel.
    #[test]
    fn im2col_and_col2im_match_the_definition_bitwise() {
        // (cin, h, w, k, stride, pad, images)
        let cases = [
            (1, 28, 28, 3, 1, 1, 2),
            (3, 14, 14, 4, 2, 1, 2),
            (2, 7, 6, 4, 2, 1, 3),
            (3, 9, 10, 3, 2, 0, 2),
            (2, 6, 8, 5, 1, 2, 2),
            (1, 4, 4, 3, 3, 2, 1),
            (2, 5, 7, 2, 3, 0, 2),
            (1, 3, 3, 1, 2, 3, 2),
        ];
        for (i, &(cin, h, w, k, stride, pad, images)) in cases.iter().enumerate() {
            let sh = ConvShape::new(cin, (h, w), k, stride, pad).expect("valid case");
            let n = images * sh.out_pixels();
            let x = normal(200 + i as u64, cin * images * h * w);
            let c = normal(300 + i as u64, sh.rows() * n);
            let st = Strides {
                channel: images * h * w,
                image: h * w,
            };
            let [cols_ref, back_ref] = naive(&sh, images, &x, &c, st);
            let mut cols = vec![f64::NAN; sh.rows() * n];
            im2col(&sh, images, &x, st, &mut cols);
            let mut back = vec![0.0; x.len()];
            col2im(&sh, images, &c, &mut back, st);
            let bits = |v: &[f64]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&cols), bits(&cols_ref), "case {i}: im2col");
            assert_eq!(bits(&back), bits(&back_ref), "case {i}: col2im");
        }
    }

    /// The first layer of the bench network by hand: each column holds the 3×3 patch, zeros in
    /// the padding.
    #[test]
    fn im2col_reads_patches_with_zero_padding() {
        let sh = ConvShape::new(1, (2, 3), 3, 1, 1).expect("valid");
        let x: Vec<f64> = (1..=6).map(f64::from).collect();
        let mut cols = vec![0.0; 9 * 6];
        im2col(
            &sh,
            1,
            &x,
            Strides {
                channel: 6,
                image: 6,
            },
            &mut cols,
        );
        // column of output (0, 0): taps (−1..=1)×(−1..=1) around x[0][0]
        let col: Vec<f64> = (0..9).map(|r| cols[r * 6]).collect();
        assert_eq!(col, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 4.0, 5.0]);
        // column of output (1, 2): around x[1][2] = 6
        let col: Vec<f64> = (0..9).map(|r| cols[r * 6 + 5]).collect();
        assert_eq!(col, [2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
