//! The MLP energy: Linear → φ → … → Linear(·, 1), E(x) = the scalar output.
//!
//! ∇ₓE is computed by explicit forward ops instead of autograd: with pre-activations zₗ,
//! g ← w_out; for each hidden layer from the top, g ← (g ⊙ φ'(zₗ)) Wₗ. That is the same arithmetic
//! backprop does, but builds no graph and never touches parameter gradients, and because it is made
//! of ordinary differentiable ops, losses that need ∇ₓE inside the objective (score matching) can
//! still differentiate it with respect to the weights.

use crate::{init, Activation};
use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{Energy, Model, Param, Result, Rng};
use serde::{Deserialize, Serialize};

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
        }
    }
}

impl MlpConfig {
    pub fn validate(&self) -> Result<()> {
        if self.hidden.contains(&0) {
            return Err(ebm_core::Error::config(
                "model.hidden",
                "layer widths must be > 0",
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
    params: Vec<Param>,
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
        let mut widths = vec![input_dim];
        widths.extend(&config.hidden);
        widths.push(1);
        let (mut layers, mut params) = (Vec::new(), Vec::new());
        for (i, pair) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let w = init::linear_uniform(rng, &[fan_out, fan_in], fan_in, device)?;
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
        Ok(Mlp {
            layers,
            activation: config.activation,
            beta: config.swish_beta,
            input_dim,
            params,
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
        Ok(Mlp {
            layers,
            params: Vec::new(),
            ..self.clone()
        })
    }

    /// Pre-activations of the hidden layers and the output `[B, 1]`.
    fn forward(&self, x: &Tensor) -> Result<(Vec<Tensor>, Tensor)> {
        let b = x.dims().first().copied().unwrap_or(0);
        let mut h = x.reshape((b, self.input_dim))?;
        let mut pre = Vec::with_capacity(self.layers.len() - 1);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            let z = h.matmul(&l.w.t()?)?.broadcast_add(&l.b)?;
            if i == last {
                return Ok((pre, z));
            }
            h = self.activation.apply(&z, self.beta)?;
            pre.push(z);
        }
        unreachable!("an MLP always has an output layer")
    }
}

impl Energy for Mlp {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (_, out) = self.forward(x)?;
        Ok(out.squeeze(1)?)
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (pre, out) = self.forward(x)?;
        let batch = out.dims()[0];
        // dE/dh of the last hidden layer is the output row w_out, the same for every sample.
        let w_out = &self.layers[self.layers.len() - 1].w;
        let mut g = w_out.broadcast_as((batch, w_out.dims()[1]))?;
        for (l, z) in self.layers.iter().zip(&pre).rev() {
            g = (g * self.activation.derivative(z, self.beta)?)?.matmul(&l.w)?;
        }
        Ok((out.squeeze(1)?, g.reshape(x.shape())?))
    }

    /// ∇ₓE above is ordinary ops on the weights: one `backward()` of a loss built on it is exact.
    fn grad_is_differentiable(&self) -> bool {
        true
    }
}

impl Model for Mlp {
    fn params(&self) -> Vec<Param> {
        self.params.clone()
    }

    fn detached(&self) -> Box<dyn Energy> {
        let layers = self
            .layers
            .iter()
            .map(|l| Dense {
                w: l.w.detach(),
                b: l.b.detach(),
            })
            .collect();
        Box::new(Mlp {
            layers,
            params: Vec::new(),
            ..self.clone()
        })
    }

    fn input_shape(&self) -> Vec<usize> {
        vec![self.input_dim]
    }
}
