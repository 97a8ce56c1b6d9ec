//! Seeded synthetic 2-D datasets and shuffled mini-batching for training energy-based models.
//!
//! A run's `[data]` TOML section deserialises into [`DataConfig`]; [`DataConfig::sample`] draws
//! points with the caller's generator, so the same seed always gives the same data. The
//! generators follow the usual references (scikit-learn, TorchEBM, FFJORD) formula for formula
//! and default for default, without extra rescaling, so results compare with other libraries.
//! [`Batcher`] walks a fixed training set in shuffled, drop-last epochs and can save and restore
//! its position exactly for checkpoints. [`Points::shard`] / [`shard_range`] split a set across the
//! ranks of a data-parallel run.
//!
//! ```
//! use candle_core::Device;
//! use ebm_data::{Batcher, DataConfig};
//! use rand::SeedableRng;
//!
//! let config = DataConfig::with_defaults("two_moons")?; // or deserialise [data] from TOML
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let train = config.sample(config.n_samples(), &mut rng)?;
//! let mut batcher = Batcher::new(train, 128)?;
//! let batch = batcher.next_batch(&mut rng, &Device::Cpu)?;
//! assert_eq!(batch.dims(), &[128, 2]);
//! # Ok::<(), ebm_data::Error>(())
//! ```

mod batcher;
mod config;
mod error;
mod points;
mod shard;
mod shuffle;
mod toy;

pub use batcher::{Batcher, BatcherState};
pub use config::DataConfig;
pub use error::{Error, Result};
pub use points::Points;
pub use shard::shard_range;
pub use shuffle::fisher_yates;
