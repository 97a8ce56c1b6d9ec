//! ebm-models: energy functions.
//!
//! - [`Mlp`]: the trainable MLP energy (`[model] kind = "mlp"`), with ∇ₓE by explicit ops.
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

mod activation;
pub mod analytic;
mod config;
mod init;
mod mlp;

pub use activation::Activation;
pub use config::ModelConfig;
pub use mlp::{Mlp, MlpConfig, Output};
