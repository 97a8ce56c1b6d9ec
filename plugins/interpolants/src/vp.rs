//! The variance-preserving path of score-SDE (Song et al. 2021), as TorchEBM's
//! `VariancePreservingInterpolant(sigma_min=0.1, sigma_max=20)`, with time reversed so t = 1 is
//! data: with s = 1 − t and β(s) = β_min + s(β_max − β_min),
//! α(t) = exp(−½ B(s)), B(s) = ∫₀ˢ β = β_min·s + ½(β_max − β_min)·s², σ = √(1 − α²).
//!
//! α(0) = exp(−½ B(1)) is small (≈ 0.0066 for the defaults) but not 0, so x₀ is not pure noise.
//! α' = ½ β(s)·α and σ' = −α·α'/σ; σ' diverges like 1/√s at t = 1 (σ = 0), so σ is floored in
//! that quotient to keep the target finite rather than ±∞/NaN.

use crate::check_t;
use candle_core::Tensor;
use ebm_core::{Error, Interpolant, PluginArgs, Result};
use serde::{Deserialize, Serialize};

/// Smallest σ used as a divisor in σ' (only reached within ~1e-24 of t = 1).
const SIGMA_FLOOR: f64 = 1e-12;

/// `[interpolant] kind = "variance_preserving"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VpParams {
    /// β at the data end (t = 1).
    pub beta_min: f64,
    /// β at the noise end (t = 0).
    pub beta_max: f64,
}

impl Default for VpParams {
    /// Song et al.'s (2021) VP SDE: β from 0.1 to 20.
    fn default() -> Self {
        VpParams {
            beta_min: 0.1,
            beta_max: 20.0,
        }
    }
}

impl VpParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        if !(self.beta_min >= 0.0 && self.beta_min.is_finite()) {
            return Err(Error::config(
                format!("{section}.beta_min"),
                format!("must be finite and >= 0, got {}", self.beta_min),
            ));
        }
        if !(self.beta_max > self.beta_min && self.beta_max.is_finite()) {
            return Err(Error::config(
                format!("{section}.beta_max"),
                format!(
                    "must be finite and > beta_min ({}), got {}",
                    self.beta_min, self.beta_max
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct VariancePreserving {
    params: VpParams,
}

impl VariancePreserving {
    pub fn new(params: VpParams) -> Result<Self> {
        params.validate("interpolant")?;
        Ok(VariancePreserving { params })
    }

    pub fn params(&self) -> &VpParams {
        &self.params
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Interpolant>> {
        let params: VpParams = args.parse()?;
        params.validate(args.section)?;
        Ok(Box::new(VariancePreserving { params }))
    }

    /// β(s) at s = 1 − t.
    fn beta(&self, t: &Tensor) -> Result<Tensor> {
        let (lo, hi) = (self.params.beta_min, self.params.beta_max);
        // β(1 − t) = β_max − t(β_max − β_min).
        Ok(t.affine(-(hi - lo), hi)?)
    }
}

ebm_core::register_interpolant!("variance_preserving", VariancePreserving::from_args);

impl Interpolant for VariancePreserving {
    fn name(&self) -> &'static str {
        "variance_preserving"
    }

    fn alpha(&self, t: &Tensor) -> Result<Tensor> {
        check_t(t)?;
        let (lo, hi) = (self.params.beta_min, self.params.beta_max);
        let s = t.affine(-1.0, 1.0)?;
        let big_b = ((&s * lo)? + (s.sqr()? * (0.5 * (hi - lo)))?)?;
        Ok((big_b * -0.5)?.exp()?)
    }

    fn sigma(&self, t: &Tensor) -> Result<Tensor> {
        let a = self.alpha(t)?;
        // Clamp at 0 so rounding (α a hair above 1) cannot produce NaN.
        Ok(a.sqr()?.affine(-1.0, 1.0)?.relu()?.sqrt()?)
    }

    fn d_alpha(&self, t: &Tensor) -> Result<Tensor> {
        Ok((self.alpha(t)? * self.beta(t)?)?.affine(0.5, 0.0)?)
    }

    fn d_sigma(&self, t: &Tensor) -> Result<Tensor> {
        let a = self.alpha(t)?;
        let sigma = self.sigma(t)?.maximum(SIGMA_FLOOR)?;
        Ok(((a * self.d_alpha(t)?)? / sigma)?.neg()?)
    }
}
