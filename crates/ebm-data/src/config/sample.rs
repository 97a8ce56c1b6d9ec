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
        self.validate()?;
        if n == 0 {
            return Err(Error::param("n", "must draw at least one point"));
        }
        Ok(match *self {
            DataConfig::TwoMoons(TwoMoons { noise, .. }) => toy::two_moons::sample(n, noise, rng),
            DataConfig::EightGaussians(EightGaussians { std, scale, .. }) => {
                toy::eight_gaussians::sample(n, std, scale, rng)
            }
            DataConfig::GaussianMixture(GaussianMixture {
                n_components,
                std,
                radius,
                ..
            }) => toy::gaussian_mixture::sample(n, n_components, std, radius, rng),
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
            }) => toy::circles::sample(n, noise, factor, radius, rng),
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
                toy::pinwheel::sample(n, n_classes, noise, blades, rng)
            }
            DataConfig::TwoSpirals(TwoSpirals { noise, .. }) => {
                toy::two_spirals::sample(n, noise, rng)
            }
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
