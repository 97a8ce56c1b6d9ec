//! The element types of the kernels: f32 and f64.

use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub};

/// f32 or f64: what `gemm` multiplies, candle stores and the activations need. f32 takes the
/// vectorisable [`crate::cephes`] functions; f64 takes std's (its callers check against
/// autograd to 1e-10, and speed matters less there).
pub trait Real:
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
    + MulAssign
    + Neg<Output = Self>
    + std::ops::Div<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    /// ln of a positive normal value.
    fn ln(self) -> Self;
    fn tanh(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn exp(self) -> Self {
        crate::cephes::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        crate::cephes::ln(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        crate::cephes::tanh(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
}
