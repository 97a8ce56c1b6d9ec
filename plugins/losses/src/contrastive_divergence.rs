//! Contrastive divergence: L = mean E(x⁺) − mean E(x⁻) + α·(mean E(x⁺)² + mean E(x⁻)²).
//!
//! Negatives x⁻ come from k sampler steps against a detached view of the model (no parameter
//! gradients while sampling). CD-k starts the chains at the data batch; persistent CD (the
//! default) starts them from a replay buffer of persistent chains, re-initialising each drawn chain
//! from noise with probability `reinit_prob`, and writes the advanced chains back to their slots.
//! The α term keeps energies near zero; without it PCD on two moons drifts until E(data) ≈ −E(x⁻)
//! grows without bound (TorchEBM's default α = 1e-3 collapses, see the README).
//!
//! `kl_weight = w > 0` adds w·L_KL, the KL term of Improved CD (Du et al. 2021, [`crate::kl`]):
//! the gradient through the sampler's last move with the energy's weights frozen. It needs a
//! Langevin-type sampler ([`ebm_core::Sampler::drift_step`]).

use crate::augment::AugmentParams;
use crate::kl::kl_term;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, D};
use ebm_core::{
    ChainBank, ChainInit, Chains, Error, Loss, LossOut, Model, PluginArgs, Result, Rng, StepCtx,
    TrainCtx,
};
use serde::{Deserialize, Serialize};

/// `[loss] kind = "contrastive_divergence"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdParams {
    /// Sampler steps per training step.
    pub k: u64,
    /// Persistent chains (PCD) instead of chains started at the data (CD-k).
    pub persistent: bool,
    /// Number of persistent chains.
    pub buffer_capacity: usize,
    /// Probability that a drawn chain restarts from `init`.
    pub reinit_prob: f64,
    /// Distribution of new chains.
    pub init: ChainInit,
    /// α, the weight of the energy L2 regulariser.
    pub energy_reg: f64,
    /// Random flips, shifts and noise applied to replay-buffer chains before the sampler
    /// advances them (images, persistent chains only).
    #[serde(skip_serializing_if = "is_inactive")]
    pub augment: AugmentParams,
    /// w, the weight of the KL term (0: plain CD).
    #[serde(skip_serializing_if = "is_zero")]
    pub kl_weight: f64,
}

fn is_inactive(a: &AugmentParams) -> bool {
    !a.is_active()
}

fn is_zero(w: &f64) -> bool {
    *w == 0.0
}

impl Default for CdParams {
    /// PCD with a replay buffer of 10,000 chains and 5 % restarts from N(0, 1) (Du & Mordatch
    /// 2019), 10 sampler steps, and α = 0.1 (TorchEBM's 1e-3 collapses, see the module doc).
    fn default() -> Self {
        CdParams {
            k: 10,
            persistent: true,
            buffer_capacity: 10_000,
            reinit_prob: 0.05,
            init: ChainInit::default(),
            energy_reg: 0.1,
            augment: AugmentParams::default(),
            kl_weight: 0.0,
        }
    }
}

impl CdParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        let key = |k: &str| format!("{section}.{k}");
        if self.k == 0 {
            return Err(Error::config(key("k"), "need at least one sampler step"));
        }
        if self.persistent && self.buffer_capacity == 0 {
            return Err(Error::config(key("buffer_capacity"), "must be > 0"));
        }
        if !(0.0..=1.0).contains(&self.reinit_prob) {
            return Err(Error::config(
                key("reinit_prob"),
                format!("must be in [0, 1], got {}", self.reinit_prob),
            ));
        }
        if !(self.energy_reg >= 0.0 && self.energy_reg.is_finite()) {
            return Err(Error::config(
                key("energy_reg"),
                format!("must be >= 0, got {}", self.energy_reg),
            ));
        }
        if !(self.kl_weight >= 0.0 && self.kl_weight.is_finite()) {
            return Err(Error::config(
                key("kl_weight"),
                format!("must be >= 0, got {}", self.kl_weight),
            ));
        }
        self.augment.validate(&key("augment"))?;
        if self.augment.is_active() && !self.persistent {
            return Err(Error::config(
                key("augment"),
                "augments replay-buffer chains: it needs `persistent = true`",
            ));
        }
        self.init.validate(&key("init"))
    }
}

/// The negatives of one step, and the state before the sampler's last move with that move's η
/// when the KL term needs them.
struct Negatives {
    x: Tensor,
    last_move: Option<(Tensor, f64)>,
}

