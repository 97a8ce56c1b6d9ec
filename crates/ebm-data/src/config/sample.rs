//! Dispatch from a configuration to its generator, after validation.

use super::DataConfig;
use crate::toy::{self, pinwheel::Blades};
use crate::{Error, Points, Result};
use rand::Rng;

impl DataConfig {
    /// Draws `n` points (not `n_samples`: callers also draw evaluation sets of other sizes).
    /// Validates the parameters first, and rejects `n == 0`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Points> {
        self.validate()?;
        if n == 0 {
            return Err(Error::param("n", "must draw at least one point"));
        }
        Ok(match *self {
            DataConfig::TwoMoons { noise, .. } => toy::two_moons::sample(n, noise, rng),
            DataConfig::EightGaussians { std, scale, .. } => {
                toy::eight_gaussians::sample(n, std, scale, rng)
            }
            DataConfig::GaussianMixture {
                n_components,
                std,
                radius,
                ..
            } => toy::gaussian_mixture::sample(n, n_components, std, radius, rng),
            DataConfig::SwissRoll {
                noise, arclength, ..
            } => {
                let norm = toy::swiss_roll::normalisation(arclength, noise)
                    .ok_or_else(|| Error::param("data.arclength", "degenerate roll"))?;
                toy::swiss_roll::sample(n, noise, arclength, norm, rng)
            }
            DataConfig::Circles {
                noise,
                factor,
                radius,
                ..
            } => toy::circles::sample(n, noise, factor, radius, rng),
            DataConfig::Checkerboard {
                range_limit, noise, ..
            } => toy::checkerboard::sample(n, range_limit, noise, rng),
            DataConfig::Pinwheel {
                n_classes,
                noise,
                radial_scale,
                angular_scale,
                spiral_scale,
                ..
            } => {
                let blades = Blades {
                    radial_scale,
                    angular_scale,
                    spiral_scale,
                };
                toy::pinwheel::sample(n, n_classes, noise, blades, rng)
            }
            DataConfig::TwoSpirals { noise, .. } => toy::two_spirals::sample(n, noise, rng),
        })
    }
}
