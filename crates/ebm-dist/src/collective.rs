//! The `Collective` trait every backend implements, and `SingleRank`, the world of one.
//!
//! The trait works on host `f32` slices: gradients and chain states are f32, and a flat slice is
//! the one shape every backend can move. Tensor conveniences live in [`crate::tensors`].

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
