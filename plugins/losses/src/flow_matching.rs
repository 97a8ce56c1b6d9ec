//! Flow matching (Lipman et al. 2023; Liu et al. 2023; Albergo & Vanden-Eijnden 2023): draw noise
//! x₀ ~ N(0, I), data x₁ and a time t, put x_t on the interpolant's path and regress the model's
//! velocity on the path's dx_t/dt:
//!
//!   J = E ‖v(x_t, t) − (α'(t)·x₁ + σ'(t)·x₀)‖²   (mean over elements)
//!
//! The velocity is read off the model's gradient field as v = −g(x, t): a time-conditioned
//! energy network gives v = −∇ₓE(x, t) (energy-parameterised: with a Gaussian source the
//! marginal velocity is a gradient field, so nothing is lost), a `output = "field"` network
//! outputs −v. Generate with the `flow` sampler, which integrates dx/dt = v from t = 0 to 1.

use crate::path::{
    default_interpolant, mean_squared, model_field, Path, TimeSampler, DEFAULT_SOURCE_STD,
};
use crate::score_matching::scalar;
use candle_core::Tensor;
use ebm_core::{Error, Loss, LossOut, Model, PluginArgs, PluginSpec, Result, TrainCtx};
use serde::{Deserialize, Serialize};

/// `[loss] kind = "flow_matching"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowMatchingParams {
    /// The path from noise (t = 0) to data (t = 1).
    pub interpolant: PluginSpec,
    /// How t is drawn per example.
    pub time: TimeSampler,
    /// s of the source N(0, s²I) at t = 0: sample from the same (`[eval] init`).
    pub source_std: f64,
}

impl Default for FlowMatchingParams {
    /// The rectified-flow setting: the linear path from N(0, I), uniform t.
    fn default() -> Self {
        FlowMatchingParams {
            interpolant: default_interpolant(),
            time: TimeSampler::default(),
            source_std: DEFAULT_SOURCE_STD,
        }
    }
}

pub struct FlowMatching {
    path: Path,
}

impl FlowMatching {
    pub fn new(params: FlowMatchingParams) -> Result<Self> {
        Self::build("loss", params)
    }

    fn build(section: &str, p: FlowMatchingParams) -> Result<Self> {
        let path = Path::build(section, &p.interpolant, &p.time, p.source_std)?;
        Ok(FlowMatching { path })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        Ok(Box::new(Self::build(args.section, args.parse_resolved()?)?))
    }
}

ebm_core::register_loss!("flow_matching", FlowMatching::from_args);

impl Loss for FlowMatching {
    fn name(&self) -> &'static str {
        "flow_matching"
    }

    fn check_model(&self, model: &dyn Model) -> Result<()> {
        if !model.time_conditioned() {
            return Err(Error::config(
                "model.time",
                "flow matching learns a velocity v(x, t): the model needs a time input \
                 (`[model] time = true`)",
            ));
        }
        Ok(())
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        self.check_model(model)?;
        let path = self.path.draw(batch, ctx.rng)?;
        let v = model_field(model, &path.x_t, &path.t, "flow_matching")?.neg()?;
        let loss = mean_squared(&v, &path.velocity)?;
        let value = scalar(&loss)?;
        Ok(LossOut {
            loss,
            metrics: vec![("velocity_mse", value)],
        })
    }
}
