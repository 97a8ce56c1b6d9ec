//! One training step on one rank: batch → loss (with negatives) → backward → clip → AdamW.
//! Separate from the loop so a data-parallel strategy can put an all-reduce between backward and
//! the optimizer without touching either.

use crate::{Error, Result, Row, RunConfig, TrainState};
use ebm_core::{Schedule, TrainCtx};

/// Runs one step and returns its metrics. On non-finite values it returns `Error::Diverged`
/// before touching the weights.
pub fn train_step(state: &mut TrainState, config: &RunConfig) -> Result<Row> {
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
    let out = state.loss.forward(state.model.as_ref(), &batch, &mut ctx)?;
    let loss = out
        .loss
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?;
    let diverged = |what: String| Error::Diverged {
        step: step + 1,
        what,
        advice: String::new(),
    };
    if !loss.is_finite() {
        return Err(diverged(format!("the loss is {loss}")));
    }
    if let Some((name, v)) = out.metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(diverged(format!("{name} is {v}")));
    }
    let grads = out.loss.backward()?;
    let grad_norm = state.optim.grad_norm(&grads)?;
    if !grad_norm.is_finite() {
        return Err(diverged(format!("the gradient norm is {grad_norm}")));
    }
    state.optim.step(&grads, lr, grad_norm)?;
    state.step += 1;
    let mut values = vec![("loss".to_string(), loss)];
    values.extend(out.metrics.iter().map(|(k, v)| (k.to_string(), *v)));
    values.push(("grad_norm".into(), grad_norm));
    values.push(("lr".into(), lr));
    Ok(Row {
        step: state.step,
        values,
    })
}
