//! AdamW with global-norm gradient clipping and a scheduled learning rate.
//!
//! The update is candle-nn's `AdamW` line for line (a test checks they agree step for step); we
//! keep our own because candle-nn's moments are private, and a checkpoint must hold them for a
//! resumed run to continue exactly.

use crate::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::Tensor;
use ebm_core::{Error as CoreError, Param, ScheduleConfig};
use serde::{Deserialize, Serialize};

/// `[optim]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimConfig {
    /// Learning rate (a number or a schedule over training steps).
    #[serde(default = "d_lr")]
    pub lr: ScheduleConfig,
    /// (β₁, β₂): exactly two values (a third would otherwise be dropped silently).
    #[serde(default = "d_betas", deserialize_with = "exactly_two")]
    pub betas: [f64; 2],
    #[serde(default = "d_eps")]
    pub eps: f64,
    /// Decoupled weight decay λ (AdamW).
    #[serde(default)]
    pub weight_decay: f64,
    /// Rescale gradients whose global L2 norm exceeds this (none if absent).
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Decay d of an exponential moving average of the weights, θ̄ ← d·θ̄ + (1 − d)·θ after every
    /// step; the averaged model samples and evaluates ([`crate::Ema`]). None: no average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_decay: Option<f64>,
}

fn d_lr() -> ScheduleConfig {
    ScheduleConfig::Constant(1e-3)
}
fn d_betas() -> [f64; 2] {
    [0.9, 0.999]
}
/// `[f64; 2]` from a list that must hold exactly two numbers.
fn exactly_two<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<[f64; 2], D::Error> {
    let v = Vec::<f64>::deserialize(d)?;
    <[f64; 2]>::try_from(v.as_slice()).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected exactly 2 values (beta1, beta2), got {}: {v:?}",
            v.len()
        ))
    })
}

fn d_eps() -> f64 {
    1e-8
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: d_lr(),
            betas: d_betas(),
            eps: d_eps(),
            weight_decay: 0.0,
            grad_clip: None,
            ema_decay: None,
        }
    }
}

impl OptimConfig {
    pub fn validate(&self) -> Result<()> {
        self.lr.validate_positive("optim.lr")?;
        if !self.betas.iter().all(|b| (0.0..1.0).contains(b)) {
            return Err(CoreError::config(
                "optim.betas",
                format!("each must be in [0, 1), got {:?}", self.betas),
            )
            .into());
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(CoreError::config("optim.eps", "must be finite and > 0").into());
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(CoreError::config("optim.weight_decay", "must be >= 0").into());
        }
        if let Some(d) = self.ema_decay {
            if !(d > 0.0 && d < 1.0) {
                return Err(CoreError::config(
                    "optim.ema_decay",
                    format!("must be in (0, 1), e.g. 0.999, got {d}"),
                )
                .into());
            }
        }
        if let Some(c) = self.grad_clip {
            if !(c > 0.0 && c.is_finite()) {
                return Err(
                    CoreError::config("optim.grad_clip", format!("must be > 0, got {c}")).into(),
                );
            }
        }
        Ok(())
    }
}

pub struct AdamW {
    params: Vec<Param>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: u64,
    config: OptimConfig,
}

impl AdamW {
    pub fn new(params: Vec<Param>, config: OptimConfig) -> Result<Self> {
        let m = params
            .iter()
            .map(|p| p.var.zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(AdamW {
            params,
            m,
            v,
            t: 0,
            config,
        })
    }

    /// The parameters this optimizer updates, in a fixed order (the gradient bucket's order).
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Global L2 norm of the parameters' gradients.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut sq = 0.0;
        for p in &self.params {
            if let Some(g) = grads.get(p.var.as_tensor()) {
                sq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        Ok(sq.sqrt())
    }

    /// One update with learning rate `lr`; `grad_norm` is the value from [`AdamW::grad_norm`],
    /// used for clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64, grad_norm: f64) -> Result<()> {
        let clip = match self.config.grad_clip {
            Some(max) if grad_norm > max => max / (grad_norm + 1e-6),
            _ => 1.0,
        };
        self.t += 1;
        let [b1, b2] = self.config.betas;
        let scale_m = 1.0 / (1.0 - b1.powi(self.t as i32));
        let scale_v = 1.0 / (1.0 - b2.powi(self.t as i32));
        let decay = 1.0 - lr * self.config.weight_decay;
        for (i, p) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            // Detached: with CANDLE_GRAD_DO_NOT_DETACH=1 (ensure_double_backward) gradients carry
            // their graph, and moments built from them would chain every step's graph (unbounded memory).
            let g = g.detach();
            let g = if clip < 1.0 { (g * clip)? } else { g };
            let m = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?;
            let v = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let update = ((&m * scale_m)? / ((&v * scale_v)?.sqrt()? + self.config.eps)?)?;
            let next = ((p.var.as_tensor() * decay)? - (update * lr)?)?;
            p.var.set(&next)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Moments keyed `optim.m.<param>` / `optim.v.<param>`, for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, p) in self.params.iter().enumerate() {
            out.push((format!("optim.m.{}", p.name), self.m[i].clone()));
            out.push((format!("optim.v.{}", p.name), self.v[i].clone()));
        }
        out
    }

    pub fn load_state(&mut self, t: u64, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        for (i, p) in self.params.iter().enumerate() {
            for (kind, slot) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let key = format!("optim.{kind}.{}", p.name);
                let t = saved(&key).ok_or_else(|| {
                    Error::Core(CoreError::State {
                        what: "optimizer".into(),
                        message: format!("`{key}` missing"),
                    })
                })?;
                if t.dims() != p.var.dims() {
                    return Err(Error::Core(CoreError::State {
                        what: "optimizer".into(),
                        message: format!(
                            "`{key}` has shape {:?}, expected {:?}",
                            t.dims(),
                            p.var.dims()
                        ),
                    }));
                }
                *slot = t;
            }
        }
        self.t = t;
        Ok(())
    }
}
