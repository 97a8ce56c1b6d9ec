//! One training step: batch → loss (with negatives) → backward → [all-reduce] → clip → AdamW.
//! Separate from the loop, and the execution strategy is only the collective passed in: with
//! [`ebm_dist::SingleRank`] the step is the single-device one, with a group of N ranks the
//! gradients and metrics are averaged across ranks between backward and the optimizer.

use crate::dist::grads;
use crate::{Error, Result, Row, RunConfig, TrainState};
use ebm_core::{Schedule, TrainCtx};
use ebm_dist::{Collective, SingleRank};

/// Runs one single-device step and returns its metrics. On non-finite values it returns
/// `Error::Diverged` before touching the weights.
pub fn train_step(state: &mut TrainState, config: &RunConfig) -> Result<Row> {
    train_step_on(state, config, &SingleRank)
}

/// One data-parallel step: every rank of `coll` calls it with its own batch. Gradients are
/// averaged in one bucket, so the clipping norm is the global one and every rank takes the
/// same AdamW step; the returned metrics are the mean over ranks (identical on every rank). A
/// non-finite value on any rank makes every rank return `Error::Diverged` at the same step.
pub fn train_step_on(
    state: &mut TrainState,
    config: &RunConfig,
    coll: &dyn Collective,
) -> Result<Row> {
    let step = state.step;
    let batch = state
        .batcher
        .next_batch(&mut state.rng_batches, &state.device)?;
    let lr = config.optim.lr.value(step);
    let mut ctx = TrainCtx {
        step,
        sampler: state.sampler.as_mut(),
        rng: &mut state.rng_sampler,
    };
    // A loss with its own parameter gradients (contrastive divergence on the fused MLP) skips
    // autograd; the store is keyed like backward()'s, so what follows is the same either way.
    let model = state.model.as_ref();
    let (out, mut grads) = match state.loss.forward_with_grads(model, &batch, &mut ctx)? {
        Some(done) => done,
        None => {
            let out = state.loss.forward(model, &batch, &mut ctx)?;
            let grads = out.loss.backward()?;
            (out, grads)
        }
    };
    let loss = out
        .loss
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?;
    let diverged = |what: String| Error::Diverged {
        step: step + 1,
        what,
        advice: String::new(),
    };
    // Scalars logged: the loss, then the loss's own metrics.
    let mut scalars: Vec<f64> = std::iter::once(loss)
        .chain(out.metrics.iter().map(|(_, v)| *v))
        .collect();
    if coll.world_size() > 1 {
        grads::all_reduce_mean(coll, state.optim.params(), &mut grads, &mut scalars)?;
    }
    let loss = scalars[0];
    if !loss.is_finite() {
        return Err(diverged(format!("the loss is {loss}")));
    }
    let names = out.metrics.iter().map(|(k, _)| *k);
    let metrics: Vec<(&str, f64)> = names.zip(scalars[1..].iter().copied()).collect();
    if let Some((name, v)) = metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(diverged(format!("{name} is {v}")));
    }
    let bound = config.train.max_abs_energy;
    let too_large = |(name, v): &&(&str, f64)| name.starts_with("e_") && v.abs() > bound;
    if let Some((name, v)) = metrics.iter().find(too_large) {
        return Err(diverged(format!(
            "the mean energy {name} = {v:.4e} exceeds train.max_abs_energy = {bound:e}"
        )));
    }
    let grad_norm = state.optim.grad_norm(&grads)?;
    if !grad_norm.is_finite() {
        return Err(diverged(format!("the gradient norm is {grad_norm}")));
    }
    state.optim.step(&grads, lr, grad_norm)?;
    if let Some(ema) = &state.ema {
        ema.update(state.model.as_ref())?;
    }
    state.step += 1;
    let mut values = vec![("loss".to_string(), loss)];
    values.extend(metrics.iter().map(|(k, v)| (k.to_string(), *v)));
    values.push(("grad_norm".into(), grad_norm));
    values.push(("lr".into(), lr));
    Ok(Row {
        step: state.step,
        values,
    })
}
