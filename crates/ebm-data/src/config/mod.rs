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
mod defaults;
mod images;
mod sample;
mod validate;

use crate::{Error, Result};
use defaults as d;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which part of an image dataset to train on.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    #[default]
    Train,
    Test,
}

/// Which dataset to draw from, with its parameters.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataConfig {
    /// scikit-learn `make_moons`.
    TwoMoons {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f0_05")]
        noise: f64,
    },
    /// Eight Gaussians on the circle of radius `scale` (TorchEBM).
    EightGaussians {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f0_02")]
        std: f64,
        #[serde(default = "d::f2")]
        scale: f64,
    },
    /// `n_components` Gaussians evenly on the circle of radius `radius` (TorchEBM).
    GaussianMixture {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::u8")]
        n_components: usize,
        #[serde(default = "d::f0_05")]
        std: f64,
        #[serde(default = "d::f1")]
        radius: f64,
    },
    /// A centred, normalised 2-D Swiss roll (TorchEBM).
    SwissRoll {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f0_05")]
        noise: f64,
        #[serde(default = "d::f3")]
        arclength: f64,
    },
    /// Concentric circles, inner radius `factor * radius` (scikit-learn `make_circles`).
    Circles {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f0_05")]
        noise: f64,
        #[serde(default = "d::f0_5")]
        factor: f64,
        #[serde(default = "d::f1")]
        radius: f64,
    },
    /// Unit squares with odd `floor(x) + floor(y)` inside `[-range_limit, range_limit)^2` (TorchEBM).
    Checkerboard {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f4")]
        range_limit: f64,
        #[serde(default = "d::f0")]
        noise: f64,
    },
    /// `n_classes` curved blades (TorchEBM).
    Pinwheel {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::u5")]
        n_classes: usize,
        #[serde(default = "d::f0_05")]
        noise: f64,
        #[serde(default = "d::f2")]
        radial_scale: f64,
        #[serde(default = "d::f0_1")]
        angular_scale: f64,
        #[serde(default = "d::f5")]
        spiral_scale: f64,
    },
    /// Two interleaved spirals (FFJORD "2spirals").
    TwoSpirals {
        #[serde(default = "d::n_samples")]
        n_samples: usize,
        #[serde(default = "d::f0_1")]
        noise: f64,
    },
    /// Fashion-MNIST (Zalando): 28×28 grey images `[1, 28, 28]`, 10 classes, IDX files in `dir`
    /// (by default where Debian's `dataset-fashion-mnist` puts them).
    FashionMnist {
        #[serde(default = "d::fashion_mnist_dir")]
        dir: PathBuf,
        #[serde(default)]
        split: Split,
        /// The first `n_samples` images of the split; all of them when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_samples: Option<usize>,
        #[serde(default)]
        flip: bool,
    },
    /// CIFAR-10 binary version: 32×32 colour images `[3, 32, 32]`, 10 classes, in `dir`.
    Cifar10 {
        #[serde(default = "d::cifar10_dir")]
        dir: PathBuf,
        #[serde(default)]
        split: Split,
        /// The first `n_samples` images of the split; all of them when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_samples: Option<usize>,
        #[serde(default)]
        flip: bool,
    },
}

impl Default for DataConfig {
    /// Two moons with the reference defaults.
    fn default() -> Self {
        DataConfig::TwoMoons {
            n_samples: d::n_samples(),
            noise: d::f0_05(),
        }
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
            DataConfig::TwoMoons { .. } => 0,
            DataConfig::EightGaussians { .. } => 1,
            DataConfig::GaussianMixture { .. } => 2,
            DataConfig::SwissRoll { .. } => 3,
            DataConfig::Circles { .. } => 4,
            DataConfig::Checkerboard { .. } => 5,
            DataConfig::Pinwheel { .. } => 6,
            DataConfig::TwoSpirals { .. } => 7,
            DataConfig::FashionMnist { .. } => 8,
            DataConfig::Cifar10 { .. } => 9,
        };
        Self::KINDS[i]
    }

    /// Size of the training set: for images, the `n_samples` limit or else the official size of
    /// the split (60,000 / 10,000 for Fashion-MNIST, 50,000 / 10,000 for CIFAR-10).
    pub fn n_samples(&self) -> usize {
        match *self {
            DataConfig::FashionMnist {
                n_samples, split, ..
            }
            | DataConfig::Cifar10 {
                n_samples, split, ..
            } => n_samples.unwrap_or_else(|| self.split_size(split)),
            DataConfig::TwoMoons { n_samples, .. }
            | DataConfig::EightGaussians { n_samples, .. }
            | DataConfig::GaussianMixture { n_samples, .. }
            | DataConfig::SwissRoll { n_samples, .. }
            | DataConfig::Circles { n_samples, .. }
            | DataConfig::Checkerboard { n_samples, .. }
            | DataConfig::Pinwheel { n_samples, .. }
            | DataConfig::TwoSpirals { n_samples, .. } => n_samples,
        }
    }

    /// Values per sample: 2 for the planar sets, `C * H * W` for images.
    pub fn dim(&self) -> usize {
        self.sample_shape().iter().product()
    }

    /// Shape of one sample: `[2]`, `[1, 28, 28]` (Fashion-MNIST) or `[3, 32, 32]` (CIFAR-10).
    pub fn sample_shape(&self) -> Vec<usize> {
        match self {
            DataConfig::FashionMnist { .. } => vec![1, 28, 28],
            DataConfig::Cifar10 { .. } => vec![3, 32, 32],
            _ => vec![2],
        }
    }

    /// Whether this is an image dataset read from files.
    pub fn is_image(&self) -> bool {
        matches!(
            self,
            DataConfig::FashionMnist { .. } | DataConfig::Cifar10 { .. }
        )
    }

    /// Whether training batches are randomly flipped (`data.flip`; false for the planar sets).
    pub fn flip(&self) -> bool {
        match *self {
            DataConfig::FashionMnist { flip, .. } | DataConfig::Cifar10 { flip, .. } => flip,
            _ => false,
        }
    }

    /// The official number of images in `split` of this image dataset (0 for the planar sets).
    fn split_size(&self, split: Split) -> usize {
        match (self, split) {
            (DataConfig::FashionMnist { .. }, Split::Train) => 60_000,
            (DataConfig::Cifar10 { .. }, Split::Train) => 50_000,
            (DataConfig::FashionMnist { .. } | DataConfig::Cifar10 { .. }, Split::Test) => 10_000,
            _ => 0,
        }
    }
}
