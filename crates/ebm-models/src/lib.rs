//! ebm-models: energy functions.
//!
//! - [`Mlp`]: the trainable MLP energy (`[model] kind = "mlp"`), with ∇ₓE by explicit ops;
//!   its sampling view on CPU is a fused GEMM path with no candle ops (`fused/`, which takes an
//!   `MlpSpec` and weight slices and knows nothing of `Mlp`).
//! - [`ConvNet`] (`kind = "conv"`) and [`ResNet`] (`kind = "resnet"`): image energies on
//!   `[B, C, H, W]`, ∇ₓE by autograd (their sampling views: an explicit im2col + GEMM forward
//!   and backward on the CPU, `conv_fused/`), optional spectral normalisation
//!   ([`spectral_norm`]) whose power-iteration vectors are checkpoint state (`buffers` /
//!   `load_buffers`).
//! - The numeric kernels of both fast paths (exp/ln/tanh, φ and φ′, SIMD dispatch, GEMM, raw
//!   CPU slices) are in `ebm-kernels`; [`Activation`] is its enum.
//! - [`analytic`]: Gaussian (full covariance), double well, Gaussian mixture, Rosenbrock and
//!   harmonic energies with closed-form gradients.
//!
//! ```
//! use ebm_core::Energy;
//! use ebm_models::analytic::Harmonic;
//! let e = Harmonic::new(2.0).unwrap();
//! let x = candle_core::Tensor::new(&[[1.0f32, 0.0]], &candle_core::Device::Cpu).unwrap();
//! assert_eq!(e.energy(&x).unwrap().to_vec1::<f32>().unwrap(), vec![1.0]);
//! ```

pub mod analytic;
mod autocast;
mod config;
mod conv;
mod conv_fused;
mod fused;
mod image_energy;
mod init;
mod layer;
mod mlp;
mod resnet;
pub mod spectral_norm;

pub use autocast::{AutocastEnergy, AutocastModel};
pub use config::ModelConfig;
pub use conv::{benchmark_layers, ConvConfig, ConvLayerConfig, ConvNet};
pub use ebm_kernels::Activation;
pub use init::linear_uniform;
pub use layer::Pool;
pub use mlp::{Mlp, MlpConfig, Output};
pub use resnet::{ResNet, ResNetConfig};
