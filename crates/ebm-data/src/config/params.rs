//! The parameters of each dataset kind, one struct each, with the defaults of the reference
//! implementation it follows written once, in its `impl Default`. `#[serde(default)]` fills
//! every missing key from there, so `kind = "two_moons"` alone is a complete configuration, and
//! in Rust `TwoMoons { noise: 0.1, ..Default::default() }` changes one value.

use super::Split;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Points per synthetic set unless `n_samples` says otherwise.
const N_SAMPLES: usize = 2000;

/// scikit-learn `make_moons`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TwoMoons {
    pub n_samples: usize,
    pub noise: f64,
}

impl Default for TwoMoons {
    fn default() -> Self {
        TwoMoons {
            n_samples: N_SAMPLES,
            noise: 0.05,
        }
    }
}

/// Eight Gaussians on the circle of radius `scale` (TorchEBM).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EightGaussians {
    pub n_samples: usize,
    pub std: f64,
    pub scale: f64,
}

impl Default for EightGaussians {
    fn default() -> Self {
        EightGaussians {
            n_samples: N_SAMPLES,
            std: 0.02,
            scale: 2.0,
        }
    }
}

/// `n_components` Gaussians evenly on the circle of radius `radius` (TorchEBM).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianMixture {
    pub n_samples: usize,
    pub n_components: usize,
    pub std: f64,
    pub radius: f64,
}

impl Default for GaussianMixture {
    fn default() -> Self {
        GaussianMixture {
            n_samples: N_SAMPLES,
            n_components: 8,
            std: 0.05,
            radius: 1.0,
        }
    }
}

/// A centred, normalised 2-D Swiss roll (TorchEBM).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SwissRoll {
    pub n_samples: usize,
    pub noise: f64,
    pub arclength: f64,
}

impl Default for SwissRoll {
    fn default() -> Self {
        SwissRoll {
            n_samples: N_SAMPLES,
            noise: 0.05,
            arclength: 3.0,
        }
    }
}

/// Concentric circles, inner radius `factor * radius` (scikit-learn `make_circles`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Circles {
    pub n_samples: usize,
    pub noise: f64,
    pub factor: f64,
    pub radius: f64,
}

impl Default for Circles {
    fn default() -> Self {
        Circles {
            n_samples: N_SAMPLES,
            noise: 0.05,
            factor: 0.5,
            radius: 1.0,
        }
    }
}

/// Unit squares with odd `floor(x) + floor(y)` inside `[-range_limit, range_limit)^2` (TorchEBM).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Checkerboard {
    pub n_samples: usize,
    pub range_limit: f64,
    pub noise: f64,
}

impl Default for Checkerboard {
    fn default() -> Self {
        Checkerboard {
            n_samples: N_SAMPLES,
            range_limit: 4.0,
            noise: 0.0,
        }
    }
}

/// `n_classes` curved blades (TorchEBM).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Pinwheel {
    pub n_samples: usize,
    pub n_classes: usize,
    pub noise: f64,
    pub radial_scale: f64,
    pub angular_scale: f64,
    pub spiral_scale: f64,
}

impl Default for Pinwheel {
    fn default() -> Self {
        Pinwheel {
            n_samples: N_SAMPLES,
            n_classes: 5,
            noise: 0.05,
            radial_scale: 2.0,
            angular_scale: 0.1,
            spiral_scale: 5.0,
        }
    }
}

/// Two interleaved spirals (FFJORD "2spirals").
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TwoSpirals {
    pub n_samples: usize,
    pub noise: f64,
}

impl Default for TwoSpirals {
    fn default() -> Self {
        TwoSpirals {
            n_samples: N_SAMPLES,
            noise: 0.1,
        }
    }
}

/// Fashion-MNIST (Zalando): 28×28 grey images `[1, 28, 28]`, 10 classes, IDX files in `dir`
/// (by default where Debian's `dataset-fashion-mnist` puts them).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FashionMnist {
    pub dir: PathBuf,
    pub split: Split,
    /// The first `n_samples` images of the split; all of them when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_samples: Option<usize>,
    /// Random horizontal flips of training batches.
    pub flip: bool,
}

impl Default for FashionMnist {
    fn default() -> Self {
        FashionMnist {
            dir: "/usr/share/datasets/fashion-mnist".into(),
            split: Split::Train,
            n_samples: None,
            flip: false,
        }
    }
}

/// CIFAR-10 binary version: 32×32 colour images `[3, 32, 32]`, 10 classes, in `dir`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Cifar10 {
    pub dir: PathBuf,
    pub split: Split,
    /// The first `n_samples` images of the split; all of them when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_samples: Option<usize>,
    /// Random horizontal flips of training batches.
    pub flip: bool,
}

impl Default for Cifar10 {
    fn default() -> Self {
        Cifar10 {
            dir: "data/cifar-10-batches-bin".into(),
            split: Split::Train,
            n_samples: None,
            flip: false,
        }
    }
}
