//! Equilibrium matching (EqM; Wang & Du 2025): learn one time-invariant gradient field whose
//! descent carries noise to data. With x_γ on the interpolant's path (γ = 0 noise, γ = 1 data)
//! and the path velocity v = dx_γ/dγ (x − ε for the linear path), the target gradient points
//! back along the path and fades to zero at the data:
//!
//!   J = E ‖g(x_γ) − (−v)·c(γ)‖²,   c(γ) = λ·min(1, (1 − γ)/(1 − a))   ("truncated")
//!
//! so the data are the equilibria (g = 0) and gradient descent x ← x − η·g(x) from noise lands on
//! them: sample with `gradient_descent` (or `nesterov`, or `langevin` with a little noise).
//! g is the model's gradient field: ∇ₓE of an energy network (the energy-parameterised EqM,
//! whose E is an energy a Metropolis sampler can use too) or the output of `output = "field"`.

use crate::path::{
    default_interpolant, mean_squared, model_field, Path, TimeSampler, DEFAULT_SOURCE_STD,
};
use crate::score_matching::scalar;
use candle_core::Tensor;
use ebm_core::{Error, Loss, LossOut, Model, PluginArgs, PluginSpec, Result, TrainCtx};
use serde::{Deserialize, Serialize};

/// The shape of c(γ), the target gradient's magnitude along the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientScale {
    /// λ up to γ = a, then linearly down to 0 at γ = 1 (the paper's choice).
    #[default]
    Truncated,
    /// λ·(1 − γ).
    Linear,
    /// λ everywhere (the data are then not exact equilibria).
    Constant,
}

/// `[loss] kind = "equilibrium_matching"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EqmParams {
    pub interpolant: PluginSpec,
    pub time: TimeSampler,
    /// s of the source N(0, s²I) at t = 0: sample from the same (`[eval] init`).
    pub source_std: f64,
    /// c(γ)'s shape.
    pub ct: GradientScale,
    /// a, where `truncated` starts to decay.
    pub ct_threshold: f64,
    /// λ, the gradient magnitude away from the data.
    pub ct_multiplier: f64,
}

impl Default for EqmParams {
    /// The linear path from N(0, I), uniform γ, and the truncated c(γ) with a = 0.8, λ = 4.
    fn default() -> Self {
        EqmParams {
            interpolant: default_interpolant(),
            time: TimeSampler::default(),
            source_std: DEFAULT_SOURCE_STD,
            ct: GradientScale::default(),
            ct_threshold: 0.8,
            ct_multiplier: 4.0,
        }
    }
}

impl EqmParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        if !(self.ct_threshold >= 0.0 && self.ct_threshold < 1.0) {
            return Err(Error::config(
                format!("{section}.ct_threshold"),
                format!("must be in [0, 1), got {}", self.ct_threshold),
            ));
        }
        if !(self.ct_multiplier > 0.0 && self.ct_multiplier.is_finite()) {
            return Err(Error::config(
                format!("{section}.ct_multiplier"),
                format!("must be finite and > 0, got {}", self.ct_multiplier),
            ));
        }
        Ok(())
    }

    /// c(γ) for every γ of `t` `[B]`.
    pub fn scale(&self, t: &Tensor) -> Result<Tensor> {
        let lambda = self.ct_multiplier;
        Ok(match self.ct {
            GradientScale::Constant => (t.ones_like()? * lambda)?,
            GradientScale::Linear => t.affine(-lambda, lambda)?,
            GradientScale::Truncated => {
                let a = self.ct_threshold;
                // λ·(1 − γ)/(1 − a), capped at λ.
                t.affine(-lambda / (1.0 - a), lambda / (1.0 - a))?
                    .minimum(lambda)?
            }
        })
    }
}

pub struct EquilibriumMatching {
    params: EqmParams,
    path: Path,
}

impl EquilibriumMatching {
    pub fn new(params: EqmParams) -> Result<Self> {
        Self::build("loss", params)
    }

    fn build(section: &str, params: EqmParams) -> Result<Self> {
        params.validate(section)?;
        let path = Path::build(
            section,
            &params.interpolant,
            &params.time,
            params.source_std,
        )?;
        Ok(EquilibriumMatching { params, path })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        Ok(Box::new(Self::build(args.section, args.parse_resolved()?)?))
    }
}

ebm_core::register_loss!("equilibrium_matching", EquilibriumMatching::from_args);

impl Loss for EquilibriumMatching {
    fn name(&self) -> &'static str {
        "equilibrium_matching"
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        let path = self.path.draw(batch, ctx.rng)?;
        let mut shape = vec![1usize; batch.rank()];
        shape[0] = batch.dims()[0];
        let c = self.params.scale(&path.t)?.reshape(shape)?;
        let target = path.velocity.broadcast_mul(&c)?.neg()?;
        let g = model_field(model, &path.x_t, &path.t, "equilibrium_matching")?;
        let loss = mean_squared(&g, &target)?;
        let value = scalar(&loss)?;
        Ok(LossOut {
            loss,
            metrics: vec![("gradient_mse", value)],
        })
    }
}
