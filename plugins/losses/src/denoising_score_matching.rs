//! Denoising score matching (Vincent 2011): perturb x̃ = x + σε and regress the model score
//! s = −∇ₓE(x̃) on the score of the noise kernel, −ε/σ. No Hessian, so for a model whose ∇ₓE is
//! differentiable (the MLP) one ordinary backward is exact.
//!
//! - `sigma = 0.1` (default): one noise level, J = E ½‖∇ₓE(x̃) − ε/σ‖². exp(−E) then models the
//!   data blurred by N(0, σ²I).
//! - `sigmas = { max = 1.0, min = 0.01, n = 10 }`: a geometric ladder σ_max … σ_min (Song & Ermon
//!   2019). Each example draws one level uniformly; the weight is λ(σ) = σ², and the energy is
//!   unconditional with the NCSN v2 "scaled" score s(x, σ) = −∇ₓE(x)/σ (Song & Ermon 2020), so
//!   the per-example term λ(σ)·½‖s(x̃, σ) + ε/σ‖² is ½‖∇ₓE(x̃) − ε‖². The model's density at level
//!   σ is exp(−E/σ): sample it by annealed Langevin with temperature going from σ_max to σ_min.

use crate::score_matching::{gaussian, input_grad, per_example_sum, scalar};
use candle_core::Tensor;
use ebm_core::{rng, Error, Loss, LossOut, Model, PluginArgs, Result, TrainCtx};
use serde::{Deserialize, Serialize};

/// A geometric ladder of noise levels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigmaLadder {
    pub max: f64,
    pub min: f64,
    pub n: usize,
}

impl Default for SigmaLadder {
    /// Song & Ermon's (2019) ladder: 10 levels from 1 down to 0.01.
    fn default() -> Self {
        SigmaLadder {
            max: 1.0,
            min: 0.01,
            n: 10,
        }
    }
}

impl SigmaLadder {
    /// σ_i = max·(min/max)^{i/(n−1)}, i = 0 … n−1.
    pub fn levels(&self) -> Vec<f64> {
        if self.n < 2 {
            return vec![self.max];
        }
        let ratio = self.min / self.max;
        (0..self.n)
            .map(|i| self.max * ratio.powf(i as f64 / (self.n - 1) as f64))
            .collect()
    }
}

/// `[loss] kind = "denoising_score_matching"`: `sigma` or `sigmas`, not both.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DsmParams {
    /// One noise level (0.1 when neither key is given).
    pub sigma: Option<f64>,
    /// A ladder of noise levels.
    pub sigmas: Option<SigmaLadder>,
}

const DEFAULT_SIGMA: f64 = 0.1;

impl DsmParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        let key = |k: &str| format!("{section}.{k}");
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if let Some(s) = self.sigma {
            if !positive(s) {
                return Err(Error::config(key("sigma"), format!("must be > 0, got {s}")));
            }
        }
        if let Some(l) = &self.sigmas {
            if self.sigma.is_some() {
                return Err(Error::config(
                    key("sigmas"),
                    "give `sigma` (one level) or `sigmas` (a ladder), not both",
                ));
            }
            if !positive(l.min) {
                return Err(Error::config(key("sigmas.min"), "must be > 0"));
            }
            if !(positive(l.max) && l.max > l.min) {
                return Err(Error::config(key("sigmas.max"), "must be > sigmas.min"));
            }
            if l.n < 2 {
                return Err(Error::config(key("sigmas.n"), "need at least 2 levels"));
            }
        }
        Ok(())
    }
}

pub struct DenoisingScoreMatching {
    params: DsmParams,
}

impl DenoisingScoreMatching {
    pub fn new(params: DsmParams) -> Result<Self> {
        params.validate("loss")?;
        Ok(DenoisingScoreMatching { params })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        let params: DsmParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(DenoisingScoreMatching { params }))
    }
}

ebm_core::register_loss!(
    "denoising_score_matching",
    DenoisingScoreMatching::from_args
);

impl Loss for DenoisingScoreMatching {
    fn name(&self) -> &'static str {
        "denoising_score_matching"
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        let x = batch.detach();
        let eps = gaussian(ctx.rng, &x)?;
        let (noisy, target) = match &self.params.sigmas {
            None => {
                let sigma = self.params.sigma.unwrap_or(DEFAULT_SIGMA);
                ((&x + (&eps * sigma)?)?, (&eps / sigma)?)
            }
            Some(ladder) => {
                // One level per example, drawn from ctx.rng; σ broadcast over the other axes.
                let levels = ladder.levels();
                let b = x.dims()[0];
                let u = rng::rand_uniform(ctx.rng, &[b], 0.0, 1.0, x.device())?.to_vec1::<f32>()?;
                let sig: Vec<f64> = u
                    .iter()
                    .map(|&u| {
                        levels[((u as f64 * levels.len() as f64) as usize).min(levels.len() - 1)]
                    })
                    .collect();
                let mut shape = vec![b];
                shape.resize(x.rank(), 1);
                let sig = Tensor::new(sig, x.device())?
                    .to_dtype(x.dtype())?
                    .reshape(shape)?;
                ((&x + eps.broadcast_mul(&sig)?)?, eps.clone())
            }
        };
        let g = input_grad(model, &noisy, self.name())?;
        let loss = (per_example_sum(&(&g - &target)?.sqr()?)?.mean_all()? * 0.5)?;
        Ok(LossOut {
            loss,
            metrics: vec![(
                "score_sq",
                scalar(&per_example_sum(&g.sqr()?)?.mean_all()?)?,
            )],
        })
    }
}
