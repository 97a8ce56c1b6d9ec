//! The fixed-step driver: `n_steps` equal steps of any [`Integrator`] from `t0` to `t1` (either
//! direction), drawing the SDE noise g·√|dt|·ε from a seeded stream when asked.

use candle_core::Tensor;
use ebm_core::{rng, Drift, Error, Integrator, Result, Rng};

/// Integrates dx = f(x, t) dt (+ g dW when `noise = Some((rng, g))`) with `n_steps` equal steps.
/// Noise is drawn in `x`'s shape and dtype, one increment per step, from `rng` only.
pub fn integrate(
    integrator: &dyn Integrator,
    drift: &Drift,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    n_steps: usize,
    mut noise: Option<(&mut Rng, f64)>,
) -> Result<Tensor> {
    let invalid = |message: String| {
        Error::invalid_argument(format!("integrate with {}", integrator.name()), message)
    };
    if n_steps == 0 {
        return Err(invalid("n_steps must be >= 1, got 0".into()));
    }
    if !(t0.is_finite() && t1.is_finite()) {
        return Err(invalid(format!("times must be finite, got [{t0}, {t1}]")));
    }
    if let Some((_, g)) = &noise {
        if !(g.is_finite() && *g >= 0.0) {
            return Err(invalid(format!(
                "diffusion g must be finite and >= 0, got {g}"
            )));
        }
    }
    let dt = (t1 - t0) / n_steps as f64;
    let mut x = x0.clone();
    for i in 0..n_steps {
        let t = t0 + i as f64 * dt;
        let dw = match noise.as_mut() {
            Some((rng, g)) => {
                let eps = rng::randn(rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
                Some((eps * (*g * dt.abs().sqrt()))?)
            }
            None => None,
        };
        x = integrator.step(drift, &x, t, dt, dw.as_ref())?;
    }
    Ok(x)
}
