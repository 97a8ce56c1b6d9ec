//! Splitting a set across the ranks of a data-parallel run. Rank `r` of `n` gets a contiguous
//! block; blocks differ in size by at most one and their union, in rank order, is the whole set.
//! The trainer uses the same split for the training set and for chain-bank shards.

use crate::{Error, Points, Result};
use std::ops::Range;

/// The indices of `0..len` that belong to `rank` of `world` ranks: the first `len % world`
/// ranks get one extra. Empty if `world == 0` or `rank >= world`.
pub fn shard_range(len: usize, rank: usize, world: usize) -> Range<usize> {
    if world == 0 || rank >= world {
        return 0..0;
    }
    let (base, extra) = (len / world, len % world);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

impl Points {
    /// Rank `rank`'s block of the points (see [`shard_range`]); an error if it would be empty.
    pub fn shard(&self, rank: usize, world: usize) -> Result<Points> {
        self.check()?;
        let rows = shard_range(self.len(), rank, world);
        if rows.is_empty() {
            return Err(Error::param(
                "data.n_samples",
                format!(
                    "{} points leave rank {rank} of {world} with no training data",
                    self.len()
                ),
            ));
        }
        Points::with_shape(
            self.data[rows.start * self.dim..rows.end * self.dim].to_vec(),
            self.shape.clone(),
            self.labels.as_ref().map(|l| l[rows].to_vec()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_set_in_rank_order() {
        for len in [0, 1, 7, 10, 64] {
            for world in 1..6 {
                let mut next = 0;
                for rank in 0..world {
                    let r = shard_range(len, rank, world);
                    assert_eq!(r.start, next, "len {len} world {world} rank {rank}");
                    assert!(r.len() == len / world || r.len() == len / world + 1);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
        assert!(shard_range(5, 2, 2).is_empty());
    }

    #[test]
    fn points_shard_takes_whole_rows() {
        let p = Points::new((0..10).map(|v| v as f32).collect(), 2).unwrap();
        assert_eq!(p.shard(1, 2).unwrap().data, vec![6.0, 7.0, 8.0, 9.0]);
        assert!(
            p.shard(5, 6).is_err(),
            "5 points leave the 6th rank nothing"
        );
    }
}
