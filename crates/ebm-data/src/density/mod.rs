//! The true log-density of each 2-D dataset, for measuring a model against the data itself
//! (KL(data ‖ model) ≈ mean over test points of log p(x) − log q(x)) rather than only through
//! sample distances.
//!
//! Each set is read as the distribution its generator draws from when every random choice is
//! independent (the [`DataConfig::sample_iid`] reading: a uniform arc position or angle, a
//! uniformly chosen mode, circle, blade or reflection). Then:
//! - the Gaussian mixtures (eight Gaussians, the ring): closed form;
//! - two moons, the circles, the Swiss roll: a curve with uniform latent t blurred by N(0, σ²I),
//!   one integral over t (Simpson's rule, σ/8 of arc per step: [`curve`]);
//! - the checkerboard: uniform on the black squares, each square through the noise a product of
//!   two normal-CDF differences (closed form; exact for noise 0 too);
//! - the pinwheel: closed form before the noise, a polar double integral after ([`pinwheel`]);
//! - two spirals: one integral over the spiral parameter with the uniform jitter square in
//!   closed form ([`two_spirals`]).
//!
//! A set whose points lie on a curve without noise (two moons with `noise = 0`, …) has no
//! density in the plane; asking for it is an error naming the key.

mod checkerboard;
mod curve;
mod mixture;
mod pinwheel;
mod quadrature;
mod two_spirals;

use crate::config::{
    Checkerboard, Circles, DataConfig, EightGaussians, GaussianMixture, Pinwheel, SwissRoll,
    TwoMoons, TwoSpirals,
};
use crate::toy::{eight_gaussians, gaussian_mixture, pinwheel::Blades, swiss_roll};
use crate::{Error, Result};
use rayon::prelude::*;

fn needs_positive(key: &str, kind: &str, v: f64) -> Result<()> {
    if v > 0.0 {
        return Ok(());
    }
    Err(Error::param(
        key,
        format!(
            "{kind} with {key} = {v} lies on curves or points and has no density in the plane; \
             its log-density needs {key} > 0"
        ),
    ))
}

impl DataConfig {
    /// Whether [`DataConfig::log_density`] can answer: the 2-D sets with the noise their
    /// density needs.
    pub fn has_log_density(&self) -> bool {
        self.density_fn().is_ok()
    }

    /// The true log-density log p(x) of the data distribution at each point (natural log; −∞
    /// where p underflows or is zero, e.g. off the checkerboard's squares with noise 0).
    /// Errors for image sets and for parameters without a density in the plane.
    pub fn log_density(&self, points: &[[f64; 2]]) -> Result<Vec<f64>> {
        let f = self.density_fn()?;
        Ok(points.par_iter().map(|&x| f(x)).collect())
    }

    /// One closure computing log p(x), its parameters checked and its constants computed once.
    fn density_fn(&self) -> Result<Box<dyn Fn([f64; 2]) -> f64 + Send + Sync>> {
        self.validate()?;
        Ok(match *self {
            DataConfig::TwoMoons(TwoMoons { noise, .. }) => {
                needs_positive("data.noise", "two_moons", noise)?;
                Box::new(move |x| curve::two_moons(x, noise).ln())
            }
            DataConfig::EightGaussians(EightGaussians { std, scale, .. }) => {
                needs_positive("data.std", "eight_gaussians", std)?;
                let centres = eight_gaussians::centres(scale);
                Box::new(move |x| mixture::log_density(x, &centres, std))
            }
            DataConfig::GaussianMixture(GaussianMixture {
                n_components,
                std,
                radius,
                ..
            }) => {
                needs_positive("data.std", "gaussian_mixture", std)?;
                let centres = gaussian_mixture::centres(n_components, radius);
                Box::new(move |x| mixture::log_density(x, &centres, std))
            }
            DataConfig::SwissRoll(SwissRoll {
                noise, arclength, ..
            }) => {
                needs_positive("data.noise", "swiss_roll", noise)?;
                let norm = swiss_roll::normalisation(arclength, noise)
                    .ok_or_else(|| Error::param("data.arclength", "degenerate roll"))?;
                let range = swiss_roll::t_range(arclength);
                // Points are (raw − mean)/scale: p(y) = scale² · p_raw(mean + scale · y).
                Box::new(move |y| {
                    let raw = [
                        norm.mean[0] + norm.scale * y[0],
                        norm.mean[1] + norm.scale * y[1],
                    ];
                    (norm.scale * norm.scale * curve::swiss_roll_raw(raw, noise, range)).ln()
                })
            }
            DataConfig::Circles(Circles {
                noise,
                factor,
                radius,
                ..
            }) => {
                needs_positive("data.noise", "circles", noise)?;
                Box::new(move |x| curve::circles(x, noise, factor, radius).ln())
            }
            DataConfig::Checkerboard(Checkerboard {
                range_limit, noise, ..
            }) => {
                let area = checkerboard::black_area(range_limit);
                Box::new(move |x| checkerboard::density(x, range_limit, noise, area).ln())
            }
            DataConfig::Pinwheel(Pinwheel {
                n_classes,
                noise,
                radial_scale,
                angular_scale,
                spiral_scale,
                ..
            }) => {
                needs_positive("data.angular_scale", "pinwheel", angular_scale)?;
                let shape = pinwheel::Shape {
                    n_classes,
                    noise,
                    blades: Blades {
                        radial_scale,
                        angular_scale,
                        spiral_scale,
                    },
                };
                Box::new(move |x| pinwheel::density(x, &shape).ln())
            }
            DataConfig::TwoSpirals(TwoSpirals { noise, .. }) => {
                needs_positive("data.noise", "two_spirals", noise)?;
                Box::new(move |x| two_spirals::density(x, noise).ln())
            }
            DataConfig::FashionMnist(_) | DataConfig::Cifar10(_) => return Err(Error::param(
                "data.kind",
                "image sets have no known density; the true log-density exists for the 2-D sets",
            )),
        })
    }
}
