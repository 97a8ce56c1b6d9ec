//! E(x) and ∇ₓE(x) of a conv energy (conv → φ → … → global pool → linear) by explicit forward
//! and backward passes on the CPU, without candle's autograd.
//!
//! Why: candle's CPU conv backward goes through `conv_transpose2d`, which is far slower than the
//! forward. Here every convolution and every input gradient is one GEMM over an im2col matrix
//! ([`im2col`]), the activations keep φ'(z) from the forward, and the backward is
//! head weight → pool → ⊙φ'(z) → Wᵀ·g → col2im, layer by layer down to the input.
//!
//! The batch is cut into groups of a few images; a group runs forward and backward on one thread
//! (rayon over groups), so its feature maps stay in cache. Inside a group the maps are stored
//! `[C, G, H, W]`, which is what one GEMM with N = G·H·W columns produces.

mod gemm;
mod im2col;
mod scalar;

use crate::{Activation, Pool};
use candle_core::Tensor;
use ebm_core::{Error, Result};
use gemm::{matmul, Mat};
use im2col::{col2im, im2col, ConvShape, Strides};
use rayon::prelude::*;
use scalar::Act;
pub(crate) use scalar::Real;

/// Most images per group. Small groups keep a group's im2col matrix (1 MB per image for the
/// bench network's second layer) in L2 and balance the threads; 1, 2, 4 and 8 measured the same
/// CPU time per ∇ₓE on the bench network (±3%).
const MAX_GROUP: usize = 2;

/// One conv layer as the fused path needs it: weights already spectrally normalised.
pub(crate) struct ConvSpec<'a> {
    /// `[C_out, C_in, k, k]`
    pub weight: &'a Tensor,
    /// `[C_out]`
    pub bias: &'a Tensor,
    pub stride: usize,
    pub padding: usize,
}

struct ConvLayer<T> {
    shape: ConvShape,
    cout: usize,
    /// `[C_out, C_in·k·k]`, row-major.
    w: Vec<T>,
    b: Vec<T>,
}

/// A conv energy's weights copied out of candle, ready for [`FusedConvNet::run`].
pub(crate) struct FusedConvNet<T> {
    input: [usize; 3],
    convs: Vec<ConvLayer<T>>,
    /// The head's weight times the pool's scale (1/(H·W) for a mean).
    head_w: Vec<T>,
    head_b: T,
    act: Act<T>,
}

fn values<T: Real>(t: &Tensor) -> Result<Vec<T>> {
    Ok(t.flatten_all()?.to_vec1::<T>()?)
}

