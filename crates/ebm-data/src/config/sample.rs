//! Dispatch from a configuration to its generator or files, after validation.
//!
//! Two entry points: [`DataConfig::train_set`] is the training set, and [`DataConfig::sample`]
//! draws "fresh data" of any size for evaluation. For the planar sets both draw from the
//! generator (so `train_set` is `sample(n_samples)`). For images they differ on purpose:
//! `train_set` is the first `n_samples` images of the configured split in file order (no
//! randomness), while `sample(n)` is `n` distinct images drawn at random from the **test** split,
//! so evaluation compares with held-out images whatever split trains.

use super::{
    Checkerboard, Cifar10, Circles, DataConfig, EightGaussians, FashionMnist, GaussianMixture,
    Pinwheel, Split, SwissRoll, TwoMoons, TwoSpirals,
};
use crate::toy::{self, pinwheel::Blades};
use crate::{Error, Points, Result};
use rand::Rng;

impl DataConfig {
    /// The training set: `sample(n_samples)` for the planar sets; for images, the first
    /// `n_samples` of the configured split (all of it by default), read from `dir`, with labels.
    pub fn train_set<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Points> {
        match *self {
            DataConfig::FashionMnist(FashionMnist {
                split, n_samples, ..
            })
            | DataConfig::Cifar10(Cifar10 {
                split, n_samples, ..
            }) => {
                self.validate()?;
                let all = self.load_split(split)?;
                match n_samples {
                    None => Ok(all),
                    Some(n) if n <= all.len() => all.select(&(0..n).collect::<Vec<_>>()),
                    Some(n) => Err(Error::param(
                        "data.n_samples",
                        format!("{n} is more than the {} images of the split", all.len()),
                    )),
                }
            }
            _ => self.sample(self.n_samples(), rng),
        }
    }

    /// Draws `n` points (not `n_samples`: callers also draw evaluation sets of other sizes).
    /// Validates the parameters first, and rejects `n == 0`. For images: `n` distinct images
    /// of the test split, chosen with `rng` (see the module docs).
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Points> {
        self.draw(n, rng, Layout::Reference)
    }

    /// Draws `n` points independently from the data distribution, for evaluation references:
    /// where [`DataConfig::sample`] follows its reference implementation's fixed layout (evenly
    /// spaced arc points, equal counts per mode or circle, exactly half the spirals reflected),
    /// each point here picks its mode, arc position or reflection at random, so two reference
    /// sets differ as two data sets do and a floor is a real floor. Images: as `sample`.
    pub fn sample_iid<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Points> {
        self.draw(n, rng, Layout::Iid)
    }

    fn draw<R: Rng + ?Sized>(&self, n: usize, rng: &mut R, layout: Layout) -> Result<Points> {
        let iid = layout == Layout::Iid;
        self.validate()?;
        if n == 0 {
            return Err(Error::param("n", "must draw at least one point"));
        }
        Ok(match *self {
            DataConfig::TwoMoons(TwoMoons { noise, .. }) => match iid {
                true => toy::two_moons::sample_iid(n, noise, rng),
                false => toy::two_moons::sample(n, noise, rng),
            },
            DataConfig::EightGaussians(EightGaussians { std, scale, .. }) => match iid {
                true => toy::eight_gaussians::sample_iid(n, std, scale, rng),
                false => toy::eight_gaussians::sample(n, std, scale, rng),
            },
            DataConfig::GaussianMixture(GaussianMixture {
                n_components,
                std,
                radius,
                ..
            }) => match iid {
                true => toy::gaussian_mixture::sample_iid(n, n_components, std, radius, rng),
                false => toy::gaussian_mixture::sample(n, n_components, std, radius, rng),
            },
            DataConfig::SwissRoll(SwissRoll {
                noise, arclength, ..
            }) => {
                let norm = toy::swiss_roll::normalisation(arclength, noise)
                    .ok_or_else(|| Error::param("data.arclength", "degenerate roll"))?;
                toy::swiss_roll::sample(n, noise, arclength, norm, rng)
            }
            DataConfig::Circles(Circles {
                noise,
                factor,
                radius,
                ..
            }) => match iid {
                true => toy::circles::sample_iid(n, noise, factor, radius, rng),
                false => toy::circles::sample(n, noise, factor, radius, rng),
            },
            DataConfig::Checkerboard(Checkerboard {
                range_limit, noise, ..
            }) => toy::checkerboard::sample(n, range_limit, noise, rng),
            DataConfig::Pinwheel(Pinwheel {
                n_classes,
                noise,
                radial_scale,
                angular_scale,
                spiral_scale,
                ..
            }) => {
                let blades = Blades {
                    radial_scale,
                    angular_scale,
                    spiral_scale,
                };
                match iid {
                    true => toy::pinwheel::sample_iid(n, n_classes, noise, blades, rng),
                    false => toy::pinwheel::sample(n, n_classes, noise, blades, rng),
                }
            }
            DataConfig::TwoSpirals(TwoSpirals { noise, .. }) => match iid {
                true => toy::two_spirals::sample_iid(n, noise, rng),
                false => toy::two_spirals::sample(n, noise, rng),
            },
            DataConfig::FashionMnist(_) | DataConfig::Cifar10(_) => {
                return self.fresh_images(n, rng)
            }
        })
    }

    /// `n` distinct test images in random order: a partial Fisher-Yates, whose first `n`
    /// entries are a uniform `n`-subset.
    fn fresh_images<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Points> {
        let test = self.load_split(Split::Test)?;
        if n > test.len() {
            return Err(Error::param(
                "n",
                format!("{n} fresh images asked, the test split has {}", test.len()),
            ));
        }
        let mut rows: Vec<usize> = (0..test.len()).collect();
        for i in 0..n {
            let j = rng.random_range(i..rows.len());
            rows.swap(i, j);
        }
        test.select(&rows[..n])
    }
}

/// Whether generated points follow the reference implementation's layout or are i.i.d.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Reference,
    Iid,
}
