//! φ and φ′ of one value. The f32 forms are, operation for operation, those the fused MLP has
//! always used (its seeded results are documented figures): change nothing here without
//! re-checking them.

use crate::Real;

#[inline(always)]
fn sigmoid<T: Real>(z: T) -> T {
    T::ONE / (T::ONE + (-z).exp())
}

/// z·σ(βz) and its derivative σ(βz)·(1 + βz·(1 − σ(βz))).
#[inline(always)]
pub(super) fn swish<T: Real>(z: T, beta: T) -> (T, T) {
    let bz = beta * z;
    let s = sigmoid(bz);
    (z * s, s * (T::ONE + bz * (T::ONE - s)))
}

/// e computed on both sides keeps the loop branch-free (vectorisable).
#[inline(always)]
pub(super) fn elu<T: Real>(z: T) -> (T, T) {
    let e = z.exp();
    if z > T::ZERO {
        (z, T::ONE)
    } else {
        (e - T::ONE, e)
    }
}

#[inline(always)]
pub(super) fn tanh<T: Real>(z: T) -> (T, T) {
    let t = z.tanh();
    (t, T::ONE - t * t)
}

/// relu(z) + ln(1 + e^{−|z|}) (no overflow for large |z|), and σ(z).
#[inline(always)]
pub(super) fn softplus<T: Real>(z: T) -> (T, T) {
    let u = (-z.abs()).exp();
    let value = Real::max(z, T::ZERO) + (T::ONE + u).ln();
    // σ(z) from the same exponential: 1/(1+u) for z ≥ 0, u/(1+u) below.
    let inv = T::ONE / (T::ONE + u);
    (value, if z >= T::ZERO { inv } else { u * inv })
}
