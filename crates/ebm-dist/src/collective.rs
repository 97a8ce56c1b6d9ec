//! The `Collective` trait every backend implements, and `SingleRank`, the world of one.
//!
//! The trait works on host `f32` slices: gradients and chain states are f32, and a flat slice is
//! the one shape every backend can move. It also has tensor-level methods (`*_tensor`) whose
//! default implementations go through those host slices, so a host backend implements only the
//! slice methods; a device backend (NCCL, feature `nccl-candle`) overrides them to run the
//! collective on the tensor's device memory with no host round trip. Lists of tensors in one flat
//! bucket live in [`crate::tensors`].

use candle_core::{DType, Tensor};

use crate::{Error, Result};

/// Collective communication among the `world_size` ranks of a data-parallel group.
///
/// Every rank must call the same operations in the same order with compatible arguments (same
/// buffer length for reductions and broadcasts, same root); a backend reports a disagreement as
/// [`Error::Mismatch`] where it can detect it. Results are identical on every rank, bit for bit.
///
/// Object safe: a trainer holds a `Box<dyn Collective>` / `Arc<dyn Collective>`.
pub trait Collective: Send + Sync {
    /// This rank, in `0..world_size()`.
    fn rank(&self) -> usize;

    /// Number of ranks in the group.
    fn world_size(&self) -> usize;

    /// Replaces `buf` on every rank by the element-wise sum over ranks.
    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()>;

    /// Replaces `buf` on every rank by the element-wise mean over ranks: the sum, then divided by
    /// the world size (division rather than multiplication by `1/n`, so that the result is the
    /// correctly rounded quotient of the sum, which a sequential reference reproduces exactly).
    fn all_reduce_mean(&self, buf: &mut [f32]) -> Result<()> {
        self.all_reduce_sum(buf)?;
        let n = self.world_size() as f32;
        if self.world_size() > 1 {
            buf.iter_mut().for_each(|x| *x /= n);
        }
        Ok(())
    }

    /// Overwrites `buf` on every rank with `root`'s `buf`.
    fn broadcast(&self, buf: &mut [f32], root: usize) -> Result<()>;

    /// Concatenates every rank's `local` in rank order. Shards may have different lengths.
    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>>;

    /// Returns once every rank has called `barrier`.
    fn barrier(&self) -> Result<()>;

    /// [`Collective::all_reduce_sum`] of an f32 tensor of any shape: a new tensor of the same
    /// shape on the same device. Default: through a host slice.
    fn all_reduce_sum_tensor(&self, t: &Tensor) -> Result<Tensor> {
        host_all_reduce_tensor(self, t, false)
    }

    /// [`Collective::all_reduce_mean`] of an f32 tensor of any shape (a gradient bucket): a new
    /// tensor of the same shape on the same device. Default: through a host slice.
    fn all_reduce_mean_tensor(&self, t: &Tensor) -> Result<Tensor> {
        host_all_reduce_tensor(self, t, true)
    }

    /// [`Collective::broadcast`] of an f32 tensor of any shape: `root`'s values, in a new tensor
    /// of the same shape on the same device. Default: through a host slice.
    fn broadcast_tensor(&self, t: &Tensor, root: usize) -> Result<Tensor> {
        host_broadcast_tensor(self, t, root)
    }

    /// [`Collective::all_gather`] of an f32 tensor, flattened: every rank's elements in rank
    /// order, as a 1-D tensor on `local`'s device (shards may have different lengths). Default:
    /// through host slices.
    fn all_gather_flat_tensor(&self, local: &Tensor) -> Result<Tensor> {
        host_all_gather_flat_tensor(self, local)
    }
}

/// The f32 elements of `t`, in row-major order, on the host.
fn host_f32(t: &Tensor) -> Result<Vec<f32>> {
    if t.dtype() != DType::F32 {
        return Err(Error::Dtype {
            index: 0,
            dtype: t.dtype(),
        });
    }
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// The default [`Collective::all_reduce_sum_tensor`] / [`Collective::all_reduce_mean_tensor`]:
/// down to the host, the slice collective, back to `t`'s device. Device backends call it for
/// tensors they cannot reduce in place (a CPU tensor given to a GPU collective).
pub fn host_all_reduce_tensor<C: Collective + ?Sized>(
    coll: &C,
    t: &Tensor,
    mean: bool,
) -> Result<Tensor> {
    let mut buf = host_f32(t)?;
    if mean {
        coll.all_reduce_mean(&mut buf)?;
    } else {
        coll.all_reduce_sum(&mut buf)?;
    }
    Ok(Tensor::from_vec(buf, t.shape(), t.device())?)
}

/// The default [`Collective::broadcast_tensor`], through a host slice.
pub fn host_broadcast_tensor<C: Collective + ?Sized>(
    coll: &C,
    t: &Tensor,
    root: usize,
) -> Result<Tensor> {
    let mut buf = host_f32(t)?;
    coll.broadcast(&mut buf, root)?;
    Ok(Tensor::from_vec(buf, t.shape(), t.device())?)
}

/// The default [`Collective::all_gather_flat_tensor`], through host slices.
pub fn host_all_gather_flat_tensor<C: Collective + ?Sized>(
    coll: &C,
    local: &Tensor,
) -> Result<Tensor> {
    let all = coll.all_gather(&host_f32(local)?)?;
    let n = all.len();
    Ok(Tensor::from_vec(all, n, local.device())?)
}

/// Checks a broadcast root against the world size.
pub(crate) fn check_root(root: usize, world_size: usize) -> Result<()> {
    if root < world_size {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "broadcast root {root} is not a rank of a world of size {world_size}"
        )))
    }
}

/// The world of one rank: every collective is the identity. Lets single-device training run the
/// data-parallel code path with no special case.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleRank;

impl Collective for SingleRank {
    fn rank(&self) -> usize {
        0
    }

    fn world_size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _buf: &mut [f32]) -> Result<()> {
        Ok(())
    }

    fn broadcast(&self, _buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, 1)
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(local.to_vec())
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }
}
