//! The weighted layers of the image energies (2-D convolution, linear), each optionally
//! spectrally normalised, and what the conv and ResNet energies share at the layer level: seeded
//! parameter creation, image-shape checks, global pooling, spectral-norm buffers of one layer.
//! What they share as whole networks is in `image_energy.rs`.

use crate::conv_fused::ConvSpec;
use crate::spectral_norm::SpectralNorm;
use crate::{init, Activation};
use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{Error, Param, Result, Rng};
use serde::{Deserialize, Serialize};

/// How the last feature map becomes one vector per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// Global average over H×W.
    #[default]
    Mean,
    /// Global sum over H×W (IGEBM).
    Sum,
}

impl Pool {
    /// `[B, C, H, W]` → `[B, C]`.
    pub(crate) fn apply(self, h: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Pool::Mean => h.mean((2, 3))?,
            Pool::Sum => h.sum((2, 3))?,
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Conv { stride: usize, padding: usize },
    Linear,
}

/// A conv (`w: [out, in, k, k]`) or linear (`w: [out, in]`) layer with bias.
#[derive(Clone)]
pub(crate) struct Layer {
    name: String,
    w: Tensor,
    b: Tensor,
    kind: Kind,
    sn: Option<SpectralNorm>,
}

/// Creates layers with seeded PyTorch-default weights, U(−1/√fan_in, 1/√fan_in) for weight and
/// bias (what `nn.Conv2d`'s kaiming_uniform(a=√5) and `nn.Linear` give), and collects their
/// parameters in creation order.
pub(crate) struct Builder<'a> {
    pub rng: &'a mut Rng,
    pub device: &'a Device,
    pub dtype: DType,
    pub spectral_norm: bool,
    pub params: Vec<Param>,
}

impl Builder<'_> {
    fn layer(&mut self, name: String, shape: &[usize], kind: Kind) -> Result<Layer> {
        let fan_in: usize = shape[1..].iter().product();
        let w = init::linear_uniform(self.rng, shape, fan_in, self.device)?;
        let w = Var::from_tensor(&w.to_dtype(self.dtype)?)?;
        let b = init::linear_uniform(self.rng, &shape[..1], fan_in, self.device)?;
        let b = Var::from_tensor(&b.to_dtype(self.dtype)?)?;
        let sn = if self.spectral_norm {
            Some(SpectralNorm::new(w.as_tensor(), self.rng)?)
        } else {
            None
        };
        let layer = Layer {
            name: name.clone(),
            w: w.as_tensor().clone(),
            b: b.as_tensor().clone(),
            kind,
            sn,
        };
        self.params.push(Param {
            name: format!("{name}.weight"),
            var: w,
        });
        self.params.push(Param {
            name: format!("{name}.bias"),
            var: b,
        });
        Ok(layer)
    }

    /// A k×k convolution `cin → cout`.
    pub fn conv(
        &mut self,
        name: String,
        (cin, cout): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Layer> {
        self.layer(
            name,
            &[cout, cin, kernel, kernel],
            Kind::Conv { stride, padding },
        )
    }

    pub fn linear(&mut self, name: String, cin: usize, cout: usize) -> Result<Layer> {
        self.layer(name, &[cout, cin], Kind::Linear)
    }
}

impl Layer {
    /// The weight the forward uses: W, or W/σ(W) with spectral norm (`update`: one power
    /// iteration first, for a training forward).
    pub fn weight(&self, update: bool) -> Result<Tensor> {
        match &self.sn {
            Some(sn) => sn.normalise(&self.w, update),
            None => Ok(self.w.clone()),
        }
    }

    /// The layer on `x`, computed in `x`'s dtype: the weights are cast to it (a no-op when they
    /// already are; under `precision = "bf16"` autograd carries the gradients back through the
    /// cast to the f32 weights).
    pub fn forward(&self, x: &Tensor, update: bool) -> Result<Tensor> {
        let w = self.weight(update)?.to_dtype(x.dtype())?;
        let b = self.b.to_dtype(x.dtype())?;
        Ok(match self.kind {
            Kind::Conv { stride, padding } => {
                let b = b.reshape((1, b.dims()[0], 1, 1))?;
                x.conv2d(&w, padding, stride, 1, 1)?.broadcast_add(&b)?
            }
            Kind::Linear => x.matmul(&w.t()?)?.broadcast_add(&b)?,
        })
    }

