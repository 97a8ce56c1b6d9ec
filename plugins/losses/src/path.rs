//! What flow and equilibrium matching share: the interpolant between noise and data, and how
//! the time t of each example is drawn.

use crate::score_matching::{gaussian, input_grad};
use candle_core::Tensor;
use ebm_core::{build_interpolant, rng, Error, Interpolant, Model, PluginSpec, Result, Rng};
use serde::{Deserialize, Serialize};

/// How each example's t ∈ [0, 1] is drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeSampler {
    /// t ~ U(0, 1).
    #[default]
    Uniform,
    /// t = sigmoid(n), n ~ N(mean, std²) (Esser et al. 2024): more weight mid-path.
    LogitNormal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "TimeSampler::standard_std")]
        std: f64,
    },
}

impl TimeSampler {
    /// The std of `logit_normal` when none is given, 1 (Esser et al.'s choice). serde cannot
    /// give an enum variant a container default, so the variant field names this function.
    fn standard_std() -> f64 {
        1.0
    }

    pub fn validate(&self, key: &str) -> Result<()> {
        if let TimeSampler::LogitNormal { mean, std } = self {
            if !(mean.is_finite() && *std > 0.0 && std.is_finite()) {
                return Err(Error::config(
                    key,
                    format!("logit_normal needs a finite mean and std > 0, got {mean}, {std}"),
                ));
            }
        }
        Ok(())
    }

    /// `n` times in `dtype` on `like`'s device, from `rng`.
    pub fn draw(&self, rng: &mut Rng, n: usize, like: &Tensor) -> Result<Tensor> {
        let t = match self {
            TimeSampler::Uniform => rng::rand_uniform(rng, &[n], 0.0, 1.0, like.device())?,
            TimeSampler::LogitNormal { mean, std } => {
                let z = rng::randn(rng, &[n], like.device())?;
                sigmoid(&z.affine(*std, *mean)?)?
            }
        };
        Ok(t.to_dtype(like.dtype())?)
    }
}

/// σ(z) = 1 / (1 + e^{−z}), from plain ops (candle-core has no sigmoid of its own).
fn sigmoid(z: &Tensor) -> Result<Tensor> {
    Ok((z.neg()?.exp()? + 1.0)?.recip()?)
}

/// The path flow and equilibrium matching use when the config names none: linear.
pub fn default_interpolant() -> PluginSpec {
    PluginSpec::new("linear")
}

/// One draw of the path: noise x₀, times t, x_t and the velocity target dx_t/dt.
pub struct PathSample {
    pub t: Tensor,
    pub x_t: Tensor,
    pub velocity: Tensor,
}

/// The noise-to-data path of a loss: its interpolant, how t is drawn, and the source's std.
pub struct Path {
    interpolant: Box<dyn Interpolant>,
    times: TimeSampler,
    source_std: f64,
}

impl Path {
    /// Validates the `[section]` keys `interpolant`, `time` and `source_std` and builds the path.
    pub fn build(
        section: &str,
        interpolant: &PluginSpec,
        times: &TimeSampler,
        source_std: f64,
    ) -> Result<Self> {
        times.validate(&format!("{section}.time"))?;
        validate_source_std(&format!("{section}.source_std"), source_std)?;
        Ok(Path {
            interpolant: build_interpolant(&format!("{section}.interpolant"), interpolant)?,
            times: times.clone(),
            source_std,
        })
    }

    /// Draws x₀ ~ N(0, s²I) and t for every data row of `x1` and interpolates.
    pub fn draw(&self, x1: &Tensor, rng: &mut Rng) -> Result<PathSample> {
        let x1 = x1.detach();
        let x0 = (gaussian(rng, &x1)? * self.source_std)?;
        let t = self.times.draw(rng, x1.dims()[0], &x1)?;
        let (x_t, velocity) = self.interpolant.interpolate(&x0, &x1, &t)?;
        Ok(PathSample { t, x_t, velocity })
    }
}

/// The model's gradient field g(x, t) ≈ ∇ₓE, differentiable in the weights: time-conditioned
/// networks see t, the rest ignore it.
pub fn model_field(model: &dyn Model, x: &Tensor, t: &Tensor, loss: &str) -> Result<Tensor> {
    if model.time_conditioned() {
        return model.grad_at(x, t);
    }
    input_grad(model, x, loss)
}

/// Mean over every element of (a − b)².
pub fn mean_squared(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok((a - b)?.sqr()?.mean_all()?)
}

/// s of the source N(0, s²I) when the config gives none: the standard normal.
pub const DEFAULT_SOURCE_STD: f64 = 1.0;

/// The source's std must be a positive number.
fn validate_source_std(key: &str, s: f64) -> Result<()> {
    if !(s > 0.0 && s.is_finite()) {
        return Err(Error::config(
            key,
            format!("must be finite and > 0, got {s}"),
        ));
    }
    Ok(())
}
