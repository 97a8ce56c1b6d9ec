//! The MLP energy: Linear → φ → … → Linear(·, 1), E(x) = the scalar output.
//!
//! ∇ₓE is computed by explicit forward ops instead of autograd: with pre-activations zₗ,
//! g ← w_out; for each hidden layer from the top, g ← (g ⊙ φ'(zₗ)) Wₗ. That is the same arithmetic
//! backprop does, but builds no graph and never touches parameter gradients, and because it is made
//! of ordinary differentiable ops, losses that need ∇ₓE inside the objective (score matching) can
//! still differentiate it with respect to the weights.
//!
//! `fourier_features = m` feeds the network [x, sin 2πBx, cos 2πBx] instead of x, with a fixed
//! random B ∈ ℝ^{m×d}, Bᵢⱼ ~ N(0, `fourier_scale`²) (Tancik et al. 2020, "Fourier features let
//! networks learn high frequency functions"): an MLP on raw coordinates learns smooth functions
//! first (spectral bias) and blurs structure much finer than the data's spread (thin spirals,
//! checkerboard squares, modes 0.02 wide); the features give it those frequencies from the start.
//! ∇ₓE passes through them by the chain rule.
//!
//! Two options make it the network of equilibrium and flow matching:
//! - `time = true` appends Fourier features of a time t ∈ [0, 1] to the input, so the network is
//!   E(x, t) (or g(x, t)); ∇ₓE keeps only the x columns of the input gradient.
//! - `output = "field"` swaps the scalar head for a vector one, g(x) with the shape of x, read as
//!   the gradient ∇ₓE of an implicit energy (samplers descend it). Such a network has no energy
//!   values.
//!
//! The sampling view (`Model::detached()`) of an energy head without time input on CPU f32 is
//! the fused path of `fused/` instead ([`fast_view`]): the same arithmetic on raw buffers,
//! several times faster, but not differentiable with respect to the weights (sampling never
//! needs that).

mod fast_view;

