//! Gradient averaging: after backward, every rank's gradients (and its loss metrics) are packed
//! into ONE flat f32 bucket, all-reduced (mean) in one collective, and written back. One round
//! per step instead of one per parameter tensor (DDP's buckets, here a single one since our
//! models are small); the metrics ride along so the logged loss is the global mean at no extra
//! synchronisation.
//!
//! The mean of per-rank means over equal per-rank batches is the mean over the global batch, so
//! N ranks with batch b follow 1 rank with batch N·b up to float summation order.

use crate::Result;
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};
use ebm_core::Param;
use ebm_dist::Collective;

/// Replaces each parameter's gradient in `grads`, and each of `scalars`, by its mean over ranks.
///
/// Every rank must have gradients for the same parameters (they run the same graph); a different
/// total length is caught by the collective. Non-f32 gradients travel as f32 and are cast back.
pub(crate) fn all_reduce_mean(
    coll: &dyn Collective,
    params: &[Param],
    grads: &mut GradStore,
    scalars: &mut [f64],
) -> Result<()> {
    let present: Vec<(&Param, Tensor)> = params
        .iter()
        .filter_map(|p| grads.get(p.var.as_tensor()).map(|g| (p, g.detach())))
        .collect();
    // The bucket is built on the gradients' device: a device collective (NCCL) reduces it
    // there; a host backend copies it down and back (the trait's default).
    let device = present
        .first()
        .map_or(candle_core::Device::Cpu, |(_, g)| g.device().clone());
    let mut flat = Vec::with_capacity(present.len() + 1);
    for (_, g) in &present {
        flat.push(g.flatten_all()?.to_dtype(DType::F32)?);
    }
    let metrics: Vec<f32> = scalars.iter().map(|&v| v as f32).collect();
    flat.push(Tensor::from_vec(metrics, scalars.len(), &device)?);
    let bucket = coll.all_reduce_mean_tensor(&Tensor::cat(&flat, 0)?)?;
    let mut at = 0;
    for (p, g) in &present {
        let n = g.elem_count();
        let mean = bucket
            .narrow(0, at, n)?
            .reshape(g.shape())?
            .to_dtype(g.dtype())?;
        grads.insert(p.var.as_tensor(), mean);
        at += n;
    }
    // The metrics go to the host (they are logged); a few floats, after the reduction.
    let means = bucket.narrow(0, at, scalars.len())?.to_vec1::<f32>()?;
    for (v, m) in scalars.iter_mut().zip(means) {
        *v = f64::from(m);
    }
    Ok(())
}
