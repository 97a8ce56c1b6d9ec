//! Run-time instruction-set dispatch for the kernels' loops. The workspace builds for plain
//! x86-64 (SSE2), which would leave these loops at 4 lanes; [`multiversion!`] compiles a loop
//! body three times — AVX-512, AVX2+FMA and the baseline — and picks one per call from the CPU
//! (std caches the CPUID query). Rust never contracts a multiply and an add into an FMA on its
//! own, so every version gives the same bits.

/// Which instruction set the loops run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

/// The best [`Isa`] this CPU has. `#[inline]` so the dispatch stays a couple of loads in the
/// caller's crate.
#[inline]
pub fn isa() -> Isa {
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
/// pub fn name<T: Bound>(args) { body } }` (the one type parameter optional): the body is
/// inlined into one function per instruction set, and `name` dispatches with [`isa`].
#[macro_export]
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) {
            #[inline(always)]
            fn body $(<$g: $bound>)? ($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) {
                body $(::<$g>)? ($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) {
                body $(::<$g>)? ($($arg),*)
            }
            match $crate::simd::isa() {
                // SAFETY: `isa()` checked that the CPU has these features.
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Isa::Avx512 => unsafe { avx512 $(::<$g>)? ($($arg),*) },
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Isa::Avx2 => unsafe { avx2 $(::<$g>)? ($($arg),*) },
                _ => body $(::<$g>)? ($($arg),*),
            }
        }
    };
}
