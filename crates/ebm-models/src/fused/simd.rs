//! Run-time instruction-set dispatch for the fused MLP's loops. The workspace builds for plain
//! x86-64 (SSE2), which would leave these loops at 4 lanes; [`multiversion!`] compiles a loop
//! body three times — AVX-512, AVX2+FMA and the baseline — and picks one per call from the CPU
//! (std caches the CPUID query). The bodies use no fused multiply-add, so every version gives
//! the same bits.

/// Which instruction set the loops run with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

pub(crate) fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

/// `multiversion! { /// doc
/// pub(crate) fn name(args) { body } }`: the body is inlined into one function per
/// instruction set, and `name` dispatches.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) {
                body($($arg),*)
            }
            match $crate::fused::simd::isa() {
                // SAFETY: `isa()` checked that the CPU has these features.
                #[cfg(target_arch = "x86_64")]
                $crate::fused::simd::Isa::Avx512 => unsafe { avx512($($arg),*) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                $crate::fused::simd::Isa::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;
