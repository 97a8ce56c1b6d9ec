//! The MLP energy's fast path: E(x) and ∇ₓE(x) by explicit matrix products and a fused
//! activation pass, with no candle ops, no autograd graph and no allocations besides the
//! caller's result buffers.
//!
//! It sits below the model: it takes an [`MlpSpec`] (widths, activation, β) and the weights as
//! slices ([`LayerWeights`]), as the conv path takes `ConvSpec`s, and knows nothing of
//! [`crate::Mlp`]. The model's sampling view borrows the weights from the parameters' storage
//! at every call (so it always sees the optimiser's latest step) and hands anything this path
//! does not cover (another device or dtype, a non-contiguous x) to the op-based MLP.
//!
//! Per tile of rows, with hidden pre-activations zₗ = hₗ₋₁Wₗᵀ + bₗ:
//! - forward: one pass turns zₗ into φ(zₗ) in place and stores φ'(zₗ) beside it;
//! - head: E = h_L·w_out + b_out, and g = w_out ⊙ φ'(z_L) in the same loop;
//! - backward: g ← (g Wₗ) ⊙ φ'(zₗ₋₁) down to the input, g W₁ = ∇ₓE.
//!
//! Tiles of [`TILE`] rows keep a tile's activations in L2 between the forward and the backward;
//! large batches run their tiles in parallel on rayon, small ones on the calling thread (a rayon
//! hand-off costs microseconds, more than a 10-chain step). Buffers come from a pool the
//! [`FusedMlp`] owns (one per model, shared by its views), so they are allocated once per
//! thread, not per call.
//!
//! Training reuses the forward: `param_grad.rs` keeps each tile's activations and backpropagates
//! loss-chosen row weights to the weights and biases (`Model::energy_param_grads`).
//!
//! The numeric kernels (φ/φ′, SIMD dispatch, GEMM) are `ebm_kernels`'.

mod matmul;
mod param_grad;
mod scratch;
mod thin;

use crate::Activation;
use ebm_core::{Error, Result};
use ebm_kernels::activation;
use matmul::{matmul, Weight, WeightRef};
pub(crate) use param_grad::ParamGrads;
use rayon::prelude::*;
use scratch::{Scratch, ScratchPool};

/// Rows per tile: with 128-wide layers a tile's activations and derivatives (4 × 64 KB) and the
/// gradient buffers stay in a core's L2 between the forward and the backward.
const TILE: usize = 128;

/// Below this many rows one thread does the whole batch.
const PARALLEL_MIN_ROWS: usize = 2 * TILE;

/// The shape of an energy-head MLP: what the fast path needs besides the weights.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MlpSpec {
    /// Layer widths, input first, 1 (the energy) last.
    pub widths: Vec<usize>,
    pub activation: Activation,
    /// β of `activation = "swish"`.
    pub beta: f32,
}

/// One layer's weights as the fast path reads them: `w: [out, inp]` row-major (torch's Linear
/// layout) and `b: [out]`.
#[derive(Clone, Copy)]
pub(crate) struct LayerWeights<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
}

/// The fast path of one MLP shape, with its scratch buffers.
#[derive(Debug)]
pub(crate) struct FusedMlp {
    spec: MlpSpec,
    pool: ScratchPool,
}

/// Borrowed weights of one layer, with its shape.
struct LayerRef<'a> {
    w: WeightRef<'a>,
    b: &'a [f32],
}

/// Layers borrowed and checked against the spec, with W₀ᵀ for a thin input layer.
struct Layers<'a> {
    refs: Vec<LayerRef<'a>>,
    thin_wt: Option<Vec<f32>>,
}

impl FusedMlp {
    /// `None` when the network is not one this path covers: it needs a hidden layer (else E is
    /// affine, nothing to fuse) and a scalar head.
    pub(crate) fn new(spec: MlpSpec) -> Option<Self> {
        let covered = spec.widths.len() >= 3 && spec.widths.last() == Some(&1);
        covered.then(|| FusedMlp {
            spec,
            pool: ScratchPool::default(),
        })
    }

