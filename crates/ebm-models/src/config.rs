//! `[model]`: which energy network to train.

use crate::{Mlp, MlpConfig};
use candle_core::Device;
use ebm_core::{Model, Result, Rng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    Mlp(MlpConfig),
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
        }
    }
}
