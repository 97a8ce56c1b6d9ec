//! Shuffled mini-batches over a fixed training set. Each epoch is a fresh Fisher-Yates
//! permutation drawn with the caller's generator; an epoch ends when fewer than `batch_size`
//! unseen points remain (drop-last, so every batch has the same shape), and the next call draws a
//! new permutation. The first permutation is drawn lazily at the first [`Batcher::next_batch`],
//! so constructing a batcher consumes no randomness and resuming from a checkpoint does not
//! depend on when the batcher was built.
//!
//! For images, [`Batcher::with_flip`] mirrors each sample of a batch along its width with
//! probability 1/2. The coin flips come from the same generator as the shuffles, one
//! `next_u32` per sample in batch order after the batch is chosen, so a checkpoint of that
//! generator and of [`BatcherState`] still resumes exactly, and a batcher without flips draws
//! exactly what it drew before flips existed.

use crate::images::hflip;
use crate::shuffle::fisher_yates;
use crate::{Error, Points, Result};
use candle_core::{Device, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Everything needed to continue exactly where a batcher stopped: the current permutation (empty
/// before the first batch) and the position of the next unseen entry in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatcherState {
    pub order: Vec<u32>,
    pub pos: u64,
}

/// Draws `[batch_size, ...shape]` batches (`[batch_size, dim]` for points) from a fixed set.
#[derive(Clone, Debug)]
pub struct Batcher {
    points: Points,
    batch_size: usize,
    /// Random horizontal flips of `[C, H, W]` samples.
    flip: bool,
    /// Current permutation of `0..len`; empty means no epoch has started.
    order: Vec<u32>,
    /// Index into `order` of the next point to hand out.
    pos: usize,
}

impl Batcher {
    /// Fails if `points` is malformed, if `batch_size` is 0 or larger than the set, or if the set
    /// is too large for the `u32` indices the saved state uses.
    pub fn new(points: Points, batch_size: usize) -> Result<Self> {
        points.check()?;
        let n = points.len();
        if u32::try_from(n).is_err() {
            return Err(Error::param(
                "data.n_samples",
                format!("{n} points exceed the batcher's u32 indices"),
            ));
        }
        if batch_size == 0 || batch_size > n {
            return Err(Error::param(
                "batch_size",
                format!("must be in 1..={n} (the training set size), got {batch_size}"),
            ));
        }
        Ok(Batcher {
            points,
            batch_size,
            flip: false,
            order: Vec::new(),
            pos: 0,
        })
    }

    /// Turns random horizontal flips on or off; on needs samples of shape `[C, H, W]`.
    pub fn with_flip(mut self, flip: bool) -> Result<Self> {
        if flip && self.points.shape.len() != 3 {
            return Err(Error::param(
                "data.flip",
                format!(
                    "flips need image samples [C, H, W], these have shape {:?}",
                    self.points.shape
                ),
            ));
        }
        self.flip = flip;
        Ok(self)
    }

    /// Whether batches are randomly flipped.
    pub fn flips(&self) -> bool {
        self.flip
    }

    /// The next batch as an `[batch_size, ...shape]` f32 tensor, starting a new epoch (and
    /// drawing its permutation from `rng`) when the current one cannot fill a batch; then, with
    /// flips on, one draw per sample decides its flip.
    pub fn next_batch<R: Rng + ?Sized>(&mut self, rng: &mut R, device: &Device) -> Result<Tensor> {
        if self.order.is_empty() || self.pos + self.batch_size > self.order.len() {
            self.start_epoch(rng);
        }
        let dim = self.points.dim;
        let indices = &self.order[self.pos..self.pos + self.batch_size];
        let mut data = Vec::with_capacity(self.batch_size * dim);
        for &i in indices {
            data.extend_from_slice(self.points.row(i as usize));
        }
        self.pos += self.batch_size;
        if self.flip {
            let width = self.points.shape[self.points.shape.len() - 1];
            for sample in data.chunks_exact_mut(dim) {
                // The top bit, written out so the draw sequence is ours (see fisher_yates).
                if rng.next_u32() >> 31 == 1 {
                    hflip(sample, width);
                }
            }
        }
        let mut dims = vec![self.batch_size];
        dims.extend_from_slice(&self.points.shape);
        Ok(Tensor::from_vec(data, dims, device)?)
    }

    fn start_epoch<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        // `new` checked that the length fits in u32, so the range is exact.
        let n = self.points.len() as u32;
        self.order.clear();
        self.order.extend(0..n);
        fisher_yates(&mut self.order, rng);
        self.pos = 0;
    }

    /// The current permutation and position, for checkpoints.
    pub fn state(&self) -> BatcherState {
        BatcherState {
            order: self.order.clone(),
            pos: self.pos as u64,
        }
    }

    /// Continues from a saved state. The order must be empty (no epoch started, `pos == 0`) or a
    /// permutation of `0..len`, and `pos <= len`; otherwise nothing changes and an error says why.
    pub fn restore(&mut self, state: BatcherState) -> Result<()> {
        let n = self.points.len();
        let bad = |reason: String| Err(Error::InvalidState { reason });
        let pos = match usize::try_from(state.pos) {
            Ok(p) if p <= state.order.len() => p,
            _ => {
                return bad(format!(
                    "position {} is past the end of an order of length {}",
                    state.pos,
                    state.order.len()
                ))
            }
        };
        if !state.order.is_empty() {
            if state.order.len() != n {
                return bad(format!(
                    "order has {} entries but the training set has {n} points",
                    state.order.len()
                ));
            }
            let mut seen = vec![false; n];
            for &i in &state.order {
                match seen.get_mut(i as usize) {
                    Some(s) if !*s => *s = true,
                    _ => return bad(format!("order is not a permutation of 0..{n} (at {i})")),
                }
            }
        }
        self.order = state.order;
        self.pos = pos;
        Ok(())
    }

    /// The training set.
    pub fn points(&self) -> &Points {
        &self.points
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Full batches per epoch (drop-last).
    pub fn batches_per_epoch(&self) -> usize {
        self.points.len() / self.batch_size
    }
}
