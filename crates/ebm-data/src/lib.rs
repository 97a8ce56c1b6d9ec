//! Seeded synthetic 2-D datasets, image datasets read from their standard files (Fashion-MNIST
//! IDX, CIFAR-10 binary; see [`images`]) and shuffled mini-batching for training energy-based
//! models.
//!
//! A run's `[data]` TOML section deserialises into [`DataConfig`]; [`DataConfig::train_set`] is
//! the training set and [`DataConfig::sample`] draws fresh data for evaluation (for images: from
//! the test split), with the caller's generator, so the same seed always gives the same data.
//! Every set is a [`Points`]: `len()` samples of shape `shape` (`[2]`, or `[C, H, W]` for images,
//! scaled to `[-1, 1]` and labelled). The generators follow the usual references (scikit-learn,
//! TorchEBM, FFJORD) formula for formula and default for default, without extra rescaling, so
//! results compare with other libraries.
//! [`DataConfig::sample_iid`] draws evaluation references with every random choice independent
//! (no fixed layout), and [`DataConfig::log_density`] is the true log-density of each 2-D set
//! (closed form for the mixtures and the checkerboard, quadrature over the generator's latent
//! for the rest), against which a model's density can be measured in nats.
//! [`Batcher`] walks a fixed training set in shuffled, drop-last epochs and can save and restore
//! its position exactly for checkpoints, and with [`Batcher::with_flip`] mirrors images at random,
//! from the same seeded generator. [`Points::shard`] / [`shard_range`] split a set across the
//! ranks of a data-parallel run.
//!
//! ```
//! use candle_core::Device;
//! use ebm_data::{Batcher, DataConfig};
//! use rand::SeedableRng;
//!
//! let config = DataConfig::with_defaults("two_moons")?; // or deserialise [data] from TOML
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let train = config.train_set(&mut rng)?;
//! let mut batcher = Batcher::new(train, 128)?.with_flip(config.flip())?;
//! let batch = batcher.next_batch(&mut rng, &Device::Cpu)?;
//! assert_eq!(batch.dims(), &[128, 2]);
//! # Ok::<(), ebm_data::Error>(())
//! ```

mod batcher;
mod config;
mod density;
mod error;
pub mod images;
mod points;
mod shard;
mod shuffle;
mod toy;

pub use batcher::{Batcher, BatcherState};
pub use config::{
    Checkerboard, Cifar10, Circles, DataConfig, EightGaussians, FashionMnist, GaussianMixture,
    Pinwheel, Split, SwissRoll, TwoMoons, TwoSpirals,
};
pub use error::{Error, FileErrorKind, Result};
pub use images::cifar::{read_cifar_batch, write_synthetic_cifar};
pub use images::idx::{read_idx_images, read_idx_labels, read_idx_pair, IdxImages};
pub use points::Points;
pub use shard::shard_range;
pub use shuffle::fisher_yates;
