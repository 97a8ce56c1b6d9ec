//! Sliced score matching, variance-reduced form (Song, Garg, Shi & Ermon 2019, "SSM-VR"):
//! J = E_x E_v[½‖s‖² + vᵀ∇ₓ(vᵀs)] with s = −∇ₓE, i.e. ½‖∇ₓE‖² − vᵀ(∇²ₓE)v. The ½‖s‖² term is
//! in closed form (E[vvᵀ] = I for both projection kinds); the second needs one Hessian-vector
//! product per projection, so the cost does not grow with the input dimension. With Rademacher
//! projections this is Hutchinson's estimator of exact score matching.
//!
//! Needs double backward (see `score_matching.rs`).

use crate::score_matching::{
    gaussian, input_grad, input_var, per_example_sum, perturb, rademacher, require_double_backward,
    scalar, validate_data_noise, vhv,
};
use candle_core::Tensor;
use ebm_core::{Error, Loss, LossOut, Model, PluginArgs, Result, TrainCtx};
use serde::{Deserialize, Serialize};

/// Distribution of the projection vectors v.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    /// i.i.d. ±1 (the lowest-variance choice for the vᵀHv term).
    #[default]
    Rademacher,
    /// i.i.d. N(0, 1), as in the paper.
    Gaussian,
}

/// `[loss] kind = "sliced_score_matching"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlicedParams {
    /// Projections per example (the paper uses 1).
    pub n_projections: usize,
    pub projection: Projection,
    /// σ of the Gaussian blur applied to each batch (0: the data as they are), as in
    /// `score_matching`.
    pub data_noise: f64,
}

impl Default for SlicedParams {
    /// One Rademacher projection per example on the data as they are (the paper's count).
    fn default() -> Self {
        SlicedParams {
            n_projections: 1,
            projection: Projection::Rademacher,
            data_noise: 0.0,
        }
    }
}

impl SlicedParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        if self.n_projections == 0 {
            return Err(Error::config(
                format!("{section}.n_projections"),
                "need at least one projection",
            ));
        }
        validate_data_noise(section, self.data_noise)
    }
}

pub struct SlicedScoreMatching {
    params: SlicedParams,
}

impl SlicedScoreMatching {
    pub fn new(params: SlicedParams) -> Result<Self> {
        params.validate("loss")?;
        Ok(SlicedScoreMatching { params })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        let params: SlicedParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(SlicedScoreMatching { params }))
    }
}

ebm_core::register_loss!("sliced_score_matching", SlicedScoreMatching::from_args);

impl Loss for SlicedScoreMatching {
    fn name(&self) -> &'static str {
        "sliced_score_matching"
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        require_double_backward(self.name(), "the vᵀHv term")?;
        let batch = &perturb(batch, self.params.data_noise, ctx.rng)?;
        let x = input_var(batch)?;
        let g = input_grad(model, x.as_tensor(), self.name())?;
        let sq = per_example_sum(&g.sqr()?)?.mean_all()?;
        let mut sum = sq.zeros_like()?;
        for _ in 0..self.params.n_projections {
            let v = match self.params.projection {
                Projection::Rademacher => rademacher(ctx.rng, batch)?,
                Projection::Gaussian => gaussian(ctx.rng, batch)?,
            };
            sum = (sum + vhv(&g, &x, &v)?.mean_all()?)?;
        }
        let curvature = (sum / self.params.n_projections as f64)?;
        let loss = ((&sq * 0.5)? - &curvature)?;
        Ok(LossOut {
            loss,
            metrics: vec![
                ("score_sq", scalar(&sq)?),
                ("projected_curvature", scalar(&curvature)?),
            ],
        })
    }
}
