//! The KL term of "Improved Contrastive Divergence" (Du et al. 2021).
//!
//! CD's negatives x⁻ are drawn from q_θ, the distribution of the sampler's chains, and CD's
//! gradient drops the part of KL(q_θ ‖ p_θ) that flows through the sampler: how a change of θ
//! moves the samples. The KL term restores the dominant piece of it. The last move of a
//! Langevin-type chain is x_k = x_{k−1} − η·∇ₓE_θ(x_{k−1}) + (noise, clamp), so
//!
//!   L_KL = mean E_θ̄(x_k),   ∂x_k/∂θ = −η·∂∇ₓE_θ(x_{k−1})/∂θ,
//!
//! with θ̄ the same weights frozen (no gradient through the energy itself): minimising it teaches
//! the sampler's last step to lower the energy of where it lands. Only the last move is
//! differentiated (as in the paper); the noise and the clamp count as constants, and so does a
//! sampler's per-chain gradient clip (the unclipped ∇ₓE is differentiated).

use crate::score_matching::input_grad;
use candle_core::Tensor;
use ebm_core::{Error, Model, Result};

/// L_KL for the state `x_prev` before the last move and the state `x_next` after it, with drift
/// step `eta`: a scalar whose value is mean E_θ̄(x_next) (noise and clamp included) and whose
/// parameter gradient is that of mean E_θ̄(x_next(θ)) through the drift,
///
///   ∂L_KL/∂θ = −(η/B)·Σᵢ ∇ₓE_θ̄(x_next,ᵢ) · ∂∇ₓE_θ(x_prev,ᵢ)/∂θ,
///
/// taken as the gradient of the surrogate −(η/B)·Σᵢ ⟨stop_grad(∇ₓE(x_next,ᵢ)), ∇ₓE_θ(x_prev,ᵢ)⟩.
/// The surrogate needs no autograd graph through the frozen energy (whose sampling view may be a
/// fused CPU path), only ∇ₓE_θ(x_prev) on the graph: double backward for models whose ∇ₓE
/// comes from autograd.
pub fn kl_term(model: &dyn Model, x_prev: &Tensor, x_next: &Tensor, eta: f64) -> Result<Tensor> {
    let n = x_next.dims().first().copied().unwrap_or(0);
    if n == 0 || x_prev.dims() != x_next.dims() {
        return Err(Error::shape(
            "contrastive_divergence's KL term",
            format!(
                "states before and after the last move: {:?} and {:?}",
                x_prev.dims(),
                x_next.dims()
            ),
        ));
    }
    let frozen = model.detached();
    let (e_next, v) = frozen.energy_and_grad(&x_next.detach())?;
    let g = input_grad(
        model,
        &x_prev.detach(),
        "contrastive_divergence's kl_weight",
    )?;
    let surrogate = ((g * v.detach())?.sum_all()? * (-eta / n as f64))?;
    // Value mean E_θ̄(x_next), gradient the surrogate's.
    let value = e_next.detach().mean_all()?;
    Ok(((&surrogate - surrogate.detach())? + value)?)
}
