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
    let total: usize = present.iter().map(|(_, g)| g.elem_count()).sum();
    let mut bucket = Vec::with_capacity(total + scalars.len());
    for (_, g) in &present {
        bucket.extend(g.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?);
    }
    bucket.extend(scalars.iter().map(|&v| v as f32));
    coll.all_reduce_mean(&mut bucket)?;
    let mut at = 0;
    for (p, g) in &present {
        let n = g.elem_count();
        let mean =
            Tensor::from_slice(&bucket[at..at + n], g.shape(), g.device())?.to_dtype(g.dtype())?;
        grads.insert(p.var.as_tensor(), mean);
        at += n;
    }
    for (v, &m) in scalars.iter_mut().zip(&bucket[at..]) {
        *v = f64::from(m);
    }
    Ok(())
}
