//! `Chains`: the state of a batch of Markov chains. Besides positions it caches what a sampler
//! already computed at those positions (energy, gradient), so MALA/HMC evaluate each point once.

use candle_core::Tensor;

/// Positions `[B, ...]` plus cached per-position quantities. Setting new positions drops the cache.
#[derive(Clone, Debug)]
pub struct Chains {
    x: Tensor,
    /// E(x) at the current positions, if a sampler computed it.
    pub energy: Option<Tensor>,
    /// ∇ₓE(x) at the current positions, if a sampler computed it.
    pub grad: Option<Tensor>,
}

impl Chains {
    pub fn new(x: Tensor) -> Self {
        Chains {
            x,
            energy: None,
            grad: None,
        }
    }

    pub fn x(&self) -> &Tensor {
        &self.x
    }

    pub fn into_x(self) -> Tensor {
        self.x
    }

    /// Number of chains.
    pub fn len(&self) -> usize {
        self.x.dims().first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the chains; the cached energy and gradient no longer apply.
    pub fn set_x(&mut self, x: Tensor) {
        self.x = x;
        self.energy = None;
        self.grad = None;
    }

    /// Moves the chains to positions whose energy and gradient are already known.
    pub fn set_x_cached(&mut self, x: Tensor, energy: Option<Tensor>, grad: Option<Tensor>) {
        self.x = x;
        self.energy = energy;
        self.grad = grad;
    }
}
