//! The Metropolis machinery MALA and HMC share: the cached energy and gradient of the current
//! state, the per-chain accept/reject draw, and the selection of accepted rows.

use candle_core::Tensor;
use ebm_core::{Chains, Energy, Result};
use rand::Rng as _;

/// E and ∇E at the chains' positions: from the cache, or computed once and cached.
pub(crate) fn cached_energy_and_grad(
    energy: &dyn Energy,
    chains: &mut Chains,
) -> Result<(Tensor, Tensor)> {
    if let (Some(e), Some(g)) = (&chains.energy, &chains.grad) {
        return Ok((e.clone(), g.clone()));
    }
    let (e, g) = energy.energy_and_grad(chains.x())?;
    chains.energy = Some(e.clone());
    chains.grad = Some(g.clone());
    Ok((e, g))
}

/// Σ over every non-batch dimension of t², `[B]`.
pub(crate) fn row_sum_sq(t: &Tensor) -> Result<Tensor> {
    Ok(t.sqr()?.flatten_from(1)?.sum(1)?)
}

/// Per-chain accept/reject from log acceptance ratios, and the mean acceptance probability
/// (min(1, α), a lower-variance diagnostic than the accepted fraction). A NaN ratio rejects.
pub(crate) fn metropolis(rng: &mut ebm_core::Rng, log_alpha: &[f64]) -> (Vec<u8>, f64) {
    let mut prob_sum = 0.0;
    let mask = log_alpha
        .iter()
        .map(|&la| {
            let p = if la.is_nan() { 0.0 } else { la.min(0.0).exp() };
            prob_sum += p;
            let u: f64 = rng.random();
            u8::from(u < p)
        })
        .collect();
    (mask, prob_sum / log_alpha.len().max(1) as f64)
}

/// Row-wise choice: `on` where the mask is 1, `off` elsewhere (exact copies, no arithmetic).
pub(crate) fn select(mask: &[u8], on: &Tensor, off: &Tensor) -> Result<Tensor> {
    let mut shape = vec![mask.len()];
    shape.resize(on.rank(), 1);
    let m = Tensor::from_slice(mask, shape, on.device())?.broadcast_as(on.shape())?;
    Ok(m.where_cond(on, off)?)
}
