//! `Loss`: model + data batch → a scalar to minimise and the metrics to watch. Losses that need
//! negative samples (contrastive divergence) get the sampler through `TrainCtx` and own their chain
//! bank, which the trainer reaches through `chain_bank{,_mut}` to checkpoint it.

use crate::{ChainBank, Model, Result, Rng, Sampler};
use candle_core::backprop::GradStore;
use candle_core::Tensor;

/// What a loss may use besides the model and the batch.
pub struct TrainCtx<'a> {
    /// Training step (0-based).
    pub step: u64,
    /// The configured sampler, for losses that draw negatives.
    pub sampler: &'a mut dyn Sampler,
    /// The stream for sampling noise and chain re-initialisation.
    pub rng: &'a mut Rng,
}

/// A loss value (a scalar tensor tracked by autograd) and named metrics.
pub struct LossOut {
    pub loss: Tensor,
    pub metrics: Vec<(&'static str, f64)>,
}

pub trait Loss: Send {
    /// The registry name (`[loss] kind = "..."`).
    fn name(&self) -> &'static str;

    /// Called once before training (and before a checkpoint is restored) with the shape of one
    /// sample, so losses can allocate state such as their chain bank.
    fn init(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<()> {
        let _ = (input_shape, rng);
        Ok(())
    }

    /// Called once with the model before training: a loss that needs something of it (energy
    /// values, a time input) says so here, as a config error naming the `[model]` key.
    fn check_model(&self, model: &dyn Model) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// Whether [`Loss::fit_data`] should be called (it costs a copy of the training set).
    fn needs_data(&self) -> bool {
        false
    }

    /// Called once before training (and again on resume) with the whole training set `[N, ...]`,
    /// the same on every rank, for losses whose noise distribution is fitted to the data
    /// (noise-contrastive estimation). `rng` is a stream of its own, so the fit is reproducible.
    fn fit_data(&mut self, train: &Tensor, rng: &mut Rng) -> Result<()> {
        let _ = (train, rng);
        Ok(())
    }

    fn forward(&mut self, model: &dyn Model, batch: &Tensor, ctx: &mut TrainCtx)
        -> Result<LossOut>;

    /// [`Loss::forward`] together with the parameter gradients of the loss, for losses that can
    /// get them without autograd (through [`Model::energy_param_grads`]). `None` (the default)
    /// means nothing was done: the caller runs `forward` and `backward()`. A loss that returns
    /// `Some` must give the same loss, metrics and gradients as that pair, to f32 rounding.
    fn forward_with_grads(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<Option<(LossOut, GradStore)>> {
        let _ = (model, batch, ctx);
        Ok(None)
    }

    /// The persistent chains this loss keeps, if any (saved in checkpoints).
    fn chain_bank(&self) -> Option<&ChainBank> {
        None
    }

    fn chain_bank_mut(&mut self) -> Option<&mut ChainBank> {
        None
    }
}
