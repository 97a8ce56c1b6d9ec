//! The element types of the fused conv path (f32, f64) and the activations φ, φ' on slices.
//!
//! Why not candle's ops: the fused path applies φ and keeps φ'(z) in one pass over a buffer it
//! owns, instead of several tensor ops each allocating their result.

use crate::Activation;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// f32 or f64: what `gemm` multiplies, candle stores and the activations need.
pub(crate) trait Real:
    candle_core::WithDType
    + Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + AddAssign
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    fn ln(self) -> Self;
    fn abs(self) -> Self;
    fn recip(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline]
            fn recip(self) -> Self {
                <$t>::recip(self)
            }
        }
    };
}

real!(f32);
real!(f64);

/// φ with its β, applied in place to a buffer of pre-activations z, keeping φ'(z).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act<T> {
    pub activation: Activation,
    pub beta: T,
}

#[inline]
fn sigmoid<T: Real>(z: T) -> T {
    (T::ONE + (-z).exp()).recip()
}

impl<T: Real> Act<T> {
    /// z ← φ(z), `slope` ← φ'(z), with the formulas candle's ops use (so the two paths agree to
    /// rounding).
    pub fn apply(self, z: &mut [T], slope: &mut [T]) {
        let beta = self.beta;
        match self.activation {
            Activation::Silu => each(|v| swish(v, T::ONE), z, slope),
            Activation::Swish => each(|v| swish(v, beta), z, slope),
            Activation::Elu => each(
                |v: T| {
                    if v > T::ZERO {
                        (v, T::ONE)
                    } else {
                        let e = v.exp();
                        (e - T::ONE, e)
                    }
                },
                z,
                slope,
            ),
            Activation::Tanh => each(
                |v: T| {
                    let t = v.tanh();
                    (t, T::ONE - t * t)
                },
                z,
                slope,
            ),
            // relu(z) + log(1 + e^{−|z|}) as in `Activation::apply`; φ' = σ(z).
            Activation::Softplus => each(
                |v: T| {
                    let relu = if v > T::ZERO { v } else { T::ZERO };
                    (relu + (T::ONE + (-v.abs()).exp()).ln(), sigmoid(v))
                },
                z,
                slope,
            ),
        }
    }
}

/// Generic over `f` (not `&dyn Fn`) so the per-element function inlines into the loop.
#[inline]
fn each<T: Real>(f: impl Fn(T) -> (T, T), z: &mut [T], slope: &mut [T]) {
    for (v, d) in z.iter_mut().zip(slope.iter_mut()) {
        (*v, *d) = f(*v);
    }
}

/// (z·σ(βz), σ(βz)·(1 + βz·(1 − σ(βz)))).
#[inline]
fn swish<T: Real>(z: T, beta: T) -> (T, T) {
    let bz = beta * z;
    let s = sigmoid(bz);
    (z * s, s * (T::ONE + bz * (T::ONE - s)))
}