    pub(crate) fn spec(&self) -> &MlpSpec {
        &self.spec
    }

    /// The layers with their shapes from the spec (checked), and W₀ᵀ for a thin input layer:
    /// `[inp, out]`, a few hundred floats copied per call.
    fn layers<'a>(&self, layers: &[LayerWeights<'a>]) -> Result<Layers<'a>> {
        let widths = &self.spec.widths;
        if layers.len() + 1 != widths.len() {
            return Err(Error::shape(
                "fused MLP",
                format!("{} layers for widths {widths:?}", layers.len()),
            ));
        }
        let mut refs = Vec::with_capacity(layers.len());
        for (i, (l, pair)) in layers.iter().zip(widths.windows(2)).enumerate() {
            let (inp, out) = (pair[0], pair[1]);
            if l.w.len() != out * inp || l.b.len() != out {
                return Err(Error::shape(
                    format!("fused MLP layer {i}"),
                    format!(
                        "{} weights and {} biases for a {inp} → {out} layer",
                        l.w.len(),
                        l.b.len()
                    ),
                ));
            }
            refs.push(LayerRef {
                w: WeightRef {
                    data: l.w,
                    out,
                    inp,
                },
                b: l.b,
            });
        }
        let first = refs[0].w;
        let thin_wt: Option<Vec<f32>> = (first.inp <= thin::THIN_MAX).then(|| {
            (0..first.inp)
                .flat_map(|k| (0..first.out).map(move |j| first.data[j * first.inp + k]))
                .collect()
        });
        Ok(Layers { refs, thin_wt })
    }

    /// Checks that `x` holds `rows` rows of the input width (and `grad`, if any, as many values).
    fn check_rows(&self, x: &[f32], rows: usize, grad: Option<usize>) -> Result<()> {
        let d = self.spec.widths[0];
        if x.len() != rows * d || grad.is_some_and(|g| g != x.len()) {
            return Err(Error::shape(
                "fused MLP",
                format!(
                    "{} input values (and {grad:?} gradient values) for {rows} rows of width {d}",
                    x.len()
                ),
            ));
        }
        Ok(())
    }

    /// E per row into `energy` (`energy.len()` rows of `x`, row-major) and, with `grad`, ∇ₓE in
    /// the layout of `x`.
    pub(crate) fn energy_and_grad(
        &self,
        layers: &[LayerWeights],
        x: &[f32],
        energy: &mut [f32],
        grad: Option<&mut [f32]>,
    ) -> Result<()> {
        self.check_rows(x, energy.len(), grad.as_ref().map(|g| g.len()))?;
        let layers = self.layers(layers)?;
        self.batch(&layers.refs, layers.thin_wt.as_deref(), x, energy, grad);
        Ok(())
    }

    /// The whole batch, tile by tile: in parallel when it is large.
    fn batch(
        &self,
        layers: &[LayerRef],
        thin_wt: Option<&[f32]>,
        x: &[f32],
        energy: &mut [f32],
        grad: Option<&mut [f32]>,
    ) {
        let d = self.spec.widths[0];
        let threads = rayon::current_num_threads();
        if energy.len() < PARALLEL_MIN_ROWS || threads < 2 {
            let mut s = self.pool.lease();
            let grad_tiles: Box<dyn Iterator<Item = Option<&mut [f32]>>> = match grad {
                Some(g) => Box::new(g.chunks_mut(TILE * d).map(Some)),
                None => Box::new(std::iter::repeat_with(|| None)),
            };
            for ((xt, et), gt) in x
                .chunks(TILE * d)
                .zip(energy.chunks_mut(TILE))
                .zip(grad_tiles)
            {
                self.tile(&mut s, layers, thin_wt, xt, et, gt);
            }
            return;
        }
        let tiles = x.par_chunks(TILE * d).zip(energy.par_chunks_mut(TILE));
        match grad {
            Some(g) => tiles.zip(g.par_chunks_mut(TILE * d)).for_each_init(
                || self.pool.lease(),
                |s, ((xt, et), gt)| self.tile(s, layers, thin_wt, xt, et, Some(gt)),
            ),
            None => tiles.for_each_init(
                || self.pool.lease(),
                |s, (xt, et)| self.tile(s, layers, thin_wt, xt, et, None),
            ),
        }
    }

    /// One tile of `rows = energy.len()` rows.
    fn tile(
        &self,
        s: &mut Scratch,
        layers: &[LayerRef],
        thin_wt: Option<&[f32]>,
        x: &[f32],
        energy: &mut [f32],
        grad: Option<&mut [f32]>,
    ) {
        let rows = energy.len();
        let w = &self.spec.widths;
        let hidden = w.len() - 2;
        self.forward(s, layers, thin_wt, x, energy);
        let top = w[hidden];
        let w_out = layers[hidden].w.data;
        let dz = &s.derivs[hidden - 1];
        let Some(grad) = grad else {
            return;
        };
        // The seed of the backward, g = w_out ⊙ φ'(z).
        let g = &mut s.grads[0][..rows * top];
        for (gr, dr) in g.chunks_mut(top).zip(dz.chunks(top)) {
            for ((gi, di), wi) in gr.iter_mut().zip(dr).zip(w_out) {
                *gi = wi * di;
            }
        }
        // Backward: g ← (g Wₗ) ⊙ φ'(zₗ₋₁), ping-ponging between the two gradient buffers.
        for l in (1..hidden).rev() {
            let [cur, next] = &mut s.grads;
            let (cur, next) = if (hidden - 1 - l).is_multiple_of(2) {
                (cur, next)
            } else {
                (next, cur)
            };
            let dst = &mut next[..rows * w[l]];
            let g = &cur[..rows * w[l + 1]];
            matmul(rows, g, layers[l].w, Weight::AsIs, dst, false);
            activation::mul_in_place(dst, &s.derivs[l - 1][..rows * w[l]]);
        }
        let last = &s.grads[(hidden - 1) % 2][..rows * w[1]];
        match thin_wt {
            Some(wt) => thin::backward(last, wt, w[0], grad),
            None => matmul(rows, last, layers[0].w, Weight::AsIs, grad, false),
        }
    }

    /// The forward of one tile: `s.acts[l]` = φ(zₗ), `s.derivs[l]` = φ'(zₗ) for the hidden
    /// layers, and E per row. Shared by the sampling path and the parameter-gradient path.
    fn forward(
        &self,
        s: &mut Scratch,
        layers: &[LayerRef],
        thin_wt: Option<&[f32]>,
        x: &[f32],
        energy: &mut [f32],
    ) {
        let rows = energy.len();
        let w = &self.spec.widths;
        let hidden = w.len() - 2;
        s.fit(&w[1..=hidden], rows);
        // Forward through the hidden layers: acts[l] = φ(z), derivs[l] = φ'(z).
        for l in 0..hidden {
            let (done, rest) = s.acts.split_at_mut(l);
            let a = &mut rest[0][..rows * w[l + 1]];
            let input: &[f32] = if l == 0 {
                x
            } else {
                &done[l - 1][..rows * w[l]]
            };
            match thin_wt {
                Some(wt) if l == 0 => thin::forward(input, wt, layers[0].b, a),
                _ => {
                    for row in a.chunks_mut(w[l + 1]) {
                        row.copy_from_slice(layers[l].b);
                    }
                    matmul(rows, input, layers[l].w, Weight::Transposed, a, true);
                }
            }
            activation::activate(
                self.spec.activation,
                self.spec.beta,
                a,
                &mut s.derivs[l][..rows * w[l + 1]],
            );
        }
        // The head: E = h·w_out + b_out.
        let top = w[hidden];
        let (w_out, b_out) = (layers[hidden].w.data, layers[hidden].b[0]);
        thin::head(&s.acts[hidden - 1][..rows * top], w_out, b_out, energy);
    }
}
