//! Reusable buffers of the fused MLP: one [`Scratch`] per thread working on a tile, kept in a
//! pool shared by every view of a model, so a sampling run allocates them once.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// A tile's activations, derivatives and two gradient buffers (the backward ping-pongs).
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) acts: Vec<Vec<f32>>,
    pub(crate) derivs: Vec<Vec<f32>>,
    pub(crate) grads: [Vec<f32>; 2],
}

impl Scratch {
    /// Makes room for `rows` rows of hidden layers of the given widths (grows, never shrinks).
    pub(crate) fn fit(&mut self, hidden: &[usize], rows: usize) {
        let grow = |v: &mut Vec<f32>, n: usize| {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        };
        self.acts.resize_with(hidden.len(), Vec::new);
        self.derivs.resize_with(hidden.len(), Vec::new);
        for (l, &w) in hidden.iter().enumerate() {
            grow(&mut self.acts[l], rows * w);
            grow(&mut self.derivs[l], rows * w);
        }
        let widest = hidden.iter().copied().max().unwrap_or(0);
        for g in &mut self.grads {
            grow(g, rows * widest);
        }
    }
}

/// Idle scratch buffers. A lock per lease (not per tile) is all the synchronisation there is.
#[derive(Default)]
pub(crate) struct ScratchPool(Mutex<Vec<Scratch>>);

impl ScratchPool {
    /// A scratch for the caller's use until the lease drops.
    pub(crate) fn lease(&self) -> Lease<'_> {
        // A panic elsewhere while holding the lock leaves only buffers behind, no broken invariant.
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Lease {
            pool: self,
            scratch: s.unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for ScratchPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScratchPool")
    }
}

/// A scratch borrowed from the pool, returned on drop.
pub(crate) struct Lease<'a> {
    pool: &'a ScratchPool,
    scratch: Scratch,
}

impl Deref for Lease<'_> {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        &self.scratch
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Scratch {
        &mut self.scratch
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let s = std::mem::take(&mut self.scratch);
        self.pool
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(s);
    }
}
