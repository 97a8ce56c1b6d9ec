//! Collectives over lists of candle tensors, through one flat bucket.
//!
//! A model's gradients are many small tensors. Reducing them one by one costs one round (one
//! synchronisation, one NCCL launch) per tensor; packing them into one flat `f32` buffer costs
//! one round for all of them, which is what DDP's gradient buckets do. The list is flattened in
//! order, reduced once, and split back with the original shapes on the original devices.
//!
//! Every rank must pass the same list of shapes; the backend catches a different total length.

use candle_core::{DType, Tensor};

use crate::{Collective, Error, Result};

/// Flattens `tensors` (all f32) into one buffer, in order.
fn pack(tensors: &[Tensor]) -> Result<Vec<f32>> {
    let total = tensors.iter().map(Tensor::elem_count).sum();
    let mut bucket = Vec::with_capacity(total);
    for (index, t) in tensors.iter().enumerate() {
        if t.dtype() != DType::F32 {
            return Err(Error::Dtype {
                index,
                dtype: t.dtype(),
            });
        }
        bucket.extend(t.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(bucket)
}

/// Splits `bucket` back into tensors shaped and placed like `like`.
fn unpack(bucket: &[f32], like: &[Tensor]) -> Result<Vec<Tensor>> {
    let mut offset = 0;
    like.iter()
        .map(|t| {
            let n = t.elem_count();
            let part = bucket.get(offset..offset + n).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "bucket of {} elements is too short for the tensors",
                    bucket.len()
                ))
            })?;
            offset += n;
            Ok(Tensor::from_slice(part, t.shape(), t.device())?)
        })
        .collect()
}

/// Element-wise sum over ranks of every tensor of the list, in one collective call.
pub fn all_reduce_sum_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
) -> Result<Vec<Tensor>> {
    let mut bucket = pack(tensors)?;
    coll.all_reduce_sum(&mut bucket)?;
    unpack(&bucket, tensors)
}

/// Element-wise mean over ranks of every tensor of the list (gradient averaging), in one
/// collective call.
pub fn all_reduce_mean_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
) -> Result<Vec<Tensor>> {
    let mut bucket = pack(tensors)?;
    coll.all_reduce_mean(&mut bucket)?;
    unpack(&bucket, tensors)
}

/// `root`'s values of every tensor of the list, on every rank (initial parameters), in one
/// collective call.
pub fn broadcast_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
    root: usize,
) -> Result<Vec<Tensor>> {
    let mut bucket = pack(tensors)?;
    coll.broadcast(&mut bucket, root)?;
    unpack(&bucket, tensors)
}

/// Concatenates every rank's `local` tensor along dimension 0, in rank order (chain-bank shards).
/// Shards may have different lengths along dimension 0; the other dimensions must agree.
pub fn all_gather_tensor<C: Collective + ?Sized>(coll: &C, local: &Tensor) -> Result<Tensor> {
    if local.dtype() != DType::F32 {
        return Err(Error::Dtype {
            index: 0,
            dtype: local.dtype(),
        });
    }
    let dims = local.dims();
    if dims.is_empty() {
        return Err(Error::InvalidArgument(
            "all_gather_tensor needs a tensor with at least one dimension".into(),
        ));
    }
    let row: usize = dims[1..].iter().product();
    let gathered = coll.all_gather(&local.flatten_all()?.to_vec1::<f32>()?)?;
    if row == 0 || gathered.len() % row != 0 {
        return Err(Error::Mismatch {
            rank: coll.rank(),
            message: format!(
                "gathered {} elements, not a whole number of rows of shape {:?}",
                gathered.len(),
                &dims[1..]
            ),
        });
    }
    let mut shape = dims.to_vec();
    shape[0] = gathered.len() / row;
    Ok(Tensor::from_vec(gathered, shape, local.device())?)
}
