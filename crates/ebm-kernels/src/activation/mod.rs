//! The activations of the energy networks and their derivatives, in the two forms the
//! workspace needs, side by side so they cannot drift apart:
//! - candle ops ([`Activation::apply`], [`Activation::derivative`]): any device, differentiable
//!   to any order (the MLP computes ∇ₓE by explicit forward ops, and losses differentiate it);
//! - slice kernels ([`activate`], [`activate_biased`]): φ(z) in place and φ′(z) beside it in one
//!   vectorised pass, for the fused CPU paths; per element they are [`phi`].
//!
//! The tests check that the two forms agree.

mod scalar;
mod tensor;

use crate::multiversion;
use crate::Real;
use serde::{Deserialize, Serialize};

/// `[model] activation = "silu"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// x·σ(x) (also called swish-1).
    #[default]
    Silu,
    /// x for x > 0, eˣ − 1 otherwise.
    Elu,
    /// x·σ(βx), with β = `[model] swish_beta` (1 by default, which is SiLU).
    Swish,
    Tanh,
    /// log(1 + eˣ).
    Softplus,
}

/// (φ(z), φ′(z)) of one value; `beta` is swish's β.
#[inline(always)]
pub fn phi<T: Real>(act: Activation, beta: T, z: T) -> (T, T) {
    match act {
        Activation::Silu => scalar::swish(z, T::ONE),
        Activation::Swish => scalar::swish(z, beta),
        Activation::Elu => scalar::elu(z),
        Activation::Tanh => scalar::tanh(z),
        Activation::Softplus => scalar::softplus(z),
    }
}

/// A loop over buffers that applies a per-element (φ, φ′).
trait Pass<T> {
    fn run(self, f: impl Fn(T) -> (T, T));
}

/// Picks the activation once, outside the loop, so each loop body is one straight-line
/// function the compiler can vectorise.
#[inline(always)]
fn dispatch<T: Real>(act: Activation, beta: T, pass: impl Pass<T>) {
    match act {
        Activation::Silu => pass.run(|v| scalar::swish(v, T::ONE)),
        Activation::Swish => pass.run(|v| scalar::swish(v, beta)),
        Activation::Elu => pass.run(scalar::elu),
        Activation::Tanh => pass.run(scalar::tanh),
        Activation::Softplus => pass.run(scalar::softplus),
    }
}

/// z ← φ(z), d ← φ′(z).
struct InPlace<'a, T> {
    z: &'a mut [T],
    d: &'a mut [T],
}

impl<T: Real> Pass<T> for InPlace<'_, T> {
    #[inline(always)]
    fn run(self, f: impl Fn(T) -> (T, T)) {
        for (zi, di) in self.z.iter_mut().zip(self.d.iter_mut()) {
            let (v, dv) = f(*zi);
            *zi = v;
            *di = dv;
        }
    }
}

/// z ← φ(z + bias), d ← φ′(z + bias): the conv path adds a channel's bias in the same pass.
struct Biased<'a, T> {
    z: &'a mut [T],
    d: &'a mut [T],
    bias: T,
}

impl<T: Real> Pass<T> for Biased<'_, T> {
    #[inline(always)]
    fn run(self, f: impl Fn(T) -> (T, T)) {
        for (v, d) in self.z.iter_mut().zip(self.d.iter_mut()) {
            (*v, *d) = f(*v + self.bias);
        }
    }
}

multiversion! {
    /// In place z ← φ(z), and d ← φ′(z) (d as long as z).
    pub fn activate<T: Real>(act: Activation, beta: T, z: &mut [T], d: &mut [T]) {
        dispatch(act, beta, InPlace { z, d })
    }
}

multiversion! {
    /// In place z ← φ(z + bias), and d ← φ′(z + bias) (d as long as z).
    pub fn activate_biased<T: Real>(act: Activation, beta: T, z: &mut [T], d: &mut [T], bias: T) {
        dispatch(act, beta, Biased { z, d, bias })
    }
}

multiversion! {
    /// g ← g ⊙ d.
    pub fn mul_in_place<T: Real>(g: &mut [T], d: &[T]) {
        for (gi, di) in g.iter_mut().zip(d) {
            *gi *= *di;
        }
    }
}

#[cfg(test)]
mod tests;
