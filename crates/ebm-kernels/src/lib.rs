//! ebm-kernels: the one home of the CPU numeric kernels behind the fast paths (the fused MLP,
//! the fused conv/ResNet, the samplers' raw updates).
//!
//! - [`cephes`]: eˣ, ln and tanh for f32 as branch-free polynomials (Cephes' coefficients) that
//!   LLVM vectorises; one set of constants and clamps.
//! - [`Real`]: f32 or f64 as the kernels see them (f32 takes the Cephes functions, f64 std's).
//! - [`activation`]: the [`Activation`] enum and its φ and φ′, both as candle ops (any device,
//!   differentiable) and as slice kernels (`activate`, `activate_biased`).
//! - [`simd`]: run-time instruction-set dispatch ([`multiversion!`]).
//! - [`gemm`]: the one safe, bounds-checked face of the `gemm` crate.
//! - [`cpu`]: raw reads of candle CPU tensors' contiguous data.
//!
//! Dependency rule: candle-core, gemm and serde only, never an ebm crate, so every crate of the
//! workspace (and a user's plugin) can build on it.
//!
//! ```
//! use ebm_kernels::{activation, Activation};
//! let mut z = vec![-1.0f32, 0.0, 2.0];
//! let mut d = vec![0.0f32; 3];
//! activation::activate(Activation::Silu, 1.0, &mut z, &mut d);
//! assert_eq!(z[1], 0.0);
//! assert_eq!(d[1], 0.5);
//! ```

pub mod activation;
pub mod cephes;
pub mod cpu;
pub mod gemm;
mod real;
pub mod simd;

pub use activation::Activation;
pub use real::Real;
