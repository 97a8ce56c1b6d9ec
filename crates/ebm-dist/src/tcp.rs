//! The `tcp` backend: one CPU worker process per rank, collectives through the rendezvous store
//! (the role gloo plays for torch on CPU).
//!
//! Each collective gets the next operation number `seq` (every rank calls the same operations in
//! the same order, so the numbers agree). A rank that contributes writes its message under
//! `coll/<seq>/<rank>/<chunk>` and reads the others' with [`StoreClient::take`], naming the
//! number of readers (`world_size - 1`): the server deletes each key once the last reader has it,
//! so the store holds only the operations in flight, however long the run.
//!
//! A message is a header (operation, root, element count) and the f32 bits, split into chunks
//! that fit in one store frame. Reductions add the contributions **in rank order 0..N**, like
//! [`crate::LocalGroup`], so every rank computes the very same bits as every other rank and as
//! the local backend. Headers are compared, so ranks that disagree on the operation, the root or
//! a reduction's length get [`Error::Mismatch`] rather than garbage.
//!
//! Traffic goes through the store (each contribution is sent once and read `N - 1` times): fine
//! for CPU workers on one machine or a few; it is not meant to compete with NCCL.

use std::sync::Mutex;

use crate::collective::{check_root, Collective};
use crate::store::{StoreClient, MAX_FRAME};
use crate::{Error, Result};

/// Bytes of f32 data per store value: a frame also carries the token, the key and its framing.
const CHUNK_BYTES: usize = MAX_FRAME - 16 * 1024;
/// Header: op tag (1), root (4), element count (8).
const HEADER: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sum,
    Broadcast { root: usize },
    Gather,
    Barrier,
}

impl Op {
    fn tag(self) -> (u8, u32) {
        match self {
            Op::Sum => (1, 0),
            Op::Broadcast { root } => (2, root as u32),
            Op::Gather => (3, 0),
            Op::Barrier => (4, 0),
        }
    }

    fn from_tag(tag: u8, root: u32) -> Option<Op> {
        match tag {
            1 => Some(Op::Sum),
            2 => Some(Op::Broadcast {
                root: root as usize,
            }),
            3 => Some(Op::Gather),
            4 => Some(Op::Barrier),
            _ => None,
        }
    }
}

/// One rank of a group whose collectives go through a [`StoreClient`].
pub struct TcpCollective {
    store: StoreClient,
    rank: usize,
    world_size: usize,
    /// The next operation number; the lock also makes one rank's operations sequential.
    seq: Mutex<u64>,
}

impl std::fmt::Debug for TcpCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpCollective")
            .field("rank", &self.rank)
            .field("world_size", &self.world_size)
            .finish()
    }
}

