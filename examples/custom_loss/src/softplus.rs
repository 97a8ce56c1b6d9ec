//! The logistic contrastive loss L = mean softplus(E(x⁺) − E(x⁻)), written as a user of ebm
//! would write a loss. Negatives x⁻ come from persistent chains (a `ChainBank`, which the
//! trainer checkpoints) advanced `k` sampler steps per training step. Unlike CD's linear
//! E(x⁺) − E(x⁻), softplus saturates once data sit well below the samples, so the energies
//! need no regulariser to stay bounded.

use candle_core::{DType, Tensor};
use ebm_core::{run_chains, ChainBank, Chains, Error, Loss, LossOut, Model, Result, TrainCtx};

/// `[loss] kind = "softplus_contrastive"`: `k` sampler steps per training step, and the chance
/// that a persistent chain restarts from N(0, I).
#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SoftplusContrastive {
    k: u64,
    reinit_prob: f64,
    #[serde(skip)]
    bank: Option<ChainBank>,
}

impl Default for SoftplusContrastive {
    fn default() -> Self {
        SoftplusContrastive {
            k: 10,
            reinit_prob: 0.01,
            bank: None,
        }
    }
}

impl Loss for SoftplusContrastive {
    fn name(&self) -> &'static str {
        "softplus_contrastive"
    }

    fn init(&mut self, shape: &[usize], rng: &mut ebm_core::Rng) -> Result<()> {
        self.bank = Some(ChainBank::new(10_000, shape, Default::default(), rng));
        Ok(())
    }

    fn forward(&mut self, model: &dyn Model, x: &Tensor, ctx: &mut TrainCtx) -> Result<LossOut> {
        let bank = (self.bank.as_mut())
            .ok_or_else(|| Error::plugin("softplus_contrastive", "no init()"))?;
        let drawn = bank.draw(x.dims()[0], self.reinit_prob, ctx.rng, x.device())?;
        let mut chains = Chains::new(drawn.x);
        let view = model.detached(); // sampling needs no parameter gradients
        run_chains(ctx.sampler, view.as_ref(), &mut chains, self.k, ctx.rng)?;
        bank.write_back(&drawn.slots, chains.x())?;
        let both = Tensor::cat(&[x, chains.x()], 0)?;
        let e = model.energy(&both)?.chunk(2, 0)?;
        // d = E(x⁺) − E(x⁻) row by row; softplus(d) = max(d, 0) + log(1 + e^−|d|) never overflows.
        let d = (&e[0] - &e[1])?;
        let loss = (d.relu()? + (d.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?;
        // The trainer's `energy_gap` column: mean E(x⁻) − E(x⁺).
        let gap = d.mean_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let metrics = vec![("energy_gap", -gap)];
        Ok(LossOut { loss, metrics })
    }

    fn chain_bank(&self) -> Option<&ChainBank> {
        self.bank.as_ref()
    }

    fn chain_bank_mut(&mut self) -> Option<&mut ChainBank> {
        self.bank.as_mut()
    }
}

fn build(args: &ebm_core::PluginArgs) -> Result<Box<dyn Loss>> {
    let loss: SoftplusContrastive = args.parse()?;
    let key = if loss.k == 0 { "k" } else { "reinit_prob" };
    if loss.k == 0 || !(0.0..=1.0).contains(&loss.reinit_prob) {
        let why = "k must be >= 1 and reinit_prob in [0, 1]";
        return Err(Error::config(format!("{}.{key}", args.section), why));
    }
    Ok(Box::new(loss))
}

ebm_core::register_loss!("softplus_contrastive", build);
