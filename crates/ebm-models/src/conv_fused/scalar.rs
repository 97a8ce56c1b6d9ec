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
    /// eˣ in a form the compiler vectorises (f32: a polynomial within a few ulp; f64: `exp`,
    /// where the tests want 1e-10 agreement and speed matters less).
    fn exp_fast(self) -> Self;
    fn tanh(self) -> Self;
    fn ln(self) -> Self;
    fn abs(self) -> Self;
    fn recip(self) -> Self;
}

macro_rules! real {
    ($t:ty, $exp_fast:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn exp_fast(self) -> Self {
                $exp_fast(self)
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

real!(f32, exp_f32);
real!(f64, f64::exp);

/// Cephes' expf: eˣ = 2ⁿ·e^r with n = round(x/ln 2), |r| ≤ ln 2/2, e^r by a degree-6
/// polynomial (relative error ≈ 2e-7), 2ⁿ by building the float's exponent bits. Branch-free,
/// so a loop over it vectorises; libm's `expf` call in the activation loop was ~5% of ∇ₓE.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    // Below −87.3 the result would be subnormal, above 88 the exponent would overflow 2¹²⁷:
    // clamping keeps 2ⁿ a normal float (σ and φ' only need e^±88 to be "huge" or "tiny").
    let x = if x < -87.3 { -87.3 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    // round(x·log₂e) by the 1.5·2²³ trick (no `round` call, which would not vectorise on SSE2)
    let shifter = 12_582_912.0f32;
    let t = x * std::f32::consts::LOG2_E + shifter;
    let n = t - shifter;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // t's low mantissa bits hold n exactly (|n| < 2²²): integer ops only, where `n as i32`
    // would be a saturating conversion with a scalar NaN check per lane.
    let n_int = t.to_bits().wrapping_sub(12_582_912.0f32.to_bits());
    er * f32::from_bits(n_int.wrapping_add(127) << 23)
}

/// φ with its β, applied in place to a buffer of pre-activations z, keeping φ'(z).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act<T> {
    pub activation: Activation,
    pub beta: T,
}

#[inline]
fn sigmoid<T: Real>(z: T) -> T {
    (T::ONE + (-z).exp_fast()).recip()
}

impl<T: Real> Act<T> {
    /// z ← φ(z + bias), `slope` ← φ'(z + bias), with the formulas candle's ops use (so the two
    /// paths agree to rounding). Adding the bias here saves a pass over z.
    pub fn apply(self, z: &mut [T], slope: &mut [T], bias: T) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: `apply_avx512` needs only AVX-512F, which this CPU has (checked above).
            unsafe { self.apply_avx512(z, slope, bias) };
            return;
        }
        self.apply_any(z, slope, bias)
    }

    /// The same loop compiled for AVX-512 (16 lanes instead of the baseline's 4): the
    /// activation pass was ~9% of ∇ₓE with SSE2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn apply_avx512(self, z: &mut [T], slope: &mut [T], bias: T) {
        self.apply_any(z, slope, bias)
    }

    #[inline(always)]
    fn apply_any(self, z: &mut [T], slope: &mut [T], bias: T) {
        let beta = self.beta;
        match self.activation {
            Activation::Silu => each(|v| swish(v, T::ONE), z, slope, bias),
            Activation::Swish => each(|v| swish(v, beta), z, slope, bias),
            Activation::Elu => each(
                |v: T| {
                    // e computed on both sides keeps the loop branch-free (vectorisable)
                    let e = v.exp_fast();
                    if v > T::ZERO {
                        (v, T::ONE)
                    } else {
                        (e - T::ONE, e)
                    }
                },
                z,
                slope,
                bias,
            ),
            Activation::Tanh => each(
                |v: T| {
                    let t = v.tanh();
                    (t, T::ONE - t * t)
                },
                z,
                slope,
                bias,
            ),
            // relu(z) + log(1 + e^{−|z|}) as in `Activation::apply`; φ' = σ(z).
            Activation::Softplus => each(
                |v: T| {
                    let relu = if v > T::ZERO { v } else { T::ZERO };
                    (relu + (T::ONE + (-v.abs()).exp()).ln(), sigmoid(v))
                },
                z,
                slope,
                bias,
            ),
        }
    }
}

/// Generic over `f` (not `&dyn Fn`) so the per-element function inlines into the loop.
#[inline]
fn each<T: Real>(f: impl Fn(T) -> (T, T), z: &mut [T], slope: &mut [T], bias: T) {
    for (v, d) in z.iter_mut().zip(slope.iter_mut()) {
        (*v, *d) = f(*v + bias);
    }
}

/// (z·σ(βz), σ(βz)·(1 + βz·(1 − σ(βz)))).
#[inline]
fn swish<T: Real>(z: T, beta: T) -> (T, T) {
    let bz = beta * z;
    let s = sigmoid(bz);
    (z * s, s * (T::ONE + bz * (T::ONE - s)))
}

#[cfg(test)]
mod tests {
    use super::exp_f32;

    #[test]
    fn exp_f32_is_within_a_few_ulp_over_the_range_the_activations_use() {
        let mut worst = 0f64;
        for i in -80_000..=80_000 {
            let x = i as f32 * 1e-3;
            let exact = (x as f64).exp();
            worst = worst.max(((exp_f32(x) as f64) - exact).abs() / exact);
        }
        assert!(worst < 5e-7, "relative error {worst:e}");
        // clamped ends stay finite and ordered
        assert!(exp_f32(200.0).is_finite() && exp_f32(200.0) > 1e38);
        assert!(exp_f32(-200.0) >= 0.0 && exp_f32(-200.0) < 1e-37);
    }
}