impl<T: Real> FusedConvNet<T> {
    /// `head`: weight `[1, C_last]` and bias `[1]`.
    pub fn new(
        input: [usize; 3],
        convs: &[ConvSpec<'_>],
        head: (&Tensor, &Tensor),
        (activation, beta): (Activation, f64),
        pool: Pool,
    ) -> Result<Self> {
        let [mut cin, mut h, mut w] = input;
        let mut layers = Vec::with_capacity(convs.len());
        for (i, spec) in convs.iter().enumerate() {
            let &[cout, wc, k, k2] = spec.weight.dims() else {
                return Err(Error::Msg(format!(
                    "conv layer {i}: weight is not [out, in, k, k]"
                )));
            };
            let shape = ConvShape::new(cin, (h, w), k, spec.stride, spec.padding)
                .filter(|_| wc == cin && k == k2 && spec.stride > 0)
                .ok_or_else(|| {
                    Error::Msg(format!(
                        "conv layer {i}: weight {:?} does not fit a {cin}×{h}×{w} input",
                        spec.weight.dims()
                    ))
                })?;
            layers.push(ConvLayer {
                shape,
                cout,
                w: values(spec.weight)?,
                b: values(spec.bias)?,
            });
            (cin, h, w) = (cout, shape.ho, shape.wo);
        }
        let scale = match pool {
            Pool::Mean => 1.0 / (h * w) as f64,
            Pool::Sum => 1.0,
        };
        let head_w: Vec<T> = values::<T>(head.0)?
            .into_iter()
            .map(|v| v * T::from_f64(scale))
            .collect();
        let head_b = values::<T>(head.1)?;
        if head_w.len() != cin || head_b.len() != 1 {
            return Err(Error::Msg(format!(
                "conv head: expected weight [1, {cin}] and bias [1], got {} and {} values",
                head_w.len(),
                head_b.len()
            )));
        }
        Ok(FusedConvNet {
            input,
            convs: layers,
            head_w,
            head_b: head_b[0],
            act: Act {
                activation,
                beta: T::from_f64(beta),
            },
        })
    }

    /// E for every image of `x` (`[B, C, H, W]` row-major), and ∇ₓE (same layout) if `want_grad`.
    pub fn run(&self, x: &[T], want_grad: bool) -> Result<(Vec<T>, Option<Vec<T>>)> {
        let per_image: usize = self.input.iter().product();
        if per_image == 0 || !x.len().is_multiple_of(per_image) {
            return Err(Error::Msg(format!(
                "fused conv: {} values are not a batch of {:?} images",
                x.len(),
                self.input
            )));
        }
        let batch = x.len() / per_image;
        let threads = rayon::current_num_threads().max(1);
        let group = batch.div_ceil(threads).clamp(1, MAX_GROUP);
        // With fewer groups than threads, let the GEMMs split instead.
        let gemm_threads = if batch.div_ceil(group) < threads {
            threads
        } else {
            1
        };
        let mut energy = vec![T::ZERO; batch];
        let mut grad = if want_grad {
            vec![T::ZERO; x.len()]
        } else {
            Vec::new()
        };
        let mut grads: Vec<Option<&mut [T]>> = if want_grad {
            grad.chunks_mut(group * per_image).map(Some).collect()
        } else {
            (0..batch.div_ceil(group)).map(|_| None).collect()
        };
        energy
            .par_chunks_mut(group)
            .zip(x.par_chunks(group * per_image))
            .zip(grads.par_iter_mut())
            .try_for_each(|((e, x), g)| self.group(x, e, g.as_deref_mut(), gemm_threads))?;
        Ok((energy, want_grad.then_some(grad)))
    }

    /// Forward (and backward into `grad`) for the `e.len()` images of `x`.
    fn group(&self, x: &[T], e: &mut [T], grad: Option<&mut [T]>, threads: usize) -> Result<()> {
        let images = e.len();
        let [c0, h0, w0] = self.input;
        let input_strides = Strides {
            channel: h0 * w0,
            image: c0 * h0 * w0,
        };
        let internal = |sh: &ConvShape| Strides {
            channel: images * sh.h * sh.w,
            image: sh.h * sh.w,
        };
        // φ(z) of every layer (the next layer's input) and φ'(z) (for the backward).
        let mut maps: Vec<Vec<T>> = Vec::with_capacity(self.convs.len());
        let mut slopes: Vec<Vec<T>> = Vec::with_capacity(self.convs.len());
        let mut cols = Vec::new();
        for (l, layer) in self.convs.iter().enumerate() {
            let sh = &layer.shape;
            let n = images * sh.out_pixels();
            cols.resize(sh.rows() * n, T::ZERO);
            match l {
                0 => im2col(sh, images, x, input_strides, &mut cols),
                _ => im2col(sh, images, &maps[l - 1], internal(sh), &mut cols),
            }
            let mut z = vec![T::ZERO; layer.cout * n];
            let w = Mat::rows(&layer.w, layer.cout, sh.rows());
            matmul(&mut z, w, Mat::rows(&cols, sh.rows(), n), false, threads)?;
            let mut slope = vec![T::ZERO; z.len()];
            let rows = z.chunks_exact_mut(n).zip(slope.chunks_exact_mut(n));
            for ((z, slope), &b) in rows.zip(&layer.b) {
                self.act.apply(z, slope, b);
            }
            maps.push(z);
            slopes.push(slope);
        }
        let (Some(last), Some(top)) = (maps.last(), self.convs.last()) else {
            return Err(Error::Msg("fused conv: no conv layers".into()));
        };
        let hw = top.shape.out_pixels();
        for (g, e) in e.iter_mut().enumerate() {
            let mut sum = self.head_b;
            for (c, &wc) in self.head_w.iter().enumerate() {
                let plane = &last[(c * images + g) * hw..][..hw];
                sum += wc * plane.iter().fold(T::ZERO, |a, &v| a + v);
            }
            *e = sum;
        }
        let Some(grad) = grad else { return Ok(()) };

        // ∂E/∂z of the top layer: the head weight (pool scale included) times φ'(z).
        let mut g = slopes.pop().unwrap_or_default();
        let n_top = images * hw;
        for (row, &wc) in g.chunks_exact_mut(n_top).zip(&self.head_w) {
            row.iter_mut().for_each(|v| *v *= wc);
        }
        for (l, layer) in self.convs.iter().enumerate().rev() {
            let sh = &layer.shape;
            let n = images * sh.out_pixels();
            cols.resize(sh.rows() * n, T::ZERO);
            let wt = Mat::rows(&layer.w, layer.cout, sh.rows()).t();
            matmul(&mut cols, wt, Mat::rows(&g, layer.cout, n), false, threads)?;
            if l == 0 {
                col2im(sh, images, &cols, grad, input_strides);
            } else {
                let mut below = vec![T::ZERO; sh.cin * images * sh.h * sh.w];
                col2im(sh, images, &cols, &mut below, internal(sh));
                let slope = slopes.pop().unwrap_or_default();
                below.iter_mut().zip(&slope).for_each(|(v, &d)| *v *= d);
                g = below;
            }
        }
        Ok(())
    }
}
