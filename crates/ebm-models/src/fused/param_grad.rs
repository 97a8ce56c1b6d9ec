//! The MLP's parameter gradients without autograd, for training: E(x) for a batch of rows, then
//! ∂(Σᵢ cᵢ·E(xᵢ))/∂θ for row weights c chosen after seeing E (a loss's ∂L/∂Eᵢ).
//!
//! Two phases over tiles of [`TILE`] rows, each tile with its own scratch so its activations
//! survive between them:
//! - forward: the sampling path's forward (`FusedMlp::forward`), keeping φ(zₗ) and φ'(zₗ);
//! - backward, seeded with g = c ⊙ w_out ⊙ φ'(z_L): dWₗ = gᵀhₗ₋₁, dbₗ = Σ_rows g, then
//!   g ← (g Wₗ) ⊙ φ'(zₗ₋₁) down to the first layer.
//!
//! Each tile writes its own partial gradients and the partials are summed in tile order, so the
//! result has the same bits whether the tiles ran in parallel or one after another.

use super::matmul::{matmul, matmul_tn, Weight};
use super::scratch::Scratch;
use super::{FusedMlp, LayerRef, LayerWeights, PARALLEL_MIN_ROWS, TILE};
use ebm_core::{Error, Result};
use ebm_kernels::activation;
use rayon::prelude::*;

/// E per row and the gradient of every layer, `(dW [out, inp], db [out])`, input layer first.
pub(crate) struct ParamGrads {
    pub(crate) energy: Vec<f32>,
    pub(crate) layers: Vec<(Vec<f32>, Vec<f32>)>,
}

/// `f` on every tile's job, on rayon's threads or the calling one (the same result either way:
/// each job writes only its own buffers).
fn for_each<T: Send>(jobs: &mut [T], parallel: bool, f: impl Fn(&mut T) + Sync + Send) {
    if parallel {
        jobs.par_iter_mut().for_each(f);
    } else {
        jobs.iter_mut().for_each(f);
    }
}

impl FusedMlp {
    /// E(x) for the `batch` rows of `x` and the parameter gradients of Σᵢ cᵢ·E(xᵢ) with
    /// c = `weights(E)`.
    pub(crate) fn param_grads(
        &self,
        layers: &[LayerWeights],
        x: &[f32],
        batch: usize,
        weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<ParamGrads> {
        self.check_rows(x, batch, None)?;
        let layers = self.layers(layers)?;
        let (layers, thin_wt) = (&layers.refs[..], layers.thin_wt.as_deref());
        let d = self.spec.widths[0];
        let tiles = batch.div_ceil(TILE);
        let mut scratch: Vec<_> = (0..tiles).map(|_| self.pool.lease()).collect();
        let mut energy = vec![0f32; batch];
        let parallel = batch >= PARALLEL_MIN_ROWS && rayon::current_num_threads() > 1;
        let mut jobs: Vec<_> = scratch
            .iter_mut()
            .zip(x.chunks(TILE * d).zip(energy.chunks_mut(TILE)))
            .collect();
        for_each(&mut jobs, parallel, |(s, (xt, et))| {
            self.forward(s, layers, thin_wt, xt, et)
        });
        drop(jobs);

        let c = weights(&energy)?;
        if c.len() != batch {
            return Err(Error::shape(
                "fused MLP parameter gradients",
                format!("{} row weights for {batch} rows", c.len()),
            ));
        }

        let sizes: Vec<(usize, usize)> = self
            .spec
            .widths
            .windows(2)
            .map(|p| (p[1] * p[0], p[1]))
            .collect();
        let total: usize = sizes.iter().map(|(w, b)| w + b).sum();
        let mut partial = vec![0f32; tiles * total];
        let mut jobs: Vec<_> = scratch
            .iter_mut()
            .zip(partial.chunks_mut(total))
            .zip(x.chunks(TILE * d).zip(c.chunks(TILE)))
            .collect();
        for_each(&mut jobs, parallel, |((s, part), (xt, ct))| {
            self.backward(s, layers, xt, ct, part)
        });
        drop(jobs);

        // Tile partials summed in order: the same bits on any number of threads.
        let mut sum = partial[..total].to_vec();
        for part in partial.chunks(total).skip(1) {
            for (a, b) in sum.iter_mut().zip(part) {
                *a += b;
            }
        }
        let mut rest = &sum[..];
        let mut out = Vec::with_capacity(sizes.len());
        for (nw, nb) in sizes {
            let (w, tail) = rest.split_at(nw);
            let (b, tail) = tail.split_at(nb);
            out.push((w.to_vec(), b.to_vec()));
            rest = tail;
        }
        Ok(ParamGrads {
            energy,
            layers: out,
        })
    }

    /// One tile's parameter gradients of Σ cᵢ·E(xᵢ) into `out` (every layer's dW then db, input
    /// layer first), from the activations its forward left in `s`.
    fn backward(
        &self,
        s: &mut Scratch,
        layers: &[LayerRef],
        x: &[f32],
        c: &[f32],
        out: &mut [f32],
    ) {
        let rows = c.len();
        let w = &self.spec.widths;
        let hidden = w.len() - 2;
        let top = w[hidden];
        // Where each layer's dW and db start in `out`.
        let mut offsets = Vec::with_capacity(w.len() - 1);
        let mut at = 0;
        for p in w.windows(2) {
            offsets.push(at);
            at += p[1] * p[0] + p[1];
        }

        // The head, E = h·w_out + b_out: dw_out = Σᵢ cᵢhᵢ, db_out = Σᵢ cᵢ.
        let h = &s.acts[hidden - 1][..rows * top];
        let (dw_out, db_out) = out[offsets[hidden]..].split_at_mut(top);
        for (ci, hr) in c.iter().zip(h.chunks_exact(top)) {
            for (dw, hj) in dw_out.iter_mut().zip(hr) {
                *dw += ci * hj;
            }
        }
        db_out[0] = c.iter().sum();

        // g = ∂/∂z_L = cᵢ·w_out ⊙ φ'(z_L).
        let w_out = layers[hidden].w.data;
        let dz = &s.derivs[hidden - 1][..rows * top];
        let g = &mut s.grads[0][..rows * top];
        for ((gr, dr), ci) in g.chunks_mut(top).zip(dz.chunks(top)).zip(c) {
            for ((gi, di), wi) in gr.iter_mut().zip(dr).zip(w_out) {
                *gi = ci * wi * di;
            }
        }

        for l in (0..hidden).rev() {
            let (n_out, n_in) = (w[l + 1], w[l]);
            let g = &s.grads[0][..rows * n_out];
            let input: &[f32] = if l == 0 {
                x
            } else {
                &s.acts[l - 1][..rows * n_in]
            };
            let (dw, rest) = out[offsets[l]..].split_at_mut(n_out * n_in);
            matmul_tn(n_out, n_in, rows, g, input, dw);
            let db = &mut rest[..n_out];
            for gr in g.chunks_exact(n_out) {
                for (b, gi) in db.iter_mut().zip(gr) {
                    *b += gi;
                }
            }
            if l == 0 {
                break;
            }
            // g ← (g Wₗ) ⊙ φ'(zₗ₋₁), into the other buffer, then swap.
            let [cur, next] = &mut s.grads;
            let dst = &mut next[..rows * n_in];
            matmul(
                rows,
                &cur[..rows * n_out],
                layers[l].w,
                Weight::AsIs,
                dst,
                false,
            );
            activation::mul_in_place(dst, &s.derivs[l - 1][..rows * n_in]);
            s.grads.swap(0, 1);
        }
    }
}
