//! Random-walk Metropolis, written as a user of ebm would write a sampler: propose y = x + σ·ε,
//! accept with probability min(1, exp(E(x) − E(y))). Exact for any energy, no gradients needed.
//! It keeps E at the chains' positions in their cache, as the built-in samplers do, so each
//! step evaluates the energy once (at the proposal), and it works on chains of any shape.

use candle_core::{DType, Tensor};
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
        let e_x = match &chains.energy {
            Some(e) => e.clone(),
            None => energy.energy(x)?,
        };
        let y = (x + (rng::randn(ctx.rng, x.dims(), x.device())? * self.scale)?)?;
        let e_y = energy.energy(&y)?;
        let u = rng::rand_uniform(ctx.rng, &[x.dims()[0]], 0.0, 1.0, x.device())?;
        let accept = u.log()?.lt(&(&e_x - &e_y)?)?; // [B]
        let rate = accept
            .to_dtype(DType::F64)?
            .mean_all()?
            .to_scalar::<f64>()?;
        // One flag per chain, as [B, 1, 1, ...] so it broadcasts over a chain of any shape.
        let mut flag_shape = vec![1; x.rank()];
        flag_shape[0] = x.dims()[0];
        let pick = |on: &Tensor, off: &Tensor| {
            accept
                .reshape(flag_shape.as_slice())?
                .broadcast_as(on.shape())?
                .where_cond(on, off)
        };
        let next = pick(&y, x)?;
        let e_next = accept.where_cond(&e_y, &e_x)?;
        chains.set_x_cached(next, Some(e_next), None);
        Ok(StepInfo::with_acceptance(rate))
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
