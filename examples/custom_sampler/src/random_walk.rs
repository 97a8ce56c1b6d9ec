//! Random-walk Metropolis, written as a user of ebm would write a sampler: propose y = x + σ·ε,
//! accept with probability min(1, exp(E(x) − E(y))). Exact for any energy, no gradients needed.

use candle_core::DType;
use ebm_core::{rng, Chains, Energy, Error, PluginArgs, Result, Sampler, StepCtx, StepInfo};

/// `[sampler] kind = "random_walk"`, `scale = σ`. The parameters are the whole sampler.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomWalk {
    scale: f64,
}

impl Sampler for RandomWalk {
    fn name(&self) -> &'static str {
        "random_walk"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let x = chains.x();
        let y = (x + (rng::randn(ctx.rng, x.dims(), x.device())? * self.scale)?)?;
        let u = rng::rand_uniform(ctx.rng, &[x.dims()[0]], 0.0, 1.0, x.device())?;
        let accept = u.log()?.lt(&(energy.energy(x)? - energy.energy(&y)?)?)?;
        let next = accept
            .unsqueeze(1)?
            .broadcast_as(x.shape())?
            .where_cond(&y, x)?;
        let rate = accept
            .to_dtype(DType::F64)?
            .mean_all()?
            .to_scalar::<f64>()?;
        chains.set_x(next);
        Ok(StepInfo {
            acceptance_rate: Some(rate),
        })
    }
}

fn build(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
    let sampler: RandomWalk = args.parse()?;
    if !(sampler.scale > 0.0) {
        return Err(Error::config(
            format!("{}.scale", args.section),
            "must be > 0",
        ));
    }
    Ok(Box::new(sampler))
}

ebm_core::register_sampler!("random_walk", build);
