//! The MLP's fused sampling view: [`FusedMlp`] on the model's weights, borrowed from the
//! parameters' storage at every call (the detached tensors share it with the trainable `Var`s,
//! so a view always sees the optimiser's latest step), with the op-based [`Mlp`] for whatever
//! the fused path does not cover (another device or dtype, a non-contiguous x).

use super::{Dense, Mlp};
use crate::fused::{FusedMlp, LayerWeights, ParamGrads};
use candle_core::{Device, Tensor};
use ebm_core::{Energy, Result};
use ebm_kernels::cpu::{with_cpu_slice, CpuRead};
use std::sync::Arc;

/// What [`crate::Mlp`]'s `detached()` returns on CPU with f32 weights, an energy head and no
/// time input.
pub(super) struct FastView {
    /// The op-based detached view: the weights (shared storage) and the fallback path.
    ops: Mlp,
    fused: Arc<FusedMlp>,
}

/// `f` with the layers' weights borrowed from their storage (read-locked for the call), or
/// `None` if they are not CPU-f32-contiguous.
fn with_weights<T>(
    layers: &[Dense],
    f: impl FnOnce(&[LayerWeights]) -> Result<T>,
) -> Result<Option<T>> {
    let locks: Vec<_> = layers
        .iter()
        .map(|l| (CpuRead::new(&l.w), CpuRead::new(&l.b)))
        .collect();
    let weights: Option<Vec<LayerWeights>> = locks
        .iter()
        .map(|(w, b)| {
            Some(LayerWeights {
                w: w.slice()?,
                b: b.slice()?,
            })
        })
        .collect();
    weights.map(|w| f(&w)).transpose()
}

/// The batch size of `x` if it is a CPU tensor of rows `fused` takes.
fn rows_of(fused: &FusedMlp, x: &Tensor) -> Option<usize> {
    let batch = x.dims().first().copied().unwrap_or(0);
    (x.elem_count() == batch * fused.spec().widths[0] && matches!(x.device(), Device::Cpu))
        .then_some(batch)
}

impl FastView {
    pub(super) fn new(ops: Mlp, fused: Arc<FusedMlp>) -> Self {
        FastView { ops, fused }
    }

    /// E and (with `want_grad`) ∇ₓE, or `None` if `x` or the weights are not CPU-f32-contiguous.
    fn run(&self, x: &Tensor, want_grad: bool) -> Result<Option<(Tensor, Option<Tensor>)>> {
        let Some(batch) = rows_of(&self.fused, x) else {
            return Ok(None);
        };
        let out = with_weights(&self.ops.layers, |layers| {
            with_cpu_slice::<f32, _>(x, |xs| {
                let mut energy = vec![0f32; batch];
                let mut grad = if want_grad {
                    vec![0f32; xs.len()]
                } else {
                    Vec::new()
                };
                let g = want_grad.then_some(&mut grad[..]);
                self.fused.energy_and_grad(layers, xs, &mut energy, g)?;
                let e = Tensor::from_vec(energy, batch, &Device::Cpu)?;
                let g = match want_grad {
                    true => Some(Tensor::from_vec(grad, x.shape(), &Device::Cpu)?),
                    false => None,
                };
                Ok((e, g))
            })
            .transpose()
        })?;
        Ok(out.flatten())
    }
}

/// E(x) and the parameter gradients of Σᵢ cᵢ·E(xᵢ), c = `weights(E)`, by the fused path, or
/// `None` (before calling `weights`) if `x` or the weights are not CPU-f32-contiguous.
pub(super) fn param_grads(
    fused: &FusedMlp,
    layers: &[Dense],
    x: &Tensor,
    weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
) -> Result<Option<ParamGrads>> {
    let Some(batch) = rows_of(fused, x) else {
        return Ok(None);
    };
    let out = with_weights(layers, |layers| {
        with_cpu_slice::<f32, _>(x, |xs| fused.param_grads(layers, xs, batch, weights)).transpose()
    })?;
    Ok(out.flatten())
}

impl Energy for FastView {
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
