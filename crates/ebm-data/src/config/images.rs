//! Reading the image datasets a [`DataConfig`] names from its `dir`. A missing directory or file
//! is an error that says which files belong there and where they officially come from; we never
//! download anything.

use super::{Cifar10, DataConfig, FashionMnist, Split};
use crate::error::FileErrorKind;
use crate::images::{cifar, idx};
use crate::{Error, Points, Result};
use std::path::{Path, PathBuf};

/// Fashion-MNIST's file stems (images, labels) per split; each is read as `<stem>.gz` if present,
/// else `<stem>` (unpacked). Debian's `dataset-fashion-mnist` installs the four `.gz` files.
pub(super) fn fashion_mnist_files(split: Split) -> [&'static str; 2] {
    match split {
        Split::Train => ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
        Split::Test => ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
    }
}

const FASHION_HELP: &str = "set `[data] dir = \"...\"` to a directory holding \
    train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and \
    t10k-labels-idx1-ubyte.gz (gzipped or unpacked). On Debian, `apt-get install \
    dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist; otherwise they are \
    the four files linked from the README of Zalando Research's fashion-mnist repository on \
    GitHub. ebm never downloads data";

const CIFAR_HELP: &str = "set `[data] dir = \"...\"` to a directory holding data_batch_1.bin \
    ... data_batch_5.bin and test_batch.bin: the \"CIFAR-10 binary version\" \
    (cifar-10-binary.tar.gz, not the Python or MATLAB version) from Alex Krizhevsky's CIFAR \
    page at the University of Toronto, unpacked (it unpacks to cifar-10-batches-bin/). ebm \
    never downloads data";

fn missing(what: &str, path: &Path, help: &str) -> Error {
    Error::MissingData {
        what: what.to_string(),
        path: path.to_path_buf(),
        help: help.to_string(),
    }
}

fn require_dir(dir: &Path, what: &str, help: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(missing(&format!("{what} directory"), dir, help))
    }
}

/// `dir/<stem>.gz` if it exists, else `dir/<stem>` if it exists.
fn find_idx(dir: &Path, stem: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{stem}.gz"));
    let raw = dir.join(stem);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(missing("Fashion-MNIST file", &gz, FASHION_HELP))
    }
}

impl DataConfig {
    /// Every image of `split`, scaled to `[-1, 1]`, with labels. An error for the planar sets.
    pub fn load_split(&self, split: Split) -> Result<Points> {
        match self {
            DataConfig::FashionMnist(FashionMnist { dir, .. }) => load_fashion_mnist(dir, split),
            DataConfig::Cifar10(Cifar10 { dir, .. }) => load_cifar10(dir, split),
            _ => Err(Error::param(
                "data.kind",
                format!("{} is generated, not read from files", self.kind()),
            )),
        }
    }
}

impl DataConfig {
    /// For the image sets: every file of both splits is where `dir` says, checked before
    /// training starts (the test split is only read by the evaluation at the end, and a run
    /// that trained for half an hour must not fail there on a missing file). Nothing to check
    /// for the generated sets.
    pub fn check_files(&self) -> Result<()> {
        match self {
            DataConfig::FashionMnist(FashionMnist { dir, .. }) => {
                require_dir(dir, "Fashion-MNIST", FASHION_HELP)?;
                for split in [Split::Train, Split::Test] {
                    for stem in fashion_mnist_files(split) {
                        find_idx(dir, stem)?;
                    }
                }
                Ok(())
            }
            DataConfig::Cifar10(Cifar10 { dir, .. }) => {
                require_dir(dir, "CIFAR-10", CIFAR_HELP)?;
                let names = cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]);
                match names.map(|n| dir.join(n)).find(|p| !p.is_file()) {
                    Some(absent) => Err(missing("CIFAR-10 file", &absent, CIFAR_HELP)),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

fn load_fashion_mnist(dir: &Path, split: Split) -> Result<Points> {
    require_dir(dir, "Fashion-MNIST", FASHION_HELP)?;
    let [images, labels] = fashion_mnist_files(split);
    let (images, labels) = (find_idx(dir, images)?, find_idx(dir, labels)?);
    let (imgs, labs) = idx::read_idx_pair(&images, &labels, 10)?;
    if (imgs.rows, imgs.cols) != (28, 28) {
        let detail = format!(
            "images are {}×{}, Fashion-MNIST's are 28×28",
            imgs.rows, imgs.cols
        );
        return Err(Error::file(&images, 8, FileErrorKind::BadDims, detail));
    }
    Points::from_pixels(&imgs.pixels, vec![1, 28, 28], Some(labs))
}

fn load_cifar10(dir: &Path, split: Split) -> Result<Points> {
    require_dir(dir, "CIFAR-10", CIFAR_HELP)?;
    let names: &[&str] = match split {
        Split::Train => &cifar::TRAIN_FILES,
        Split::Test => &[cifar::TEST_FILE],
    };
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    if let Some(absent) = paths.iter().find(|p| !p.is_file()) {
        return Err(missing("CIFAR-10 file", absent, CIFAR_HELP));
    }
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for path in &paths {
        let (p, l) = cifar::read_cifar_batch(path)?;
        pixels.extend_from_slice(&p);
        labels.extend_from_slice(&l);
    }
    Points::from_pixels(&pixels, vec![3, 32, 32], Some(labels))
}
