//! Leapfrog (velocity Verlet): the palindromic kick–drift–kick scheme with coefficients
//! (½, 1, ½). It is symplectic and time-reversible, which is what makes HMC's Metropolis
//! correction exact. Consecutive half kicks are fused into one full kick, so L steps cost L
//! gradient evaluations, and the caller supplies the gradient at the start (HMC caches it),
//! unlike TorchEBM's 2L.

use candle_core::{Tensor, D};
use ebm_core::{Drift, Energy, Error, Integrator, Result};

/// Where a leapfrog trajectory ends, with E and ∇E there (the next transition's cache).
#[derive(Clone, Debug)]
pub struct LeapfrogEnd {
    pub x: Tensor,
    pub p: Tensor,
    /// E(x), `[B]`.
    pub energy: Tensor,
    /// ∇ₓE(x), same shape as `x`.
    pub grad: Tensor,
}

/// `n_steps` leapfrog steps of size `step` for H(x, p) = E(x) + ½ pᵀM⁻¹p from `(x, p)`, where
/// `grad_x` = ∇E(x). `inv_mass` is the diagonal of M⁻¹ as a row (`[1, D]`, or `[1, ...]`
/// broadcasting against `x`). Evaluates `energy.energy_and_grad` exactly `n_steps` times.
pub fn leapfrog(
    energy: &dyn Energy,
    x: &Tensor,
    p: &Tensor,
    grad_x: &Tensor,
    step: f64,
    n_steps: usize,
    inv_mass: &Tensor,
) -> Result<LeapfrogEnd> {
    if n_steps == 0 {
        return Err(Error::invalid_argument(
            "run leapfrog",
            "n_steps must be >= 1, got 0",
        ));
    }
    let drift = |x: &Tensor, p: &Tensor| -> Result<Tensor> {
        Ok((x + (p.broadcast_mul(inv_mass)? * step)?)?)
    };
    let mut p = (p - (grad_x * (0.5 * step))?)?;
    let mut x = drift(x, &p)?;
    let (mut e, mut g) = energy.energy_and_grad(&x)?;
    for _ in 1..n_steps {
        // The closing half kick of one step and the opening half kick of the next share ∇E(x).
        p = (p - (&g * step)?)?;
        x = drift(&x, &p)?;
        (e, g) = energy.energy_and_grad(&x)?;
    }
    p = (p - (&g * (0.5 * step))?)?;
    Ok(LeapfrogEnd {
        x,
        p,
        energy: e,
        grad: g,
    })
}

/// Leapfrog as an [`Integrator`] for a separable Hamiltonian-like ODE on a phase-space state
/// `x = [q | p]` (the last dimension split in halves). The drift returns `[dq/dt | dp/dt]`; the
/// scheme is exact Störmer–Verlet when dq/dt depends only on p and dp/dt only on q. The trait is
/// stateless, so each step evaluates the drift three times (no gradient cache across calls).
/// Additive noise, if given, is applied after the deterministic step (a Lie–Trotter splitting).
#[derive(Clone, Copy, Debug, Default)]
pub struct Leapfrog;

impl Leapfrog {
    fn halves(x: &Tensor) -> Result<(Tensor, Tensor)> {
        let w = x.dim(D::Minus1)?;
        if w % 2 != 0 {
            return Err(Error::shape(
                "leapfrog's phase-space state [q | p]",
                format!("the last dimension must be even, got {w}"),
            ));
        }
        Ok((
            x.narrow(D::Minus1, 0, w / 2)?,
            x.narrow(D::Minus1, w / 2, w / 2)?,
        ))
    }
}

impl Integrator for Leapfrog {
    fn name(&self) -> &'static str {
        "leapfrog"
    }

    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (q, p) = Self::halves(x)?;
        let (_, dp) = Self::halves(&drift(x, t)?)?;
        let p = (p + (dp * (0.5 * dt))?)?;
        let (dq, _) = Self::halves(&drift(&Tensor::cat(&[&q, &p], D::Minus1)?, t + 0.5 * dt)?)?;
        let q = (q + (dq * dt)?)?;
        let (_, dp) = Self::halves(&drift(&Tensor::cat(&[&q, &p], D::Minus1)?, t + dt)?)?;
        let p = (p + (dp * (0.5 * dt))?)?;
        let next = Tensor::cat(&[&q, &p], D::Minus1)?;
        match noise {
            Some(n) => Ok((next + n)?),
            None => Ok(next),
        }
    }
}
