//! An exponential moving average of the weights (`[optim] ema_decay`), the model that samples
//! and evaluates when it is on: θ̄ ← d·θ̄ + (1 − d)·θ after every optimizer step, θ̄₀ = θ₀.
//!
//! Why: in image EBMs (Improved CD, Du et al. 2021; most diffusion and GAN code) the averaged
//! weights give smoother energies and better samples than the last iterate, which jitters with
//! every noisy contrastive step. Training itself is unchanged: the negatives of the loss still
//! come from the trained weights.
//!
//! The averaged weights live in a second model of the same architecture (built from the same
//! config), so its sampling view is the usual fused one. They are saved in checkpoints as
//! `ema.{name}` and restored exactly. Spectral-norm vectors (u, v) are not averaged: the view
//! reads the trained model's current estimate, which is where the averaged weights also sit.

use crate::{Error, Result};
use candle_core::Tensor;
use ebm_core::{Energy, Model};
use std::path::Path;

/// The averaged model and its decay.
pub struct Ema {
    decay: f64,
    model: Box<dyn Model>,
}

/// Checkpoint key of one averaged parameter.
fn key(name: &str) -> String {
    format!("ema.{name}")
}

impl Ema {
    /// Starts the average at `trained`'s current weights; `fresh` is a model of the same
    /// architecture (its own weights are overwritten).
    pub fn new(decay: f64, fresh: Box<dyn Model>, trained: &dyn Model) -> Result<Self> {
        let ema = Ema {
            decay,
            model: fresh,
        };
        ema.reset_to(trained)?;
        Ok(ema)
    }

    /// θ̄ ← θ (a copy, not shared storage).
    pub fn reset_to(&self, trained: &dyn Model) -> Result<()> {
        for (avg, p) in self.model.params().iter().zip(trained.params()) {
            avg.var.set(&p.var.as_tensor().copy()?)?;
        }
        Ok(())
    }

    /// θ̄ ← d·θ̄ + (1 − d)·θ, after an optimizer step of `trained`.
    pub fn update(&self, trained: &dyn Model) -> Result<()> {
        let d = self.decay;
        for (avg, p) in self.model.params().iter().zip(trained.params()) {
            let next = ((avg.var.as_tensor() * d)? + (p.var.as_tensor() * (1.0 - d))?)?;
            avg.var.set(&next)?;
        }
        Ok(())
    }

    /// The averaged weights as checkpoint tensors (`ema.{name}`).
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        self.model
            .params()
            .iter()
            .map(|p| Ok((key(&p.name), p.var.as_tensor().copy()?)))
            .collect()
    }

    /// Restores [`Ema::state`] from a checkpoint (`path` for errors). A checkpoint written
    /// without EMA has no `ema.*` tensors: the average then restarts at the restored weights,
    /// with a warning, so that turning EMA on for a resumed run works.
    pub fn load(
        &self,
        saved: &dyn Fn(&str) -> Option<Tensor>,
        trained: &dyn Model,
        path: &Path,
    ) -> Result<()> {
        let params = self.model.params();
        if params.iter().all(|p| saved(&key(&p.name)).is_none()) {
            tracing::warn!(
                checkpoint = %path.display(),
                "the checkpoint has no averaged weights (`ema.*`): the EMA restarts at its weights"
            );
            return self.reset_to(trained);
        }
        self.model
            .load_params(&|name| saved(&key(name)))
            .map_err(|e| Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("averaged weights (optim.ema_decay): {e}"),
            })
    }

    /// The sampling view of the averaged weights, with `trained`'s spectral-norm vectors.
    pub fn view(&self, trained: &dyn Model) -> Result<Box<dyn Energy>> {
        let buffers = trained.buffers()?;
        self.model.load_buffers(&|name| {
            buffers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
        })?;
        Ok(self.model.detached())
    }

    /// The averaged model itself.
    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }
}
