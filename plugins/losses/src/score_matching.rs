//! Score matching (Hyvärinen 2005): J = E[½‖∇ₓE‖² − tr(∇²ₓE)], the Fisher divergence between the
//! model score s = −∇ₓE and the data score up to a constant, with no sampling and no partition
//! function. The Hessian trace is exact (`hessian = "exact"`: one Hessian-vector product per input
//! dimension, so for small D) or Hutchinson's unbiased estimate E[vᵀHv] over `n_probes` Rademacher
//! probes (`"hutchinson"`; not divided by D, unlike TorchEBM's "approx", its bug 1).
//!
//! `data_noise = σ` fits the data blurred by N(0, σ²I) instead (each batch perturbed afresh): the
//! blur puts mass between separated modes, whose relative weights the score cannot otherwise see
//! (Wenliang & Kanagawa 2020), at the cost of a model of slightly blurred data.
//!
//! ∇ₓE comes from the model's own `grad` when it is differentiable (the MLP's explicit ops),
//! otherwise from [`ebm_core::differentiable_grad`]; Hessian-vector products differentiate ∇ₓE
//! again with respect to x by a second backward. Both paths of autograd need double backward
//! (`CANDLE_GRAD_DO_NOT_DETACH=1`, set by `ensure_double_backward()` at start-up); without it the
//! loss stops with an error instead of returning silently wrong parameter gradients.

use candle_core::{DType, Tensor, Var};
use ebm_core::{rng, Error, Loss, LossOut, Model, PluginArgs, Result, Rng, TrainCtx};
use serde::{Deserialize, Serialize};

/// How the Hessian trace is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hessian {
    /// tr(H) = Σ_d eᵈᵀHeᵈ, one Hessian-vector product per dimension.
    #[default]
    Exact,
    /// tr(H) ≈ mean over Rademacher probes v of vᵀHv.
    Hutchinson,
}

/// `[loss] kind = "score_matching"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreMatchingParams {
    pub hessian: Hessian,
    /// Probes per example for `hessian = "hutchinson"`.
    pub n_probes: usize,
    /// σ of the Gaussian blur applied to each batch (0: the data as they are).
    pub data_noise: f64,
}

impl Default for ScoreMatchingParams {
    /// The exact trace on the data as they are (Hyvärinen's objective); one probe if switched
    /// to Hutchinson.
    fn default() -> Self {
        ScoreMatchingParams {
            hessian: Hessian::Exact,
            n_probes: 1,
            data_noise: 0.0,
        }
    }
}

impl ScoreMatchingParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        if self.n_probes == 0 {
            return Err(Error::config(
                format!("{section}.n_probes"),
                "need at least one probe",
            ));
        }
        validate_data_noise(section, self.data_noise)
    }
}

pub struct ScoreMatching {
    params: ScoreMatchingParams,
}

impl ScoreMatching {
    pub fn new(params: ScoreMatchingParams) -> Result<Self> {
        params.validate("loss")?;
        Ok(ScoreMatching { params })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        let params: ScoreMatchingParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(ScoreMatching { params }))
    }
}

ebm_core::register_loss!("score_matching", ScoreMatching::from_args);

/// Stops with a clear message unless candle keeps the graph of gradients (needed for Hessian
/// terms, and for ∇ₓE of energies whose `grad` is not differentiable).
pub(crate) fn require_double_backward(loss: &str, why: &str) -> Result<()> {
    if ebm_core::double_backward_active()? {
        return Ok(());
    }
    Err(Error::DoubleBackwardInactive {
        what: format!("{loss}: {why}"),
    })
}

/// ∇ₓE(x) `[B, ...]`, differentiable with respect to the parameters (and to `x` if it is tracked).
pub(crate) fn input_grad(model: &dyn Model, x: &Tensor, loss: &str) -> Result<Tensor> {
    if model.grad_is_differentiable() {
        return model.grad(x);
    }
    require_double_backward(loss, "a model whose ∇ₓE comes from autograd")?;
    Ok(ebm_core::differentiable_grad(model, x)?.1)
}

