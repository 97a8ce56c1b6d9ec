//! The MLP energy's sampling path: E(x) and ∇ₓE(x) by explicit matrix products and a fused
//! activation pass, with no candle ops, no autograd graph and no allocations besides the two
//! result tensors.
//!
//! Per tile of rows, with hidden pre-activations zₗ = hₗ₋₁Wₗᵀ + bₗ:
//! - forward: one pass turns zₗ into φ(zₗ) in place and stores φ'(zₗ) beside it;
//! - head: E = h_L·w_out + b_out, and g = w_out ⊙ φ'(z_L) in the same loop;
//! - backward: g ← (g Wₗ) ⊙ φ'(zₗ₋₁) down to the input, g W₁ = ∇ₓE.
//!
//! Tiles of [`TILE`] rows keep a tile's activations in L2 between the forward and the backward;
//! large batches run their tiles in parallel on rayon, small ones on the calling thread (a rayon
//! hand-off costs microseconds, more than a 10-chain step). Buffers come from a pool shared by all
//! views of one model, so they are allocated once per thread, not per call.
//!
//! The weights are read straight from the parameters' storage at every call (the detached
//! tensors share it with the trainable `Var`s), so a view always sees the optimiser's latest step.
//! Anything this path does not cover (another device or dtype, a non-contiguous x) goes to the
//! op-based [`Mlp`] it wraps.
//!
//! Training reuses the forward: `param_grad.rs` keeps each tile's activations and backpropagates
//! loss-chosen row weights to the weights and biases (`Model::energy_param_grads`).

mod math;
mod matmul;
mod param_grad;
mod scratch;
mod simd;
mod thin;

use crate::{Activation, Mlp};
use candle_core::{DType, Device, Storage, Tensor};
use ebm_core::{Energy, Result};
use matmul::{matmul, Weight, WeightRef};
use rayon::prelude::*;
use scratch::Scratch;
pub(crate) use scratch::ScratchPool;
use std::sync::Arc;

/// Rows per tile: with 128-wide layers a tile's activations and derivatives (4 × 64 KB) and the
/// gradient buffers stay in a core's L2 between the forward and the backward.
const TILE: usize = 128;

/// Below this many rows one thread does the whole batch.
const PARALLEL_MIN_ROWS: usize = 2 * TILE;

/// The fused sampling view of an energy-head MLP (what [`crate::Mlp`]'s `detached()` returns on
/// CPU with f32 weights and no time input).
pub(crate) struct FusedMlp {
    /// The op-based detached view: the weights (shared storage) and the fallback path.
    ops: Mlp,
    activation: Activation,
    beta: f32,
    /// Layer widths, input first, 1 (the energy) last.
    widths: Vec<usize>,
    pool: Arc<ScratchPool>,
}

/// Borrowed weights of one layer.
struct LayerRef<'a> {
    w: WeightRef<'a>,
    b: &'a [f32],
}

/// A CPU f32 tensor's contiguous data, read under its storage lock for the call.
fn with_cpu_f32<T>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<T>) -> Result<Option<T>> {
    let (storage, layout) = t.storage_and_layout();
    let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) else {
        return Ok(None);
    };
    if t.dtype() != DType::F32 {
        return Ok(None);
    }
    f(&cpu.as_slice::<f32>()?[start..end]).map(Some)
}

impl FusedMlp {
    /// `None` when the network is not one this path covers.
    pub(crate) fn new(ops: Mlp, pool: Arc<ScratchPool>) -> Option<Self> {
        let layers = ops.fusable_layers()?;
        if layers.len() < 2 {
            // No hidden layer: E is affine, nothing to fuse.
            return None;
        }
        let cpu_f32 = layers.iter().all(|l| {
            l.w.device().is_cpu() && l.w.dtype() == DType::F32 && l.b.dtype() == DType::F32
        });
        if !cpu_f32 {
            return None;
        }
        let mut widths = vec![ops.input_dim()];
        widths.extend(layers.iter().map(|l| l.w.dims()[0]));
        let (activation, beta) = ops.activation();
        Some(FusedMlp {
            activation,
            beta: beta as f32,
            widths,
            pool,
            ops,
        })
    }

