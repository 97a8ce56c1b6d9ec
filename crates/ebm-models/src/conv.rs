//! The conv energy (`[model] kind = "conv"`): conv → φ → … → conv → φ → global pool →
//! Linear(·, 1) on images `[B, C, H, W]`.
//!
//! The default layers are the issue's benchmark network (3→64 k3 p1, 64→128 k4 s2 p1,
//! 128→128 k4 s2 p1, SiLU, global average pool, Linear 128→1):
//!
//! ```toml
//! [model]
//! kind = "conv"
//! activation = "silu"      # silu | swish (with swish_beta) | elu | tanh | softplus
//! pool = "mean"            # mean | sum
//! spectral_norm = false    # W/σ(W) on every conv and the head
//! layers = [
//!   { channels = 64, kernel = 3, padding = 1 },
//!   { channels = 128, kernel = 4, stride = 2, padding = 1 },
//!   { channels = 128, kernel = 4, stride = 2, padding = 1 },
//! ]
//! ```
//!
//! Two ways to compute E and ∇ₓE:
//! - the trainable model ([`ConvNet::new`]) uses candle's ops and the autograd default of
//!   [`Energy`], so losses can differentiate its energies with respect to the weights;
//! - its sampling view ([`Model::detached`]) on the CPU uses an explicit forward and backward in
//!   im2col + GEMM form (`conv_fused`): candle's CPU conv backward goes through
//!   `conv_transpose2d`, which made ∇ₓE of the benchmark network 6–40× slower than PyTorch's.
//!   With spectral norm it reads W/σ at the current estimate (no power iteration), as the
//!   autograd view does. Other devices and dtypes fall back to candle's ops and autograd;
//!   [`ConvNet::detached_autograd`] forces that path (tests and benches compare the two).

use crate::conv_fused::{FusedConvNet, GroupPasses, LayerGrads};
use crate::image_energy::{ImageEnergy, RowWeights};
use crate::layer::{self, Act, Builder, Layer, Pool};
use crate::Activation;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use ebm_core::{Energy, Error, Model, Param, Result, Rng};
use ebm_kernels::Real;
use serde::{Deserialize, Serialize};

/// One entry of `model.layers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvLayerConfig {
    /// Output channels.
    pub channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    #[serde(default = "one_usize")]
    pub stride: usize,
    /// Zero padding on every side.
    #[serde(default)]
    pub padding: usize,
}

/// `[model] kind = "conv"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvConfig {
    #[serde(default = "benchmark_layers")]
    pub layers: Vec<ConvLayerConfig>,
    #[serde(default)]
    pub activation: Activation,
    /// β of `activation = "swish"`.
    #[serde(default = "one")]
    pub swish_beta: f64,
    /// Spectral normalisation of every conv and of the linear head.
    #[serde(default)]
    pub spectral_norm: bool,
    #[serde(default)]
    pub pool: Pool,
}

fn one() -> f64 {
    1.0
}

fn one_usize() -> usize {
    1
}

/// The issue's benchmark network (for 3-channel 32×32 images: 395 393 parameters).
pub fn benchmark_layers() -> Vec<ConvLayerConfig> {
    let l = |channels, kernel, stride| ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding: 1,
    };
    vec![l(64, 3, 1), l(128, 4, 2), l(128, 4, 2)]
}

impl Default for ConvConfig {
    fn default() -> Self {
        ConvConfig {
            layers: benchmark_layers(),
            activation: Activation::default(),
            swish_beta: 1.0,
            spectral_norm: false,
            pool: Pool::default(),
        }
    }
}