    /// `[out]`
    pub fn bias(&self) -> &Tensor {
        &self.b
    }

    /// The conv's geometry with `weight` (its effective weight, [`Layer::weight`]) for the fused
    /// path; an error for a linear layer.
    pub fn conv_spec<'a>(&'a self, weight: &'a Tensor) -> Result<ConvSpec<'a>> {
        let Kind::Conv { stride, padding } = self.kind else {
            return Err(Error::shape(
                format!("layer {}", self.name),
                "is linear, the fused conv path needs a conv",
            ));
        };
        Ok(ConvSpec {
            weight,
            bias: &self.b,
            stride,
            padding,
        })
    }

    /// W itself (not normalised): what the power iteration runs on.
    pub fn raw_weight(&self) -> &Tensor {
        &self.w
    }

    pub fn dtype(&self) -> DType {
        self.w.dtype()
    }

    /// The same weights, untracked by autograd; the spectral-norm state stays shared.
    pub fn detached(&self) -> Layer {
        Layer {
            w: self.w.detach(),
            b: self.b.detach(),
            ..self.clone()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn spectral_norm(&self) -> Option<&SpectralNorm> {
        self.sn.as_ref()
    }

    /// `{name}.weight_u`, `{name}.weight_v` (PyTorch's buffer names) when spectrally normalised.
    pub fn buffers(&self, out: &mut Vec<(String, Tensor)>) -> Result<()> {
        if let Some(sn) = &self.sn {
            let (u, v) = sn.vectors()?;
            out.push((format!("{}.weight_u", self.name), u));
            out.push((format!("{}.weight_v", self.name), v));
        }
        Ok(())
    }

    pub fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        let Some(sn) = &self.sn else { return Ok(()) };
        let get = |what: &str| {
            let key = format!("{}.weight_{what}", self.name);
            saved(&key).ok_or_else(|| Error::State {
                what: "model".into(),
                message: format!("spectral-norm vector `{key}` missing"),
            })
        };
        sn.load(&self.name, &get("u")?, &get("v")?)
    }
}

/// Checks that a conv-type energy gets image inputs `[C, H, W]`.
pub(crate) fn image_shape(kind: &str, input_shape: &[usize]) -> Result<[usize; 3]> {
    match input_shape {
        [c, h, w] if *c > 0 && *h > 0 && *w > 0 => Ok([*c, *h, *w]),
        _ => Err(Error::config(
            "model.kind",
            format!(
                "`{kind}` needs image inputs [C, H, W], but the data's samples have shape \
                 {input_shape:?} (use `kind = \"mlp\"` for points)"
            ),
        )),
    }
}

/// `x` as `[B, C, H, W]`: image batches pass through, flat `[B, C·H·W]` rows are reshaped.
pub(crate) fn as_images(x: &Tensor, [c, h, w]: [usize; 3]) -> Result<Tensor> {
    let b = x.dims().first().copied().unwrap_or(0);
    if x.elem_count() != b * c * h * w {
        return Err(Error::shape(
            "image energy input",
            format!(
                "shape {:?} is not a batch of [{c}, {h}, {w}] images",
                x.dims()
            ),
        ));
    }
    Ok(x.reshape((b, c, h, w))?)
}

/// Fields shared by the conv and ResNet configs.
pub(crate) fn validate_common(swish_beta: f64) -> Result<()> {
    if !swish_beta.is_finite() {
        return Err(Error::config("model.swish_beta", "must be finite"));
    }
    Ok(())
}

/// The activation with its β, as the networks apply it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    pub activation: Activation,
    pub beta: f64,
}

impl Act {
    pub fn apply(self, z: &Tensor) -> Result<Tensor> {
        Ok(self.activation.apply(z, self.beta)?)
    }
}