impl TcpCollective {
    /// Rank `rank` of `world_size`, over its own connection `store` (whose timeout bounds every
    /// wait for a peer). Every rank must use a fresh namespace: a store serves one group.
    pub fn new(store: StoreClient, rank: usize, world_size: usize) -> Result<Self> {
        if world_size == 0 || rank >= world_size {
            return Err(Error::InvalidArgument(format!(
                "rank {rank} is not a rank of a world of size {world_size}"
            )));
        }
        if world_size > u32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "world size {world_size} is too large"
            )));
        }
        Ok(TcpCollective {
            store,
            rank,
            world_size,
            seq: Mutex::new(0),
        })
    }

    /// Runs one operation: publishes `mine` if this rank contributes, and returns every
    /// contributor's data in rank order (this rank's own as given).
    fn run(&self, op: Op, mine: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut seq = self.seq.lock().map_err(|_| Error::GroupBroken {
            rank: self.rank,
            reason: "a thread panicked inside a collective of this rank".into(),
        })?;
        let this = *seq;
        *seq += 1;
        let contributors: Vec<usize> = match op {
            Op::Broadcast { root } => vec![root],
            _ => (0..self.world_size).collect(),
        };
        if contributors.contains(&self.rank) {
            self.publish(this, op, mine)?;
        }
        let readers = (self.world_size - 1) as u32;
        contributors
            .into_iter()
            .map(|from| {
                if from == self.rank {
                    Ok(mine.to_vec())
                } else {
                    self.read(this, op, from, mine.len(), readers)
                }
            })
            .collect()
    }

    fn key(seq: u64, rank: usize, chunk: usize) -> String {
        format!("coll/{seq}/{rank}/{chunk}")
    }

    fn publish(&self, seq: u64, op: Op, data: &[f32]) -> Result<()> {
        if self.world_size == 1 {
            return Ok(());
        }
        let (tag, root) = op.tag();
        let mut bytes = Vec::with_capacity(HEADER + 4 * data.len());
        bytes.push(tag);
        bytes.extend_from_slice(&root.to_be_bytes());
        bytes.extend_from_slice(&(data.len() as u64).to_be_bytes());
        data.iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        for (i, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
            self.store.set(&Self::key(seq, self.rank, i), chunk)?;
        }
        Ok(())
    }

    fn mismatch(&self, message: String) -> Error {
        Error::Mismatch {
            rank: self.rank,
            message,
        }
    }

    fn read(&self, seq: u64, op: Op, from: usize, my_len: usize, readers: u32) -> Result<Vec<f32>> {
        let first = self.store.take(&Self::key(seq, from, 0), readers)?;
        if first.len() < HEADER {
            return Err(Error::Protocol(format!(
                "collective message from rank {from} is truncated"
            )));
        }
        let root = u32::from_be_bytes([first[1], first[2], first[3], first[4]]);
        let theirs = Op::from_tag(first[0], root).ok_or_else(|| {
            Error::Protocol(format!("collective message from rank {from} has a bad tag"))
        })?;
        if theirs != op {
            return Err(self.mismatch(format!(
                "operation {seq}: rank {} called {op:?} while rank {from} called {theirs:?}",
                self.rank
            )));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&first[5..HEADER]);
        let len = usize::try_from(u64::from_be_bytes(len))
            .map_err(|_| Error::Protocol(format!("rank {from} sent an impossible length")))?;
        if matches!(op, Op::Sum | Op::Broadcast { .. }) && len != my_len {
            return Err(self.mismatch(format!(
                "operation {seq} ({op:?}): rank {} has {my_len} elements, rank {from} has {len}",
                self.rank
            )));
        }
        let total = len
            .checked_mul(4)
            .and_then(|n| n.checked_add(HEADER))
            .ok_or_else(|| Error::Protocol(format!("rank {from} sent an impossible length")))?;
        let mut bytes = first;
        let mut chunk = 1;
        while bytes.len() < total {
            bytes.extend(self.store.take(&Self::key(seq, from, chunk), readers)?);
            chunk += 1;
        }
        if bytes.len() != total {
            return Err(Error::Protocol(format!(
                "collective message from rank {from}: {} bytes, expected {total}",
                bytes.len()
            )));
        }
        Ok(bytes[HEADER..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

impl Collective for TcpCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.world_size
    }

    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()> {
        let parts = self.run(Op::Sum, buf)?;
        // Rank order, starting from rank 0's values: the same additions as the local backend.
        let (first, rest) = parts
            .split_first()
            .ok_or_else(|| self.mismatch("no ranks".into()))?;
        buf.copy_from_slice(first);
        for part in rest {
            buf.iter_mut().zip(part).for_each(|(a, b)| *a += *b);
        }
        Ok(())
    }

    fn broadcast(&self, buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, self.world_size)?;
        let parts = self.run(Op::Broadcast { root }, buf)?;
        if let Some(root_data) = parts.first() {
            buf.copy_from_slice(root_data);
        }
        Ok(())
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(self.run(Op::Gather, local)?.concat())
    }

    fn barrier(&self) -> Result<()> {
        self.run(Op::Barrier, &[]).map(|_| ())
    }
}