use crate::fused::{FusedMlp, MlpSpec};
use crate::{init, Activation};
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{Energy, Model, Param, Result, Rng};
use fast_view::FastView;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `[model] kind = "mlp"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Hidden layer widths.
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    #[serde(default)]
    pub activation: Activation,
    /// β of `activation = "swish"`.
    #[serde(default = "one")]
    pub swish_beta: f64,
    /// Whether the network also takes a time t ∈ [0, 1] (flow matching's velocity field).
    #[serde(default)]
    pub time: bool,
    /// With `time`, t enters as [t, sin(2ᵏπt), cos(2ᵏπt)] for k = 0 … n − 1.
    #[serde(default = "default_time_frequencies")]
    pub time_frequencies: usize,
    /// A scalar energy head or a vector (gradient-field) head.
    #[serde(default)]
    pub output: Output,
    /// m random Fourier features of x appended to the input (0: none).
    #[serde(default)]
    pub fourier_features: usize,
    /// σ of the Fourier frequencies, in cycles per unit of x.
    #[serde(default = "one")]
    pub fourier_scale: f64,
    /// Multiplies the first layer's initial weights (1: the usual uniform ±1/√fan_in). A larger
    /// gain starts the network with finer features of x, the remedy for spectral bias that
    /// SIREN's ω₀ is: the toy2d recipe's 4 resolves the Swiss roll's 0.003-wide band, which
    /// gain 1 blurs (KL 0.42 → 0.08 nats). Only the initial draw is scaled: same stream, and
    /// a checkpoint holds the trained weights whatever the gain.
    #[serde(default = "one")]
    pub input_gain: f64,
}

/// What the network outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// E(x), one scalar per sample; ∇ₓE by explicit backward ops.
    #[default]
    Energy,
    /// g(x) ≈ ∇ₓE(x), a vector with the shape of x; no energy values.
    Field,
}

fn default_time_frequencies() -> usize {
    4
}

fn default_hidden() -> Vec<usize> {
    vec![128, 128]
}

fn one() -> f64 {
    1.0
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: default_hidden(),
            activation: Activation::default(),
            swish_beta: 1.0,
            time: false,
            time_frequencies: default_time_frequencies(),
            output: Output::default(),
            fourier_features: 0,
            fourier_scale: 1.0,
            input_gain: 1.0,
        }
    }
}

impl MlpConfig {
    pub fn validate(&self) -> Result<()> {
        if self.hidden.is_empty() {
            // No hidden layer: E is linear in x, unbounded below, and no sampler can settle.
            return Err(ebm_core::Error::config(
                "model.hidden",
                "need at least one hidden layer (with none the energy is linear and unbounded below)",
            ));
        }
        if self.hidden.contains(&0) {
            return Err(ebm_core::Error::config(
                "model.hidden",
                "layer widths must be > 0",
            ));
        }
        if self.time && self.time_frequencies > 16 {
            // 2^16·π already aliases at f32 resolution of t.
            return Err(ebm_core::Error::config(
                "model.time_frequencies",
                format!("at most 16, got {}", self.time_frequencies),
            ));
        }
        if self.fourier_features > 4096 {
            return Err(ebm_core::Error::config(
                "model.fourier_features",
                format!("at most 4096, got {}", self.fourier_features),
            ));
        }
        if !(self.input_gain > 0.0 && self.input_gain.is_finite()) {
            return Err(ebm_core::Error::config(
                "model.input_gain",
                format!("must be finite and > 0, got {}", self.input_gain),
            ));
        }
        if !(self.fourier_scale > 0.0 && self.fourier_scale.is_finite()) {
            return Err(ebm_core::Error::config(
                "model.fourier_scale",
                format!("must be finite and > 0, got {}", self.fourier_scale),
            ));
        }
        if !self.swish_beta.is_finite() {
            return Err(ebm_core::Error::config(
                "model.swish_beta",
                "must be finite",
            ));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Dense {
    /// `[out, in]`, as torch's Linear stores it.
    w: Tensor,
    /// `[out]`
    b: Tensor,
}

/// An MLP energy. Built by [`Mlp::new`] it owns trainable parameters; [`Model::detached`] gives a
/// view of the same weights for sampling.
#[derive(Clone)]
pub struct Mlp {
    layers: Vec<Dense>,
    activation: Activation,
    beta: f64,
    input_dim: usize,
    /// Fourier frequencies of t (None: no time input).
    time_frequencies: Option<usize>,
    /// 2π·B, `[m, d]`, of the Fourier features of x (None: raw x only).
    fourier: Option<Tensor>,
    output: Output,
    params: Vec<Param>,
    /// The fused sampling path of this shape (an energy head without time input), with its
    /// buffers; shared by every detached view of this model.
    fused: Option<Arc<FusedMlp>>,
}

impl Mlp {
    /// A new MLP with seeded PyTorch-default initial weights.
    pub fn new(
        config: &MlpConfig,
        input_dim: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        Self::new_with_dtype(config, input_dim, rng, device, DType::F32)
    }

    /// [`Mlp::new`] with trainable parameters in `dtype` (the same draws as `new`, converted):
    /// f64 for finite-difference checks of parameter gradients.
    pub fn new_with_dtype(
        config: &MlpConfig,
        input_dim: usize,
        rng: &mut Rng,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let time_frequencies = config.time.then_some(config.time_frequencies);
        let m = config.fourier_features;
        // Drawn before the weights, from the same stream: a run's model (and a resumed or
        // evaluated copy of it) gets the same B from its seed. Not a parameter: never trained.
        let fourier = if m > 0 {
            let scale = 2.0 * std::f64::consts::PI * config.fourier_scale;
            let b: Vec<f32> = ebm_core::rng::normal_vec(rng, m * input_dim)
                .into_iter()
                .map(|z| (z as f64 * scale) as f32)
                .collect();
            Some(Tensor::from_vec(b, (m, input_dim), device)?.to_dtype(dtype)?)
        } else {
            None
        };
        let mut widths = vec![input_dim + 2 * m + time_frequencies.map_or(0, |n| 1 + 2 * n)];
        widths.extend(&config.hidden);
        widths.push(match config.output {
            Output::Energy => 1,
            Output::Field => input_dim,
        });
        let (mut layers, mut params) = (Vec::new(), Vec::new());
        for (i, pair) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let w = init::linear_uniform(rng, &[fan_out, fan_in], fan_in, device)?;
            let w = if i == 0 { (w * config.input_gain)? } else { w };
            let w = Var::from_tensor(&w.to_dtype(dtype)?)?;
            let b = init::linear_uniform(rng, &[fan_out], fan_in, device)?;
            let b = Var::from_tensor(&b.to_dtype(dtype)?)?;
            layers.push(Dense {
                w: w.as_tensor().clone(),
                b: b.as_tensor().clone(),
            });
            params.push(Param {
                name: format!("layers.{i}.weight"),
                var: w,
            });
            params.push(Param {
                name: format!("layers.{i}.bias"),
                var: b,
            });
        }
        let fused = match (config.output, time_frequencies, m) {
            (Output::Energy, None, 0) => FusedMlp::new(MlpSpec {
                widths,
                activation: config.activation,
                beta: config.swish_beta as f32,
            })
            .map(Arc::new),
            _ => None,
        };
        Ok(Mlp {
            layers,
            activation: config.activation,
            beta: config.swish_beta,
            input_dim,
            time_frequencies,
            fourier,
            output: config.output,
            params,
            fused,
        })
    }

    /// A detached copy in another dtype (f64 for finite-difference checks).
    pub fn to_dtype(&self, dtype: DType) -> Result<Mlp> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(Dense {
                    w: l.w.detach().to_dtype(dtype)?,
                    b: l.b.detach().to_dtype(dtype)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let fourier = match &self.fourier {
            Some(b) => Some(b.to_dtype(dtype)?),
            None => None,
        };
        Ok(Mlp {
            layers,
            fourier,
            params: Vec::new(),
            ..self.clone()
        })
    }

    /// The fused path, where it covers this network: an energy head without time input (fixed
    /// at construction) and CPU f32 weights (this copy's).
    fn fused(&self) -> Option<&Arc<FusedMlp>> {
        let cpu_f32 = self.layers.iter().all(|l| {
            l.w.device().is_cpu() && l.w.dtype() == DType::F32 && l.b.dtype() == DType::F32
        });
        self.fused.as_ref().filter(|_| cpu_f32)
    }

    /// The op-based detached view: the differentiable explicit-ops path on weights that autograd
    /// does not track (the fused view's fallback, and the reference its tests compare with).
    pub fn detached_ops(&self) -> Mlp {
        let layers = self
            .layers
            .iter()
            .map(|l| Dense {
                w: l.w.detach(),
                b: l.b.detach(),
            })
            .collect();
        Mlp {
            layers,
            params: Vec::new(),
            ..self.clone()
        }
    }

    /// E(x, t) with one time per row (`t: [B]`); a network without a time input ignores `t`.
    pub fn energy_at(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        if self.output == Output::Field {
            return Err(ebm_core::no_energy_values("this MLP"));
        }
        Ok(self.forward(x, Some(t))?.1.squeeze(1)?)
    }

    /// The network input: x flattened to `[B, d]`, with its Fourier features [sin a, cos a]
    /// (a = 2πBx) and, for a time-conditioned network, the time features appended (t = 1 when
    /// no time is given).
    fn input(&self, x: &Tensor, t: Option<&Tensor>) -> Result<Tensor> {
        let b = x.dims().first().copied().unwrap_or(0);
        let mut h = x.reshape((b, self.input_dim))?;
        if let Some(two_pi_b) = &self.fourier {
            let a = h.matmul(&two_pi_b.to_dtype(h.dtype())?.t()?)?;
            h = Tensor::cat(&[&h, &a.sin()?, &a.cos()?], 1)?;
        }
        let Some(n) = self.time_frequencies else {
            return Ok(h);
        };
        let t = match t {
            Some(t) => t.to_dtype(h.dtype())?.reshape((b, 1))?,
            None => Tensor::ones((b, 1), h.dtype(), h.device())?,
        };
        let freqs: Vec<f64> = (0..n)
            .map(|k| std::f64::consts::PI * 2f64.powi(k as i32))
            .collect();
        let freqs = Tensor::new(freqs, h.device())?
            .to_dtype(h.dtype())?
            .reshape((1, n))?;
        let angles = t.broadcast_mul(&freqs)?;
        Ok(Tensor::cat(&[h, t, angles.sin()?, angles.cos()?], 1)?)
    }

    /// Pre-activations of the hidden layers and the output (`[B, 1]` or `[B, d]`).
    fn forward(&self, x: &Tensor, t: Option<&Tensor>) -> Result<(Vec<Tensor>, Tensor)> {
        let mut h = self.input(x, t)?;
        let mut pre = Vec::with_capacity(self.layers.len() - 1);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            // In h's dtype: the f32 weights are cast under `precision = "bf16"` (else a no-op).
            let (w, b) = (l.w.to_dtype(h.dtype())?, l.b.to_dtype(h.dtype())?);
            let z = h.matmul(&w.t()?)?.broadcast_add(&b)?;
            if i == last {
                return Ok((pre, z));
            }
            h = self.activation.apply(&z, self.beta)?;
            pre.push(z);
        }
        unreachable!("an MLP always has an output layer")
    }

    /// E(x, t) and ∇ₓE(x, t) of the energy head.
    fn energy_and_grad_at(&self, x: &Tensor, t: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        if self.output == Output::Field {
            return Err(ebm_core::no_energy_values("this MLP"));
        }
        let (pre, out) = self.forward(x, t)?;
        let batch = out.dims()[0];
        // dE/dh of the last hidden layer is the output row w_out, the same for every sample.
        let dtype = out.dtype();
        let w_out = self.layers[self.layers.len() - 1].w.to_dtype(dtype)?;
        let mut g = w_out.broadcast_as((batch, w_out.dims()[1]))?;
        for (l, z) in self.layers.iter().zip(&pre).rev() {
            g = (g * self.activation.derivative(z, self.beta)?)?.matmul(&l.w.to_dtype(dtype)?)?;
        }
        // Time features are inputs too; ∇ₓ keeps the x columns, plus the chain rule through the
        // Fourier features: ∂sin a/∂x = cos a·2πB, ∂cos a/∂x = −sin a·2πB.
        let d = self.input_dim;
        let mut gx = g.narrow(1, 0, d)?;
        if let Some(two_pi_b) = &self.fourier {
            let m = two_pi_b.dims()[0];
            let two_pi_b = &two_pi_b.to_dtype(dtype)?;
            let a = x.reshape((batch, d))?.matmul(&two_pi_b.t()?)?;
            let ga = ((g.narrow(1, d, m)? * a.cos()?)? - (g.narrow(1, d + m, m)? * a.sin()?)?)?;
            gx = (gx + ga.matmul(two_pi_b)?)?;
        }
        Ok((out.squeeze(1)?, gx.reshape(x.shape())?))
    }

    /// The vector head's output g(x, t), shaped like x.
    fn field_at(&self, x: &Tensor, t: Option<&Tensor>) -> Result<Tensor> {
        Ok(self.forward(x, t)?.1.reshape(x.shape())?)
    }

    fn grad_at_opt(&self, x: &Tensor, t: Option<&Tensor>) -> Result<Tensor> {
        match self.output {
            Output::Energy => Ok(self.energy_and_grad_at(x, t)?.1),
            Output::Field => self.field_at(x, t),
        }
    }
}

impl Energy for Mlp {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        if self.output == Output::Field {
            return Err(ebm_core::no_energy_values("this MLP"));
        }
        let (_, out) = self.forward(x, None)?;
        Ok(out.squeeze(1)?)
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        self.grad_at_opt(x, None)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.energy_and_grad_at(x, None)
    }

    /// ∇ₓE above is ordinary ops on the weights: one `backward()` of a loss built on it is exact.
    fn grad_is_differentiable(&self) -> bool {
        true
    }

    fn has_energy_values(&self) -> bool {
        self.output == Output::Energy
    }

    fn time_conditioned(&self) -> bool {
        self.time_frequencies.is_some()
    }

    fn grad_at(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        self.grad_at_opt(x, Some(t))
    }
}

impl Model for Mlp {
    fn params(&self) -> Vec<Param> {
        self.params.clone()
    }

    /// On CPU with f32 weights, an energy head and no time input: the fused path (`fused/`),
    /// reading the same weight storage. Elsewhere the op-based view.
    fn detached(&self) -> Box<dyn Energy> {
        let ops = self.detached_ops();
        match self.fused() {
            Some(fused) => Box::new(FastView::new(ops, fused.clone())),
            None => Box::new(ops),
        }
    }

    fn input_shape(&self) -> Vec<usize> {
        vec![self.input_dim]
    }

    /// The fused path's backward (`fused/param_grad.rs`) where the sampling view is fused: an
    /// energy head without time input, CPU f32 weights and input. Elsewhere `None` (autograd).
    fn energy_param_grads(
        &self,
        x: &Tensor,
        weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<Option<(Vec<f32>, GradStore)>> {
        // Detached copies (`to_dtype`, `detached_ops`) have no parameters to differentiate.
        if self.params.len() != 2 * self.layers.len() {
            return Ok(None);
        }
        let Some(fused) = self.fused() else {
            return Ok(None);
        };
        let Some(pg) = fast_view::param_grads(fused, &self.layers, x, weights)? else {
            return Ok(None);
        };
        let mut store = GradStore::default();
        for (pair, (dw, db)) in self.params.chunks_exact(2).zip(pg.layers) {
            for (p, g) in pair.iter().zip([dw, db]) {
                let t = p.var.as_tensor();
                store.insert(t, Tensor::from_vec(g, t.shape(), t.device())?);
            }
        }
        Ok(Some((pg.energy, store)))
    }
}