/// `data_noise` must be finite and ≥ 0.
pub(crate) fn validate_data_noise(section: &str, sigma: f64) -> Result<()> {
    if !(sigma >= 0.0 && sigma.is_finite()) {
        return Err(Error::config(
            format!("{section}.data_noise"),
            format!("must be finite and >= 0, got {sigma}"),
        ));
    }
    Ok(())
}

/// `batch + σ·ε` with ε from `rng` (the batch itself when σ = 0, drawing nothing).
pub(crate) fn perturb(batch: &Tensor, sigma: f64, rng: &mut Rng) -> Result<Tensor> {
    if sigma == 0.0 {
        return Ok(batch.clone());
    }
    Ok((batch + (gaussian(rng, batch)? * sigma)?)?)
}

/// The batch as a `Var`, so ∇ₓE can be differentiated again with respect to x.
pub(crate) fn input_var(batch: &Tensor) -> Result<Var> {
    Ok(Var::from_tensor(&batch.detach())?)
}

/// Per-example vᵀHv `[B]` for a direction `v` shaped like x: the x-gradient of Σ_b v_b·∇E_b.
pub(crate) fn vhv(g: &Tensor, x: &Var, v: &Tensor) -> Result<Tensor> {
    let grads = (g * v)?.sum_all()?.backward()?;
    let hv = match grads.get(x.as_tensor()) {
        Some(hv) => hv.clone(),
        None => x.as_tensor().zeros_like()?,
    };
    per_example_sum(&(hv * v)?)
}

/// Σ over every axis but the batch axis: `[B, ...]` → `[B]`.
pub(crate) fn per_example_sum(t: &Tensor) -> Result<Tensor> {
    let b = t.dims()[0];
    Ok(t.reshape((b, ()))?.sum(1)?)
}

/// i.i.d. ±1 with probability ½ each, from `rng`, in `like`'s shape, dtype and device.
pub(crate) fn rademacher(rng: &mut Rng, like: &Tensor) -> Result<Tensor> {
    let u = rng::rand_uniform(rng, like.dims(), 0.0, 1.0, like.device())?;
    Ok(((u.ge(0.5)?.to_dtype(like.dtype())? * 2.0)? - 1.0)?)
}

/// i.i.d. N(0, 1) from `rng`, in `like`'s shape, dtype and device.
pub(crate) fn gaussian(rng: &mut Rng, like: &Tensor) -> Result<Tensor> {
    Ok(rng::randn(rng, like.dims(), like.device())?.to_dtype(like.dtype())?)
}

pub(crate) fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

impl Loss for ScoreMatching {
    fn name(&self) -> &'static str {
        "score_matching"
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        require_double_backward(self.name(), "the Hessian trace")?;
        let batch = &perturb(batch, self.params.data_noise, ctx.rng)?;
        let x = input_var(batch)?;
        let g = input_grad(model, x.as_tensor(), self.name())?;
        let sq = per_example_sum(&g.sqr()?)?.mean_all()?;
        let trace = match self.params.hessian {
            Hessian::Exact => {
                let b = batch.dims()[0];
                let d = batch.elem_count() / b.max(1);
                let mut total: Option<Tensor> = None;
                for i in 0..d {
                    let mut e = vec![0.0f64; d];
                    e[i] = 1.0;
                    let e = Tensor::new(e, batch.device())?
                        .to_dtype(batch.dtype())?
                        .broadcast_as((b, d))?
                        .reshape(batch.shape())?;
                    let term = vhv(&g, &x, &e)?;
                    total = Some(match total {
                        Some(t) => (t + term)?,
                        None => term,
                    });
                }
                match total {
                    Some(t) => t.mean_all()?,
                    None => sq.zeros_like()?,
                }
            }
            Hessian::Hutchinson => {
                let mut sum = sq.zeros_like()?;
                for _ in 0..self.params.n_probes {
                    let v = rademacher(ctx.rng, batch)?;
                    sum = (sum + vhv(&g, &x, &v)?.mean_all()?)?;
                }
                (sum / self.params.n_probes as f64)?
            }
        };
        let loss = ((&sq * 0.5)? - &trace)?;
        Ok(LossOut {
            loss,
            metrics: vec![
                ("score_sq", scalar(&sq)?),
                ("hessian_trace", scalar(&trace)?),
            ],
        })
    }
}
