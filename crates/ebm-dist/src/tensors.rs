//! Collectives over lists of candle tensors, through one flat bucket.
//!
//! A model's gradients are many small tensors. Reducing them one by one costs one round (one
//! synchronisation, one NCCL launch) per tensor; packing them into one flat `f32` buffer costs
//! one round for all of them, which is what DDP's gradient buckets do. The list is flattened in
//! order on its device ([`pack`]), reduced once with the collective's tensor-level method (a host
//! round trip for host backends, device-side NCCL for `nccl-candle`), and split back with the
//! original shapes ([`unpack`]).
//!
//! Every rank must pass the same list of shapes; the backend catches a different total length.

use candle_core::{DType, Tensor};

use crate::{Collective, Error, Result};

/// Flattens `tensors` (all f32, all on one device) into one 1-D tensor, in order, on their
/// device: no host copy, so a device collective reduces the bucket where it is.
pub fn pack(tensors: &[Tensor]) -> Result<Tensor> {
    let mut flat = Vec::with_capacity(tensors.len());
    for (index, t) in tensors.iter().enumerate() {
        if t.dtype() != DType::F32 {
            return Err(Error::Dtype {
                index,
                dtype: t.dtype(),
            });
        }
        flat.push(t.flatten_all()?);
    }
    if flat.is_empty() {
        return Ok(Tensor::zeros(0, DType::F32, &candle_core::Device::Cpu)?);
    }
    Ok(Tensor::cat(&flat, 0)?)
}

/// Splits the 1-D `bucket` back into tensors shaped like `like` (views into the bucket, on its
/// device).
pub fn unpack(bucket: &Tensor, like: &[Tensor]) -> Result<Vec<Tensor>> {
    let len = bucket.elem_count();
    let mut offset = 0;
    like.iter()
        .map(|t| {
            let n = t.elem_count();
            if offset + n > len {
                return Err(Error::InvalidArgument(format!(
                    "bucket of {len} elements is too short for the tensors"
                )));
            }
            let part = bucket.narrow(0, offset, n)?.reshape(t.shape())?;
            offset += n;
            Ok(part)
        })
        .collect()
}

/// Element-wise sum over ranks of every tensor of the list, in one collective call.
pub fn all_reduce_sum_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
) -> Result<Vec<Tensor>> {
    let bucket = coll.all_reduce_sum_tensor(&pack(tensors)?)?;
    unpack(&bucket, tensors)
}

/// Element-wise mean over ranks of every tensor of the list (gradient averaging), in one
/// collective call.
pub fn all_reduce_mean_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
) -> Result<Vec<Tensor>> {
    let bucket = coll.all_reduce_mean_tensor(&pack(tensors)?)?;
    unpack(&bucket, tensors)
}

/// `root`'s values of every tensor of the list, on every rank (initial parameters), in one
/// collective call.
pub fn broadcast_tensors<C: Collective + ?Sized>(
    coll: &C,
    tensors: &[Tensor],
    root: usize,
) -> Result<Vec<Tensor>> {
    let bucket = coll.broadcast_tensor(&pack(tensors)?, root)?;
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
    let gathered = coll.all_gather_flat_tensor(local)?;
    let total = gathered.elem_count();
    if row == 0 || total % row != 0 {
        return Err(Error::Mismatch {
            rank: coll.rank(),
            message: format!(
                "gathered {} elements, not a whole number of rows of shape {:?}",
                total,
                &dims[1..]
            ),
        });
    }
    let mut shape = dims.to_vec();
    shape[0] = total / row;
    Ok(gathered.reshape(shape)?)
}
