//! ebm-testing: the conformance kit for ebm plugins. The built-in samplers and losses run it,
//! and so can a user's plugin crate, from its own tests:
//!
//! ```toml
//! [dev-dependencies]
//! ebm-testing = "0.1"
//! ```
//!
//! ```ignore
//! #[test]
//! fn my_sampler_conforms() {
//!     my_crate::link(); // whatever makes the crate's registrations linked into the test
//!     ebm_testing::SamplerCheck::new("my_sampler")
//!         .params("scale = 0.5")
//!         .rejects("scale = -1.0", "scale")
//!         .exact()
//!         .run()
//!         .unwrap();
//! }
//!
//! #[test]
//! fn my_loss_conforms() {
//!     ebm_testing::check_loss("my_loss");
//! }
//! ```
//!
//! [`check_sampler`] / [`SamplerCheck`]: config errors (not panics) for bad parameters, chains of
//! any shape (vector, matrix, image), seeded reproducibility, relaxation on an analytic Gaussian
//! and, for MCMC samplers, its moments within a few standard errors.
//! [`check_loss`] / [`LossCheck`]: config errors, data of any shape giving finite losses and
//! gradients, seeded reproducibility, agreement of the fused gradient path, and the checkpoint
//! round trip of the loss's chain bank.
//!
//! The kit depends on ebm-core only: its energy, model and sampler are in [`fixtures`], so any
//! plugin crate (the built-ins included) can take it as a dev-dependency without a cycle.

mod config;
mod failure;
pub mod fixtures;
mod loss_check;
mod sampler_check;

pub use config::UNKNOWN_KEY;
pub use failure::Failure;
pub use loss_check::{check_loss, LossCheck, LossReport};
pub use sampler_check::{check_sampler, SamplerCheck, SamplerReport, CHAIN_SHAPES};
