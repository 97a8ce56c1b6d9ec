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

    /// The input offset of output index `o` at kernel tap `t` along a side of length `n`, if
    /// inside the image.
    fn tap(&self, o: usize, t: usize, n: usize) -> Option<usize> {
        (o * self.stride + t)
            .checked_sub(self.pad)
            .filter(|&i| i < n)
    }

    /// The output x-range whose tap `kx` lands inside the image (ix = ox·s + kx − p ∈ [0, W)).
    fn valid_ox(&self, kx: usize) -> Range<usize> {
        let s = self.stride;
        if self.w + self.pad < kx + 1 {
            return 0..0;
        }
        // smallest ox with ox·s + kx ≥ p
        let lo = self.pad.saturating_sub(kx).div_ceil(s);
        // largest ox with ox·s + kx − p ≤ W − 1, plus one
        let hi = ((self.w + self.pad - kx - 1) / s + 1).min(self.wo);
        lo.min(hi)..hi
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
    let (k, s, hw_out) = (sh.k, sh.stride, sh.out_pixels());
    let n = images * hw_out;
    debug_assert_eq!(cols.len(), sh.rows() * n);
    for (r, row) in cols.chunks_exact_mut(n).enumerate() {
        let (c, ky, kx) = (r / (k * k), r / k % k, r % k);
        let xs = sh.valid_ox(kx);
        for g in 0..images {
            let plane = c * st.channel + g * st.image;
            for oy in 0..sh.ho {
                let out = &mut row[g * hw_out + oy * sh.wo..][..sh.wo];
                let Some(iy) = sh.tap(oy, ky, sh.h).filter(|_| !xs.is_empty()) else {
                    out.fill(T::ZERO);
                    continue;
                };
                out[..xs.start].fill(T::ZERO);
                out[xs.end..].fill(T::ZERO);
                // ix = ox·s + kx − p for ox in xs
                let first = (xs.start * s + kx).wrapping_sub(sh.pad);
                let line = &src[plane + iy * sh.w..][..sh.w];
                if s == 1 {
                    out[xs.clone()].copy_from_slice(&line[first..first + xs.len()]);
                } else {
                    let taps = line[first..].iter().step_by(s);
                    out[xs.clone()]
                        .iter_mut()
                        .zip(taps)
                        .for_each(|(o, v)| *o = *v);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dst[c, g, iy, ix] += cols[(c, ky, kx), (g, oy, ox)]` over all taps
/// that land on (iy, ix). `dst` is overwritten (zeroed first), padding taps are dropped.
pub(crate) fn col2im<T: Real>(
    sh: &ConvShape,
    images: usize,
    cols: &[T],
    dst: &mut [T],
    st: Strides,
) {
    let (k, s, hw_out) = (sh.k, sh.stride, sh.out_pixels());
    let n = images * hw_out;
    debug_assert_eq!(cols.len(), sh.rows() * n);
    dst.fill(T::ZERO);
    for (r, row) in cols.chunks_exact(n).enumerate() {
        let (c, ky, kx) = (r / (k * k), r / k % k, r % k);
        let xs = sh.valid_ox(kx);
        if xs.is_empty() {
            continue;
        }
        let first = (xs.start * s + kx).wrapping_sub(sh.pad);
        for g in 0..images {
            let plane = c * st.channel + g * st.image;
            for oy in 0..sh.ho {
                let Some(iy) = sh.tap(oy, ky, sh.h) else {
                    continue;
                };
                let src = &row[g * hw_out + oy * sh.wo..][xs.clone()];
                let line = &mut dst[plane + iy * sh.w..][..sh.w];
                if s == 1 {
                    for (d, v) in line[first..first + src.len()].iter_mut().zip(src) {
                        *d += *v;
                    }
                } else {
                    let taps = line[first..].iter_mut().step_by(s);
                    taps.zip(src).for_each(|(d, v)| *d += *v);
                }
            }
        }
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
                let mut back = vec![1.0; x.len()];
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