    /// Calls `f` with the layers' weights borrowed from their storage (and W₀ᵀ for a thin input
    /// layer), or returns `None` if they are not CPU-f32-contiguous.
    fn with_layers<T>(
        &self,
        f: impl FnOnce(&[LayerRef], Option<&[f32]>) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let Some(layers) = self.ops.fusable_layers() else {
            return Ok(None);
        };
        // Hold every weight's storage lock for the call: the slices below borrow from them.
        let guards: Vec<_> = layers
            .iter()
            .map(|l| (l.w.storage_and_layout(), l.b.storage_and_layout()))
            .collect();
        let mut refs = Vec::with_capacity(guards.len());
        for (((ws, wl), (bs, bl)), pair) in guards.iter().zip(self.widths.windows(2)) {
            let (Storage::Cpu(w), Storage::Cpu(b)) = (&**ws, &**bs) else {
                return Ok(None);
            };
            let (Some((w0, w1)), Some((b0, b1))) =
                (wl.contiguous_offsets(), bl.contiguous_offsets())
            else {
                return Ok(None);
            };
            refs.push(LayerRef {
                w: WeightRef {
                    data: &w.as_slice::<f32>()?[w0..w1],
                    out: pair[1],
                    inp: pair[0],
                },
                b: &b.as_slice::<f32>()?[b0..b1],
            });
        }
        // W₀ᵀ for the thin input layer: `[inp, out]`, a few hundred floats copied per call.
        let first = refs[0].w;
        let thin_wt: Option<Vec<f32>> = (first.inp <= thin::THIN_MAX).then(|| {
            (0..first.inp)
                .flat_map(|k| (0..first.out).map(move |j| first.data[j * first.inp + k]))
                .collect()
        });
        f(&refs, thin_wt.as_deref())
    }

    /// The batch size of `x` if it is a CPU tensor of rows this network takes.
    fn rows_of(&self, x: &Tensor) -> Option<usize> {
        let batch = x.dims().first().copied().unwrap_or(0);
        (x.elem_count() == batch * self.widths[0] && matches!(x.device(), Device::Cpu))
            .then_some(batch)
    }

    /// E and (with `want_grad`) ∇ₓE, or `None` if `x` or the weights are not CPU-f32-contiguous.
    fn run(&self, x: &Tensor, want_grad: bool) -> Result<Option<(Tensor, Option<Tensor>)>> {
        let Some(batch) = self.rows_of(x) else {
            return Ok(None);
        };
        self.with_layers(|refs, thin_wt| self.run_on(refs, thin_wt, x, batch, want_grad))
    }

    /// [`FusedMlp::run`] with the weights borrowed.
    fn run_on(
        &self,
        refs: &[LayerRef],
        thin_wt: Option<&[f32]>,
        x: &Tensor,
        batch: usize,
        want_grad: bool,
    ) -> Result<Option<(Tensor, Option<Tensor>)>> {
        let d = self.widths[0];
        let out = with_cpu_f32(x, |xs| {
            let mut energy = vec![0f32; batch];
            let mut grad = if want_grad {
                vec![0f32; batch * d]
            } else {
                Vec::new()
            };
            self.batch(
                refs,
                thin_wt,
                xs,
                &mut energy,
                want_grad.then_some(&mut grad[..]),
            );
            let e = Tensor::from_vec(energy, batch, &Device::Cpu)?;
            let g = match want_grad {
                true => Some(Tensor::from_vec(grad, x.shape(), &Device::Cpu)?),
                false => None,
            };
            Ok((e, g))
        })?;
        Ok(out)
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
        let d = self.widths[0];
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
        let w = &self.widths;
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
            math::mul_in_place(dst, &s.derivs[l - 1][..rows * w[l]]);
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
        let w = &self.widths;
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
            math::activate(
                self.activation,
                self.beta,
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

impl Energy for FusedMlp {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        match self.run(x, false)? {
            Some((e, _)) => Ok(e),
            None => self.ops.energy(x),
        }
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        match self.run(x, true)? {
            Some((e, Some(g))) => Ok((e, g)),
            _ => self.ops.energy_and_grad(x),
        }
    }
}
