//! The linear (rectified-flow) path: α = t, σ = 1 − t, so the velocity target x₁ − x₀ is constant
//! along each straight line.

use crate::{check_t, no_params};
use candle_core::Tensor;
use ebm_core::{Interpolant, PluginArgs, Result};

#[derive(Clone, Copy, Debug, Default)]
pub struct Linear;

impl Linear {
    fn from_args(args: &PluginArgs) -> Result<Box<dyn Interpolant>> {
        no_params(args)?;
        Ok(Box::new(Linear))
    }
}

ebm_core::register_interpolant!("linear", Linear::from_args);

impl Interpolant for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn alpha(&self, t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        Ok(t.clone())
    }

    fn sigma(&self, t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        Ok(t.affine(-1.0, 1.0)?)
    }

    fn d_alpha(&self, t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        Ok(t.ones_like()?)
    }

    fn d_sigma(&self, t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        Ok(t.ones_like()?.neg()?)
    }
}
