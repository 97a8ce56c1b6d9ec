//! The `[data]` section of a run's TOML. `kind` picks the generator or image dataset; the other
//! keys are its parameters, each with the default of the reference implementation it follows, so
//! `kind = "two_moons"` alone is a complete configuration. Unknown keys are rejected so that a
//! typo (`nosie = 0.1`) fails loudly instead of silently training on the default.
//!
//! Image datasets are read from files that the user (or a Debian package) put in `dir`:
//!
//! ```toml
//! [data]
//! kind = "fashion_mnist"          # or "cifar10"
//! dir = "/usr/share/datasets/fashion-mnist"
//! split = "train"                 # the training set; "test" trains on the test split
//! n_samples = 10000               # optional: the first n of the split (default: all)
//! flip = false                    # random horizontal flips of training batches
//! ```

mod bounds;
mod images;
mod params;
mod sample;
mod validate;

use crate::{Error, Result};
pub use params::{
    Checkerboard, Cifar10, Circles, EightGaussians, FashionMnist, GaussianMixture, Pinwheel,
    SwissRoll, TwoMoons, TwoSpirals,
};
use serde::{Deserialize, Serialize};

/// Which part of an image dataset to train on.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    #[default]
    Train,
    Test,
}

/// Which dataset to draw from, with its parameters (each kind's struct holds its defaults).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataConfig {
    /// scikit-learn `make_moons`.
    TwoMoons(TwoMoons),
    /// Eight Gaussians on the circle of radius `scale` (TorchEBM).
    EightGaussians(EightGaussians),
    /// `n_components` Gaussians evenly on the circle of radius `radius` (TorchEBM).
    GaussianMixture(GaussianMixture),
    /// A centred, normalised 2-D Swiss roll (TorchEBM).
    SwissRoll(SwissRoll),
    /// Concentric circles, inner radius `factor * radius` (scikit-learn `make_circles`).
    Circles(Circles),
    /// Unit squares with odd `floor(x) + floor(y)` inside `[-range_limit, range_limit)^2`.
    Checkerboard(Checkerboard),
    /// `n_classes` curved blades (TorchEBM).
    Pinwheel(Pinwheel),
    /// Two interleaved spirals (FFJORD "2spirals").
    TwoSpirals(TwoSpirals),
    /// Fashion-MNIST: 28×28 grey images `[1, 28, 28]`, 10 classes, IDX files in `dir`.
    FashionMnist(FashionMnist),
    /// CIFAR-10 binary version: 32×32 colour images `[3, 32, 32]`, 10 classes, in `dir`.
    Cifar10(Cifar10),
}

impl Default for DataConfig {
    /// Two moons with the reference defaults.
    fn default() -> Self {
        DataConfig::TwoMoons(TwoMoons::default())
    }
}

impl DataConfig {
    /// Every accepted `kind`, in declaration order: the synthetic sets, then the image sets.
    pub const KINDS: [&'static str; 10] = [
        "two_moons",
        "eight_gaussians",
        "gaussian_mixture",
        "swiss_roll",
        "circles",
        "checkerboard",
        "pinwheel",
        "two_spirals",
        "fashion_mnist",
        "cifar10",
    ];

    /// The synthetic 2-D kinds (drawn from a generator, no files).
    pub const SYNTHETIC_KINDS: [&'static str; 8] = [
        "two_moons",
        "eight_gaussians",
        "gaussian_mixture",
        "swiss_roll",
        "circles",
        "checkerboard",
        "pinwheel",
        "two_spirals",
    ];

    /// The dataset `kind` with every parameter at its default; the error lists the known kinds.
    pub fn with_defaults(kind: &str) -> Result<Self> {
        use serde::de::value::{Error as DeError, MapDeserializer};
        let map = MapDeserializer::<_, DeError>::new(std::iter::once(("kind", kind)));
        DataConfig::deserialize(map).map_err(|e| Error::param("data.kind", e.to_string()))
    }

    /// The `kind` string this configuration was read from.
    pub fn kind(&self) -> &'static str {
        let i = match self {
            DataConfig::TwoMoons(_) => 0,
            DataConfig::EightGaussians(_) => 1,
            DataConfig::GaussianMixture(_) => 2,
            DataConfig::SwissRoll(_) => 3,
            DataConfig::Circles(_) => 4,
            DataConfig::Checkerboard(_) => 5,
            DataConfig::Pinwheel(_) => 6,
            DataConfig::TwoSpirals(_) => 7,
            DataConfig::FashionMnist(_) => 8,
            DataConfig::Cifar10(_) => 9,
        };
        Self::KINDS[i]
    }

    /// Size of the training set: for images, the `n_samples` limit or else the official size of
    /// the split (60,000 / 10,000 for Fashion-MNIST, 50,000 / 10,000 for CIFAR-10).
    pub fn n_samples(&self) -> usize {
        match self {
            DataConfig::FashionMnist(FashionMnist {
                n_samples, split, ..
            })
            | DataConfig::Cifar10(Cifar10 {
                n_samples, split, ..
            }) => n_samples.unwrap_or_else(|| self.split_size(*split)),
            DataConfig::TwoMoons(p) => p.n_samples,
            DataConfig::EightGaussians(p) => p.n_samples,
            DataConfig::GaussianMixture(p) => p.n_samples,
            DataConfig::SwissRoll(p) => p.n_samples,
            DataConfig::Circles(p) => p.n_samples,
            DataConfig::Checkerboard(p) => p.n_samples,
            DataConfig::Pinwheel(p) => p.n_samples,
            DataConfig::TwoSpirals(p) => p.n_samples,
        }
    }

    /// Values per sample: 2 for the planar sets, `C * H * W` for images.
    pub fn dim(&self) -> usize {
        self.sample_shape().iter().product()
    }

    /// Shape of one sample: `[2]`, `[1, 28, 28]` (Fashion-MNIST) or `[3, 32, 32]` (CIFAR-10).
    pub fn sample_shape(&self) -> Vec<usize> {
        match self {
            DataConfig::FashionMnist(_) => vec![1, 28, 28],
            DataConfig::Cifar10(_) => vec![3, 32, 32],
            _ => vec![2],
        }
    }

    /// Whether this is an image dataset read from files.
    pub fn is_image(&self) -> bool {
        matches!(self, DataConfig::FashionMnist(_) | DataConfig::Cifar10(_))
    }

    /// Whether training batches are randomly flipped (`data.flip`; false for the planar sets).
    pub fn flip(&self) -> bool {
        match self {
            DataConfig::FashionMnist(FashionMnist { flip, .. })
            | DataConfig::Cifar10(Cifar10 { flip, .. }) => *flip,
            _ => false,
        }
    }

    /// The official number of images in `split` of this image dataset (0 for the planar sets).
    fn split_size(&self, split: Split) -> usize {
        match (self, split) {
            (DataConfig::FashionMnist(_), Split::Train) => 60_000,
            (DataConfig::Cifar10(_), Split::Train) => 50_000,
            (DataConfig::FashionMnist(_) | DataConfig::Cifar10(_), Split::Test) => 10_000,
            _ => 0,
        }
    }
}
