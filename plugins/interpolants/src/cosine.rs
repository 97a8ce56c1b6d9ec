//! The cosine path: α = sin(πt/2), σ = cos(πt/2). α² + σ² = 1, so unit-variance noise and data
//! give a unit-variance x_t at every t.

use crate::{check_t, no_params};
use candle_core::Tensor;
use ebm_core::{Interpolant, PluginArgs, Result};
use std::f64::consts::FRAC_PI_2;

#[derive(Clone, Copy, Debug, Default)]
pub struct Cosine;

impl Cosine {
    fn from_args(args: &PluginArgs) -> Result<Box<dyn Interpolant>> {
        no_params(args)?;
        Ok(Box::new(Cosine))
    }

    fn angle(t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        Ok((t * FRAC_PI_2)?)
    }
}

ebm_core::register_interpolant!("cosine", Cosine::from_args);

impl Interpolant for Cosine {
    fn name(&self) -> &'static str {
        "cosine"
    }

    fn alpha(&self, t: &Tensor) -> Result<Tensor> {
        Ok(Self::angle(t)?.sin()?)
    }

    fn sigma(&self, t: &Tensor) -> Result<Tensor> {
        Ok(Self::angle(t)?.cos()?)
    }

    fn d_alpha(&self, t: &Tensor) -> Result<Tensor> {
        Ok((Self::angle(t)?.cos()? * FRAC_PI_2)?)
    }

    fn d_sigma(&self, t: &Tensor) -> Result<Tensor> {
        Ok((Self::angle(t)?.sin()? * -FRAC_PI_2)?)
    }
}