pub struct ContrastiveDivergence {
    params: CdParams,
    bank: Option<ChainBank>,
}

impl ContrastiveDivergence {
    pub fn new(params: CdParams) -> Result<Self> {
        params.validate("loss")?;
        Ok(ContrastiveDivergence { params, bank: None })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        let params: CdParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(ContrastiveDivergence { params, bank: None }))
    }

    fn negatives(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<Negatives> {
        let n = batch.dims()[0];
        let drawn = match self.bank.as_ref() {
            Some(bank) => Some(bank.draw(n, self.params.reinit_prob, ctx.rng, batch.device())?),
            None if self.params.persistent => {
                return Err(Error::invalid_argument(
                    "run contrastive_divergence's forward()",
                    "init() was not called first",
                ))
            }
            None => None,
        };
        let start = match &drawn {
            Some(d) if self.params.augment.is_active() => {
                self.params.augment.apply(&d.x, ctx.rng)?
            }
            Some(d) => d.x.clone(),
            None => batch.detach(),
        };
        let k = self.params.k;
        let kl_eta = if self.params.kl_weight > 0.0 {
            Some(ctx.sampler.drift_step(k - 1, k).ok_or_else(|| {
                Error::config(
                    "loss.kl_weight",
                    format!(
                        "the KL term differentiates through the sampler's last move \
                         x − η·∇E(x); sampler `{}` makes no such move (use langevin, \
                         annealed_langevin or gradient_descent)",
                        ctx.sampler.name()
                    ),
                )
            })?)
        } else {
            None
        };
        let view = model.detached();
        let mut chains = Chains::new(start);
        let mut before_last = None;
        for step in 0..k {
            if step + 1 == k && kl_eta.is_some() {
                before_last = Some(chains.x().clone());
            }
            let mut step_ctx = StepCtx {
                rng: ctx.rng,
                step,
                n_steps: k,
            };
            ctx.sampler
                .step(view.as_ref(), &mut chains, &mut step_ctx)?;
        }
        let x = chains.into_x();
        if let (Some(bank), Some(d)) = (self.bank.as_mut(), drawn) {
            bank.write_back(&d.slots, &x)?;
        }
        Ok(Negatives {
            x,
            last_move: before_last.zip(kl_eta),
        })
    }

    /// w·L_KL of these negatives, when the KL term is on.
    fn kl_loss(&self, model: &dyn Model, neg: &Negatives) -> Result<Option<Tensor>> {
        match &neg.last_move {
            Some((before, eta)) => {
                let kl = kl_term(model, before, &neg.x, *eta)?;
                Ok(Some((kl * self.params.kl_weight)?))
            }
            None => Ok(None),
        }
    }

    /// The loss on the data and given negatives, by ops (what autograd differentiates).
    fn loss_on(&self, model: &dyn Model, batch: &Tensor, negatives: &Negatives) -> Result<LossOut> {
        let n = batch.dims()[0];
        let neg = &negatives.x;
        // One forward over [x⁺; x⁻] instead of two: half the kernel launches and allocations.
        let e = model.energy(&Tensor::cat(&[batch, neg], 0)?)?;
        let (e_pos, e_neg) = (e.narrow(0, 0, n)?, e.narrow(0, n, n)?);
        let (m_pos, m_neg) = (e_pos.mean(D::Minus1)?, e_neg.mean(D::Minus1)?);
        let reg = ((e_pos.sqr()?.mean(D::Minus1)? + e_neg.sqr()?.mean(D::Minus1)?)?
            * self.params.energy_reg)?;
        let mut loss = ((&m_pos - &m_neg)? + reg)?;
        if let Some(kl) = self.kl_loss(model, negatives)? {
            loss = (loss + kl)?;
        }
        let scalar = |t: &Tensor| t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>();
        let (e_data, e_samples) = (scalar(&m_pos)?, scalar(&m_neg)?);
        Ok(LossOut {
            loss,
            metrics: metrics(e_data, e_samples),
        })
    }
}

/// The logged metrics, from the mean energies of data and samples.
fn metrics(e_data: f64, e_samples: f64) -> Vec<(&'static str, f64)> {
    vec![
        ("e_data", e_data),
        ("e_samples", e_samples),
        ("energy_gap", e_samples - e_data),
    ]
}

/// Means of E and E² over the data rows and over the sample rows.
struct EnergyStats {
    m_pos: f64,
    m_neg: f64,
    sq_pos: f64,
    sq_neg: f64,
}

