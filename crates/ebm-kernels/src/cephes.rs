//! eˣ, ln y and tanh z for f32 as branch-free polynomial code (Cephes' single-precision
//! coefficients, ≤ 2 ulp on the ranges used).
//!
//! libm's `expf`/`tanhf`/`logf` are scalar calls that stop the compiler from vectorising a loop;
//! at 256 activations per chain and step they would cost more than the matmuls (and libm's
//! `expf` in the conv activation loop was ~5% of its ∇ₓE). These vectorise, per instruction set
//! ([`crate::simd`]). This is the one set of constants and clamps of the workspace: the fused
//! MLP's, whose seeded results are documented figures, so they must not change.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5·2²³: adding it rounds an |x| < 2²² to an integer, and the integer sits in the low
/// mantissa bits (no `round()` call, which is libm on baseline x86-64).
const ROUND_MAGIC: f32 = 12_582_912.0;

/// eˣ, clamped to the normal range (e⁻⁸⁷ … e⁸⁸), which is all a sigmoid or ELU needs: below,
/// 2ⁿ would be subnormal, above, its exponent would overflow 2¹²⁷.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    // ln 2 split in two so r = x − n·ln 2 keeps full precision (Cody–Waite).
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * (r * r) + r + 1.0;
    // 2ⁿ from the integer in `shifted`'s mantissa: n + 127 into the exponent field. Integer
    // ops only, where `n as i32` would be a saturating conversion with a scalar NaN check.
    let n_int = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits());
    y * f32::from_bits(n_int.wrapping_add(127) << 23)
}

/// ln y for positive normal y.
#[inline(always)]
pub fn ln(y: f32) -> f32 {
    let bits = y.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 as f32 - 126.0;
    // Mantissa in [0.5, 1); shift to [√½, √2) so the polynomial sees |m − 1| ≤ 0.29.
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let low = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= if low { 1.0 } else { 0.0 };
    let x = if low { m + m - 1.0 } else { m - 1.0 };
    let z = x * x;
    let mut p = 7.037_683_6e-2f32;
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = p * x + c;
    }
    let mut r = p * x * z;
    r += e * -2.121_944_4e-4;
    r -= 0.5 * z;
    x + r + e * 0.693_359_4
}

/// tanh: a polynomial near 0 (where 1 − 2/(e²ᶻ + 1) would cancel), the exp form elsewhere.
#[inline(always)]
pub fn tanh(z: f32) -> f32 {
    let a = z.abs();
    let a2 = a * a;
    let near = ((((-5.704_988_7e-3 * a2 + 2.063_909e-2) * a2 - 5.373_971_6e-2) * a2
        + 1.333_144_2e-1)
        * a2
        - 3.333_328e-1)
        * a2
        * a
        + a;
    let far = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let t = if a < 0.625 { near } else { far };
    t.copysign(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f64, rel: f64) -> bool {
        (a as f64 - b).abs() <= rel * b.abs().max(1e-30) + 1e-37
    }

    #[test]
    fn exp_ln_tanh_match_libm_to_a_few_ulp() {
        let mut z = -87.0f32;
        while z < 88.0 {
            assert!(
                close(exp(z), (z as f64).exp(), 4e-7),
                "exp({z}) = {}",
                exp(z)
            );
            assert!(close(tanh(z), (z as f64).tanh(), 4e-7), "tanh({z})");
            let y = z.abs() + 1e-3;
            assert!(
                (ln(y) as f64 - (y as f64).ln()).abs() <= 3e-7 * (y as f64).ln().abs().max(1.0)
            );
            z += 0.013;
        }
        for z in [1e-8f32, -1e-8, 1e-4, 0.3, -0.62, 0.63] {
            assert!(close(tanh(z), (z as f64).tanh(), 4e-7), "tanh({z})");
        }
    }

    #[test]
    fn exp_is_within_a_few_ulp_on_a_fine_grid() {
        let mut worst = 0f64;
        for i in -80_000..=80_000 {
            let x = i as f32 * 1e-3;
            let exact = (x as f64).exp();
            worst = worst.max(((exp(x) as f64) - exact).abs() / exact);
        }
        assert!(worst < 5e-7, "relative error {worst:e}");
    }

    #[test]
    fn exp_clamps_to_finite_ordered_ends() {
        assert!(exp(200.0).is_finite() && exp(200.0) > 1e38);
        assert!(exp(-200.0) >= 0.0 && exp(-200.0) < 1e-37);
        assert_eq!(exp(200.0), exp(88.0));
        assert_eq!(exp(-200.0), exp(-87.0));
    }
}
