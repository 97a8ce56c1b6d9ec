//! The IGEBM-style ResNet energy (Du & Mordatch 2019), `[model] kind = "resnet"`:
//!
//! ```text
//! conv3×3 stem (C → channels[0])
//! stage s = 0, 1, …: [2×2 average pool if s > 0], blocks[s] × residual block (→ channels[s])
//! global sum (or mean) pool → Linear(channels[last], 1)
//! block(h) = φ(conv3×3(φ(conv3×3(h))) + skip(h)),  skip = 1×1 conv when the channels change
//! ```
//!
//! No normalisation layer that depends on the batch (an energy must score each sample on its
//! own); `spectral_norm = true` normalises every conv and the head instead.
//!
//! As for the conv energy, the trainable model uses candle's ops and autograd, and its sampling
//! view ([`Model::detached`]) on the CPU computes E and ∇ₓE by an explicit im2col + GEMM forward
//! and backward (`conv_fused::resnet`); [`ResNet::detached_autograd`] keeps candle's path.
//!
//! ```toml
//! [model]
//! kind = "resnet"
//! channels = [64, 128, 256]   # per stage
//! blocks = [2, 2, 2]          # residual blocks per stage
//! activation = "swish"
//! pool = "sum"
//! spectral_norm = true
//! ```

use crate::conv_fused::{FusedResNet, GroupPasses, LayerGrads, ResBlockSpec, RowWeights};
use crate::image_energy::ImageEnergy;
use crate::layer::{self, Act, Builder, Layer, Pool};
use crate::Activation;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use ebm_core::{Energy, Error, Model, Param, Result, Rng};
use ebm_kernels::Real;
use serde::{Deserialize, Serialize};

/// `[model] kind = "resnet"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResNetConfig {
    /// Channels of each stage; every stage after the first halves H and W first.
    #[serde(default = "default_channels")]
    pub channels: Vec<usize>,
    /// Residual blocks in each stage (as many entries as `channels`).
    #[serde(default = "default_blocks")]
    pub blocks: Vec<usize>,
    #[serde(default)]
    pub activation: Activation,
    /// β of `activation = "swish"`.
    #[serde(default = "one")]
    pub swish_beta: f64,
    #[serde(default)]
    pub spectral_norm: bool,
    /// IGEBM sums the last feature map.
    #[serde(default = "default_pool")]
    pub pool: Pool,
}

fn default_channels() -> Vec<usize> {
    vec![64, 128, 256]
}

fn default_blocks() -> Vec<usize> {
    vec![2, 2, 2]
}

fn default_pool() -> Pool {
    Pool::Sum
}

fn one() -> f64 {
    1.0
}

impl Default for ResNetConfig {
    fn default() -> Self {
        ResNetConfig {
            channels: default_channels(),
            blocks: default_blocks(),
            activation: Activation::default(),
            swish_beta: 1.0,
            spectral_norm: false,
            pool: default_pool(),
        }
    }
}

