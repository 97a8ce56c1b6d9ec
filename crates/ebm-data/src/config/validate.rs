//! Parameter checks. They run before every draw so that a bad configuration fails with the key
//! to fix (`data.noise`) instead of producing NaNs, an empty set or a rejection loop that
//! never ends (checkerboard with `range_limit <= 0`).

use super::{
    Checkerboard, Cifar10, Circles, DataConfig, EightGaussians, FashionMnist, GaussianMixture,
    Pinwheel, SwissRoll, TwoMoons, TwoSpirals,
};
use crate::toy::swiss_roll;
use crate::{Error, Result};

fn non_negative(key: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            key,
            format!("must be finite and >= 0, got {v}"),
        ))
    }
}

fn positive(key: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            key,
            format!("must be finite and > 0, got {v}"),
        ))
    }
}

fn finite(key: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::param(key, format!("must be finite, got {v}")))
    }
}

fn at_least_one(key: &str, v: usize) -> Result<()> {
    if v >= 1 {
        Ok(())
    } else {
        Err(Error::param(key, "must be >= 1"))
    }
}

impl DataConfig {
    /// Checks every parameter; the error names the key, e.g. `data.noise`.
    pub fn validate(&self) -> Result<()> {
        at_least_one("data.n_samples", self.n_samples())?;
        match self {
            DataConfig::FashionMnist(FashionMnist { dir, .. })
            | DataConfig::Cifar10(Cifar10 { dir, .. }) => {
                if dir.as_os_str().is_empty() {
                    return Err(Error::param(
                        "data.dir",
                        "must name the directory of the data files",
                    ));
                }
                Ok(())
            }
            _ => self.validate_synthetic(),
        }
    }

    fn validate_synthetic(&self) -> Result<()> {
        match *self {
            DataConfig::TwoMoons(TwoMoons { noise, .. })
            | DataConfig::TwoSpirals(TwoSpirals { noise, .. }) => non_negative("data.noise", noise),
            DataConfig::EightGaussians(EightGaussians { std, scale, .. }) => {
                non_negative("data.std", std)?;
                positive("data.scale", scale)
            }
            DataConfig::GaussianMixture(GaussianMixture {
                n_components,
                std,
                radius,
                ..
            }) => {
                at_least_one("data.n_components", n_components)?;
                non_negative("data.std", std)?;
                positive("data.radius", radius)
            }
            DataConfig::SwissRoll(SwissRoll {
                noise, arclength, ..
            }) => {
                non_negative("data.noise", noise)?;
                positive("data.arclength", arclength)?;
                swiss_roll::normalisation(arclength, noise)
                    .map(|_| ())
                    .ok_or_else(|| {
                        Error::param("data.arclength", "the roll's spread is zero or overflows")
                    })
            }
            DataConfig::Circles(Circles {
                noise,
                factor,
                radius,
                ..
            }) => {
                non_negative("data.noise", noise)?;
                // sklearn's rule: the inner circle is strictly inside the outer one.
                if !(0.0..1.0).contains(&factor) {
                    return Err(Error::param(
                        "data.factor",
                        format!("must be in [0, 1), got {factor}"),
                    ));
                }
                positive("data.radius", radius)
            }
            DataConfig::Checkerboard(Checkerboard {
                range_limit, noise, ..
            }) => {
                positive("data.range_limit", range_limit)?;
                non_negative("data.noise", noise)
            }
            DataConfig::Pinwheel(Pinwheel {
                n_classes,
                noise,
                radial_scale,
                angular_scale,
                spiral_scale,
                ..
            }) => {
                at_least_one("data.n_classes", n_classes)?;
                non_negative("data.noise", noise)?;
                positive("data.radial_scale", radial_scale)?;
                non_negative("data.angular_scale", angular_scale)?;
                finite("data.spiral_scale", spiral_scale)
            }
            DataConfig::FashionMnist(_) | DataConfig::Cifar10(_) => Ok(()),
        }
    }
}
