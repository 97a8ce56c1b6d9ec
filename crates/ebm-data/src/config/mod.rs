//! The `[data]` section of a run's TOML. `kind` picks the generator; the other keys are its
//! parameters, each with the default of the reference implementation it follows, so
//! `kind = "two_moons"` alone is a complete configuration. Unknown keys are rejected so that a
//! typo (`nosie = 0.1`) fails loudly instead of silently training on the default.

mod bounds;
mod defaults;
mod sample;
mod validate;

use crate::{Error, Result};
use defaults as d;
use serde::{Deserialize, Serialize};

/// Which synthetic dataset to draw from, with its parameters.
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
    /// Every accepted `kind`, in declaration order.
    pub const KINDS: [&'static str; 8] = [
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
        };
        Self::KINDS[i]
    }

    /// Size of the training set.
    pub fn n_samples(&self) -> usize {
        match *self {
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

    /// Dimension of every point: all of these datasets are planar.
    pub fn dim(&self) -> usize {
        2
    }
}
