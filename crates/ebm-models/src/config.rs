//! `[model]`: which energy network to train.
//!
//! Input shapes: `conv` and `resnet` need image samples `[C, H, W]` and reject anything else with
//! a `model.kind` error. `mlp` takes any shape and flattens it (an MLP on `[C, H, W]` images sees
//! `C·H·W` inputs and reports that flat shape as its `input_shape`).

use crate::{ConvConfig, ConvNet, Mlp, MlpConfig, ResNet, ResNetConfig};
use candle_core::Device;
use ebm_core::{Model, Result, Rng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    Mlp(MlpConfig),
    /// Conv layers, global pool, linear head (default: the benchmark network).
    Conv(ConvConfig),
    /// IGEBM-style residual network.
    #[serde(rename = "resnet")]
    ResNet(ResNetConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Mlp(MlpConfig::default())
    }
}

impl ModelConfig {
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::Mlp(c) => c.validate(),
            ModelConfig::Conv(c) => c.validate(),
            ModelConfig::ResNet(c) => c.validate(),
        }
    }

    /// Builds the network for inputs of shape `input_shape` with seeded initial weights.
    pub fn build(
        &self,
        input_shape: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Box<dyn Model>> {
        match self {
            ModelConfig::Mlp(c) => Ok(Box::new(Mlp::new(
                c,
                input_shape.iter().product(),
                rng,
                device,
            )?)),
            ModelConfig::Conv(c) => Ok(Box::new(ConvNet::new(c, input_shape, rng, device)?)),
            ModelConfig::ResNet(c) => Ok(Box::new(ResNet::new(c, input_shape, rng, device)?)),
        }
    }
}