impl ConvConfig {
    pub fn validate(&self) -> Result<()> {
        layer::validate_common(self.swish_beta)?;
        if self.layers.is_empty() {
            return Err(Error::config(
                "model.layers",
                "needs at least one conv layer",
            ));
        }
        for (i, l) in self.layers.iter().enumerate() {
            for (key, value) in [
                ("channels", l.channels),
                ("kernel", l.kernel),
                ("stride", l.stride),
            ] {
                if value == 0 {
                    return Err(Error::config(
                        format!("model.layers[{i}].{key}"),
                        "must be > 0",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A conv energy. Built by [`ConvNet::new`] it owns trainable parameters and its forwards update
/// the spectral-norm estimates; [`Model::detached`] gives a view of the same weights for sampling
/// that updates nothing.
#[derive(Clone)]
pub struct ConvNet {
    convs: Vec<Layer>,
    head: Layer,
    act: Act,
    pool: Pool,
    input_shape: [usize; 3],
    params: Vec<Param>,
    /// Whether forwards run a power iteration (the trainable model, not a detached view).
    training: bool,
    /// Whether E and ∇ₓE take the fused CPU path (a sampling view).
    fused: bool,
}

impl ConvNet {
    /// A new network for images `input_shape = [C, H, W]`, with seeded initial weights.
    pub fn new(
        config: &ConvConfig,
        input_shape: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        Self::new_with_dtype(config, input_shape, rng, device, DType::F32)
    }

    /// [`ConvNet::new`] in `dtype` (the same draws, converted): f64 for finite differences.
    pub fn new_with_dtype(
        config: &ConvConfig,
        input_shape: &[usize],
        rng: &mut Rng,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let [c, mut h, mut w] = layer::image_shape("conv", input_shape)?;
        let mut b = Builder {
            rng,
            device,
            dtype,
            spectral_norm: config.spectral_norm,
            params: Vec::new(),
        };
        let (mut cin, mut convs) = (c, Vec::new());
        for (i, l) in config.layers.iter().enumerate() {
            let out = |n: usize| {
                (n + 2 * l.padding)
                    .checked_sub(l.kernel)
                    .map(|d| d / l.stride + 1)
            };
            let (Some(oh), Some(ow)) = (out(h), out(w)) else {
                return Err(Error::config(
                    format!("model.layers[{i}].kernel"),
                    format!(
                        "kernel {} is larger than the padded {h}×{w} feature map it gets",
                        l.kernel
                    ),
                ));
            };
            (h, w) = (oh, ow);
            convs.push(b.conv(
                format!("convs.{i}"),
                (cin, l.channels),
                l.kernel,
                l.stride,
                l.padding,
            )?);
            cin = l.channels;
        }
        let head = b.linear("head".into(), cin, 1)?;
        Ok(ConvNet {
            convs,
            head,
            act: Act {
                activation: config.activation,
                beta: config.swish_beta,
            },
            pool: config.pool,
            input_shape: [c, input_shape[1], input_shape[2]],
            params: b.params,
            training: true,
            fused: false,
        })
    }

    /// A detached view like [`Model::detached`] that keeps candle's ops and autograd instead of
    /// the fused path: the reference the fused path is tested and benchmarked against.
    pub fn detached_autograd(&self) -> ConvNet {
        ConvNet {
            convs: self.convs.iter().map(Layer::detached).collect(),
            head: self.head.detached(),
            params: Vec::new(),
            training: false,
            fused: false,
            ..self.clone()
        }
    }

    /// E and the gradients of Σᵢ cᵢ·E(xᵢ) (c = `weights(E)`) with respect to every parameter, in
    /// [`Model::params`] order, by the fused CPU backward, in the weights' dtype `T`, with the
    /// power iteration a training forward runs: what [`Model::energy_param_grads`] uses, open
    /// to tests against autograd in f64.
    pub fn fused_param_grads<T: Real>(
        &self,
        x: &Tensor,
        weights: &mut RowWeights<'_, T>,
    ) -> Result<(Vec<T>, Vec<Tensor>)> {
        let (e, grads) = ImageEnergy::fused_param_grads(self, x, weights)?;
        Ok((e, grads.into_iter().flat_map(|(w, b)| [w, b]).collect()))
    }

    /// `n` extra power iterations on every spectrally normalised layer.
    pub fn power_iterate(&self, n: usize) -> Result<()> {
        self.power_iterate_all(n)
    }

    /// The weights the forward uses (W/σ(W) with spectral norm, at the current estimate), by
    /// layer name.
    pub fn effective_weights(&self) -> Result<Vec<(String, Tensor)>> {
        self.effective_weights_all()
    }

    /// State that is not a parameter but belongs in a checkpoint: the spectral-norm vectors
    /// (`convs.0.weight_u`, `convs.0.weight_v`, …; empty without spectral norm).
    pub fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        self.buffers_all()
    }

    /// Restores [`ConvNet::buffers`], checking names and shapes.
    pub fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.load_buffers_all(saved)
    }
}

impl ImageEnergy for ConvNet {
    fn layers(&self) -> Vec<&Layer> {
        self.convs.iter().chain([&self.head]).collect()
    }

    fn image_shape(&self) -> [usize; 3] {
        self.input_shape
    }

    fn fused_view(&self) -> bool {
        self.fused
    }

    fn trainable(&self) -> bool {
        self.training
    }

    fn run_fused<T: Real>(
        &self,
        weights: &[Tensor],
        x: &[T],
        want_grad: bool,
    ) -> Result<(Vec<T>, Option<Vec<T>>)> {
        self.fused_net(weights)?.run(x, want_grad)
    }

    fn run_fused_param_grads<T: Real>(
        &self,
        weights: &[Tensor],
        x: &[T],
        c: &mut RowWeights<'_, T>,
    ) -> Result<(Vec<T>, Vec<LayerGrads<T>>)> {
        self.fused_net(weights)?.param_grads(x, c)
    }
}

impl ConvNet {
    /// The fused network on `weights` (effective weights in `layers()` order).
    fn fused_net<T: Real>(&self, weights: &[Tensor]) -> Result<FusedConvNet<T>> {
        // `layers()` order: the convs, then the head.
        let (head_w, conv_ws) = weights
            .split_last()
            .ok_or_else(|| Error::shape("fused conv", "no weights"))?;
        let specs = self
            .convs
            .iter()
            .zip(conv_ws)
            .map(|(l, w)| l.conv_spec(w))
            .collect::<Result<Vec<_>>>()?;
        FusedConvNet::<T>::new(
            self.input_shape,
            &specs,
            (head_w, self.head.bias()),
            (self.act.activation, self.act.beta),
            self.pool,
        )
    }
}

impl Energy for ConvNet {
    /// E(x) for `x: [B, C, H, W]` (or flat rows `[B, C·H·W]`).
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        if let Some((e, _)) = self.fused(x, false)? {
            return Ok(e);
        }
        let mut h = layer::as_images(x, self.input_shape)?;
        for conv in &self.convs {
            h = self.act.apply(&conv.forward(&h, self.training)?)?;
        }
        let pooled = self.pool.apply(&h)?;
        Ok(self.head.forward(&pooled, self.training)?.squeeze(1)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.fused_or_autograd(x)
    }
}

impl Model for ConvNet {
    fn params(&self) -> Vec<Param> {
        self.params.clone()
    }

    fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        ConvNet::buffers(self)
    }

    fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        ConvNet::load_buffers(self, saved)
    }

    /// The fused backward (`conv_fused`) for the trainable model on CPU f32: candle's CPU conv
    /// backward is the slow part of a training step. Elsewhere `None` (autograd).
    fn energy_param_grads(
        &self,
        x: &Tensor,
        weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<Option<(Vec<f32>, GradStore)>> {
        self.energy_param_grads_fused(x, weights)
    }

    fn detached(&self) -> Box<dyn Energy> {
        Box::new(ConvNet {
            convs: self.convs.iter().map(Layer::detached).collect(),
            head: self.head.detached(),
            params: Vec::new(),
            training: false,
            fused: true,
            ..self.clone()
        })
    }

    fn input_shape(&self) -> Vec<usize> {
        self.input_shape.to_vec()
    }
}