impl ResNetConfig {
    pub fn validate(&self) -> Result<()> {
        layer::validate_common(self.swish_beta)?;
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(Error::config(
                "model.channels",
                "needs at least one stage, every width > 0",
            ));
        }
        if self.blocks.len() != self.channels.len() {
            return Err(Error::config(
                "model.blocks",
                format!(
                    "needs one entry per stage of model.channels ({}), got {}",
                    self.channels.len(),
                    self.blocks.len()
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Block {
    conv1: Layer,
    conv2: Layer,
    skip: Option<Layer>,
}

impl Block {
    fn layers(&self) -> impl Iterator<Item = &Layer> {
        [&self.conv1, &self.conv2].into_iter().chain(&self.skip)
    }

    fn detached(&self) -> Block {
        Block {
            conv1: self.conv1.detached(),
            conv2: self.conv2.detached(),
            skip: self.skip.as_ref().map(Layer::detached),
        }
    }
}

/// An IGEBM-style ResNet energy; like [`crate::ConvNet`], the built model's forwards update the
/// spectral-norm estimates and its [`Model::detached`] views do not.
#[derive(Clone)]
pub struct ResNet {
    stem: Layer,
    /// Blocks per stage.
    stages: Vec<Vec<Block>>,
    head: Layer,
    act: Act,
    pool: Pool,
    input_shape: [usize; 3],
    params: Vec<Param>,
    training: bool,
    /// Whether E and ∇ₓE take the fused CPU path (a sampling view).
    fused: bool,
}

impl ResNet {
    /// A new network for images `input_shape = [C, H, W]`, with seeded initial weights.
    pub fn new(
        config: &ResNetConfig,
        input_shape: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        Self::new_with_dtype(config, input_shape, rng, device, DType::F32)
    }

    /// [`ResNet::new`] in `dtype` (the same draws, converted): f64 for finite differences.
    pub fn new_with_dtype(
        config: &ResNetConfig,
        input_shape: &[usize],
        rng: &mut Rng,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let [c, h, w] = layer::image_shape("resnet", input_shape)?;
        let factor = 1usize << (config.channels.len() - 1);
        if h % factor != 0 || w % factor != 0 {
            return Err(Error::config(
                "model.channels",
                format!(
                    "{} stages halve H and W {} times, so they must be multiples of {factor}; \
                     the images are {h}×{w}",
                    config.channels.len(),
                    config.channels.len() - 1
                ),
            ));
        }
        let mut b = Builder {
            rng,
            device,
            dtype,
            spectral_norm: config.spectral_norm,
            params: Vec::new(),
        };
        let stem = b.conv("stem".into(), (c, config.channels[0]), 3, 1, 1)?;
        let mut cin = config.channels[0];
        let mut stages = Vec::new();
        for (s, (&cout, &n)) in config.channels.iter().zip(&config.blocks).enumerate() {
            let mut blocks = Vec::new();
            for i in 0..n {
                let name = format!("stages.{s}.{i}");
                let conv1 = b.conv(format!("{name}.conv1"), (cin, cout), 3, 1, 1)?;
                let conv2 = b.conv(format!("{name}.conv2"), (cout, cout), 3, 1, 1)?;
                let skip = if cin != cout {
                    Some(b.conv(format!("{name}.skip"), (cin, cout), 1, 1, 0)?)
                } else {
                    None
                };
                blocks.push(Block { conv1, conv2, skip });
                cin = cout;
            }
            stages.push(blocks);
        }
        let head = b.linear("head".into(), cin, 1)?;
        Ok(ResNet {
            stem,
            stages,
            head,
            act: Act {
                activation: config.activation,
                beta: config.swish_beta,
            },
            pool: config.pool,
            input_shape: [c, h, w],
            params: b.params,
            training: true,
            fused: false,
        })
    }

    /// A detached view like [`Model::detached`] that keeps candle's ops and autograd: the
    /// reference the fused path is tested against.
    pub fn detached_autograd(&self) -> ResNet {
        ResNet {
            fused: false,
            ..self.detached_view()
        }
    }

    fn detached_view(&self) -> ResNet {
        ResNet {
            stem: self.stem.detached(),
            stages: self
                .stages
                .iter()
                .map(|blocks| blocks.iter().map(Block::detached).collect())
                .collect(),
            head: self.head.detached(),
            params: Vec::new(),
            training: false,
            fused: true,
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

    /// The weights the forward uses (W/σ(W) with spectral norm), by layer name.
    pub fn effective_weights(&self) -> Result<Vec<(String, Tensor)>> {
        self.effective_weights_all()
    }

    /// The spectral-norm vectors (`stem.weight_u`, …), state a checkpoint must keep.
    pub fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        self.buffers_all()
    }

    /// Restores [`ResNet::buffers`], checking names and shapes.
    pub fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.load_buffers_all(saved)
    }
}

impl ImageEnergy for ResNet {
    fn layers(&self) -> Vec<&Layer> {
        let blocks = self.stages.iter().flatten().flat_map(Block::layers);
        [&self.stem]
            .into_iter()
            .chain(blocks)
            .chain([&self.head])
            .collect()
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

impl ResNet {
    /// The fused network on `weights` (effective weights in `layers()` order).
    fn fused_net<T: Real>(&self, weights: &[Tensor]) -> Result<FusedResNet<T>> {
        let layers = self.layers();
        if weights.len() != layers.len() {
            return Err(Error::shape(
                "fused resnet",
                format!("{} weights for {} layers", weights.len(), layers.len()),
            ));
        }
        let spec = |i: usize| layers[i].conv_spec(&weights[i]);
        // `layers()` order: stem, then each block's conv1, conv2, [skip], then the head.
        let stem = spec(0)?;
        let mut i = 1;
        let mut stages = Vec::with_capacity(self.stages.len());
        for blocks in &self.stages {
            let mut specs = Vec::with_capacity(blocks.len());
            for block in blocks {
                let (conv1, conv2) = (spec(i)?, spec(i + 1)?);
                let skip = match block.skip {
                    Some(_) => Some(spec(i + 2)?),
                    None => None,
                };
                i += 2 + usize::from(skip.is_some());
                specs.push(ResBlockSpec { conv1, conv2, skip });
            }
            stages.push(specs);
        }
        FusedResNet::<T>::new(
            self.input_shape,
            &stem,
            &stages,
            (&weights[i], self.head.bias()),
            (self.act.activation, self.act.beta),
            self.pool,
        )
    }
}

impl Energy for ResNet {
    /// E(x) for `x: [B, C, H, W]` (or flat rows `[B, C·H·W]`).
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        if let Some((e, _)) = self.fused(x, false)? {
            return Ok(e);
        }
        let train = self.training;
        let mut h = self
            .stem
            .forward(&layer::as_images(x, self.input_shape)?, train)?;
        for (s, blocks) in self.stages.iter().enumerate() {
            if s > 0 {
                // kernel = stride = 2: the only average pool candle can differentiate.
                h = h.avg_pool2d(2)?;
            }
            for block in blocks {
                let z = self.act.apply(&block.conv1.forward(&h, train)?)?;
                let z = block.conv2.forward(&z, train)?;
                let skip = match &block.skip {
                    Some(p) => p.forward(&h, train)?,
                    None => h.clone(),
                };
                h = self.act.apply(&(z + skip)?)?;
            }
        }
        let pooled = self.pool.apply(&h)?;
        Ok(self.head.forward(&pooled, train)?.squeeze(1)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.fused_or_autograd(x)
    }
}

impl Model for ResNet {
    fn params(&self) -> Vec<Param> {
        self.params.clone()
    }

    fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        ResNet::buffers(self)
    }

    fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        ResNet::load_buffers(self, saved)
    }

    /// The fused backward (`conv_fused::resnet`) for the trainable model on CPU f32. Elsewhere
    /// `None` (autograd).
    fn energy_param_grads(
        &self,
        x: &Tensor,
        weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<Option<(Vec<f32>, GradStore)>> {
        self.energy_param_grads_fused(x, weights)
    }

    fn detached(&self) -> Box<dyn Energy> {
        Box::new(self.detached_view())
    }

    fn input_shape(&self) -> Vec<usize> {
        self.input_shape.to_vec()
    }
}