/// ∂L/∂Eᵢ for the energies of [x⁺; x⁻] (`n` data rows first): (±1 + 2αEᵢ)/n, + for data rows.
/// The sums are in f64, so the loss and metrics round once, not once per row.
fn cd_row_weights(e: &[f32], n: usize, alpha: f64) -> Result<(Vec<f32>, EnergyStats)> {
    if e.len() != 2 * n || n == 0 {
        return Err(Error::shape(
            "contrastive_divergence's energies",
            format!("{} energies for {n} data rows and {n} samples", e.len()),
        ));
    }
    let (pos, neg) = e.split_at(n);
    let mean =
        |v: &[f32], f: fn(f64) -> f64| v.iter().map(|&x| f(x as f64)).sum::<f64>() / n as f64;
    let stats = EnergyStats {
        m_pos: mean(pos, |x| x),
        m_neg: mean(neg, |x| x),
        sq_pos: mean(pos, |x| x * x),
        sq_neg: mean(neg, |x| x * x),
    };
    let (inv_n, two_a) = (1.0 / n as f32, 2.0 * alpha as f32);
    let c = e
        .iter()
        .enumerate()
        .map(|(i, &ei)| {
            let sign = if i < n { 1.0 } else { -1.0 };
            (sign + two_a * ei) * inv_n
        })
        .collect();
    Ok((c, stats))
}

ebm_core::register_loss!("contrastive_divergence", ContrastiveDivergence::from_args);

impl Loss for ContrastiveDivergence {
    fn name(&self) -> &'static str {
        "contrastive_divergence"
    }

    fn check_model(&self, model: &dyn Model) -> Result<()> {
        if !model.has_energy_values() {
            return Err(Error::config(
                "model.output",
                "contrastive divergence compares the energies of data and samples: the model \
                 needs an energy head (`output = \"energy\"`)",
            ));
        }
        Ok(())
    }

    fn init(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<()> {
        if self.params.augment.is_active() {
            self.params
                .augment
                .check_shape(input_shape, "loss.augment")?;
        }
        if self.params.persistent {
            self.bank = Some(ChainBank::new(
                self.params.buffer_capacity,
                input_shape,
                self.params.init.clone(),
                rng,
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
        let neg = self.negatives(model, batch, ctx)?;
        self.loss_on(model, batch, &neg)
    }

    /// The same negatives, then the model's fused parameter gradients when it has them (the
    /// MLP on CPU f32): Σᵢ cᵢ·E(xᵢ) over [x⁺; x⁻] with cᵢ = ∂L/∂Eᵢ has L's parameter gradient.
    /// Otherwise the op loss and autograd, as `forward` + `backward()`.
    fn forward_with_grads(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<Option<(LossOut, GradStore)>> {
        let n = batch.dims()[0];
        let neg = self.negatives(model, batch, ctx)?;
        let x = Tensor::cat(&[batch, &neg.x], 0)?;
        let mut stats = None;
        let alpha = self.params.energy_reg;
        let fused = model.energy_param_grads(&x, &mut |e| {
            let (c, s) = cd_row_weights(e, n, alpha)?;
            stats = Some(s);
            Ok(c)
        })?;
        let (mut grads, s) = match (fused, stats) {
            (Some((_, grads)), Some(s)) => (grads, s),
            _ => {
                let out = self.loss_on(model, batch, &neg)?;
                let grads = out.loss.backward()?;
                return Ok(Some((out, grads)));
            }
        };
        let mut loss = s.m_pos - s.m_neg + alpha * (s.sq_pos + s.sq_neg);
        if let Some(kl) = self.kl_loss(model, &neg)? {
            // The KL term's gradients by autograd, added to the fused CD gradients.
            let kl_grads = kl.backward()?;
            for p in model.params() {
                if let Some(g) = kl_grads.get(p.var.as_tensor()) {
                    let sum = match grads.get(p.var.as_tensor()) {
                        Some(cd) => (cd + g)?,
                        None => g.clone(),
                    };
                    grads.insert(p.var.as_tensor(), sum);
                }
            }
            loss += kl.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
        Ok(Some((
            LossOut {
                loss: Tensor::new(loss as f32, batch.device())?,
                metrics: metrics(s.m_pos, s.m_neg),
            },
            grads,
        )))
    }

    fn chain_bank(&self) -> Option<&ChainBank> {
        self.bank.as_ref()
    }

    fn chain_bank_mut(&mut self) -> Option<&mut ChainBank> {
        self.bank.as_mut()
    }
}
