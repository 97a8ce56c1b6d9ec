//! Dormand–Prince 5(4): a fifth-order step with an embedded fourth-order error estimate.
//! As an [`Integrator`], `step` takes one fixed step of the fifth-order solution (the trait is
//! not adaptive). [`integrate_adaptive`] / [`Dopri5::integrate_adaptive`] choose the step size
//! from the error estimate (Hairer–Nørsett–Wanner II.4: scaled RMS norm, safety 0.9, step ratio
//! in [0.2, 10]), reusing the last stage as the next first one (FSAL: 6 drift evaluations per
//! accepted step), and stop with an error after `max_steps` attempts.

use crate::butcher::{rk_step, DOPRI5};
use candle_core::{DType, Tensor};
use ebm_core::{Drift, Error, Integrator, PluginArgs, Result};
use serde::{Deserialize, Serialize};

/// `[integrator] kind = "dopri5"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dopri5Params {
    /// Relative tolerance on each component's local error.
    pub rtol: f64,
    /// Absolute tolerance on each component's local error.
    pub atol: f64,
    /// Attempted (accepted + rejected) steps before giving up.
    pub max_steps: usize,
}

impl Default for Dopri5Params {
    /// rtol = atol = 1e-5 (the probability-flow ODE sampler of Song et al. 2021) and 10,000
    /// attempted steps.
    fn default() -> Self {
        Dopri5Params {
            rtol: 1e-5,
            atol: 1e-5,
            max_steps: 10_000,
        }
    }
}

impl Dopri5Params {
    pub fn validate(&self, section: &str) -> Result<()> {
        if !(self.rtol >= 0.0 && self.rtol.is_finite()) {
            return Err(Error::config(
                format!("{section}.rtol"),
                format!("must be finite and >= 0, got {}", self.rtol),
            ));
        }
        // A component at 0 has no relative scale, so atol must give it one.
        if !(self.atol > 0.0 && self.atol.is_finite()) {
            return Err(Error::config(
                format!("{section}.atol"),
                format!("must be finite and > 0, got {}", self.atol),
            ));
        }
        if self.max_steps == 0 {
            return Err(Error::config(
                format!("{section}.max_steps"),
                "must be >= 1",
            ));
        }
        Ok(())
    }
}

/// What an adaptive integration did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Accepted steps.
    pub steps: usize,
    /// Rejected (retried with a smaller step) attempts.
    pub rejected: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Dopri5 {
    params: Dopri5Params,
}

impl Dopri5 {
    pub fn new(params: Dopri5Params) -> Result<Self> {
        params.validate("integrator")?;
        Ok(Dopri5 { params })
    }

    pub fn params(&self) -> &Dopri5Params {
        &self.params
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
        let params: Dopri5Params = args.parse()?;
        params.validate(args.section)?;
        Ok(Box::new(Dopri5 { params }))
    }

    /// Integrates dx/dt = f(x, t) from `t0` to `t1` (either direction) to this tolerance.
    pub fn integrate_adaptive(
        &self,
        drift: &Drift,
        x0: &Tensor,
        t0: f64,
        t1: f64,
    ) -> Result<(Tensor, Stats)> {
        let Dopri5Params {
            rtol,
            atol,
            max_steps,
        } = self.params;
        if !(t0.is_finite() && t1.is_finite()) {
            return Err(Error::invalid_argument(
                "integrate with dopri5",
                format!("times must be finite, got [{t0}, {t1}]"),
            ));
        }
        let span = t1 - t0;
        let mut stats = Stats::default();
        if span == 0.0 {
            return Ok((x0.clone(), stats));
        }
        let dir = span.signum();
        let (mut x, mut t) = (x0.clone(), t0);
        let mut k1 = drift(&x, t)?;
        let mut h = initial_step(drift, &x, &k1, t, dir, rtol, atol)?.min(span.abs());
        while (t1 - t) * dir > 0.0 {
            if stats.steps + stats.rejected >= max_steps {
                return Err(Error::numerical(
                    "dopri5",
                    format!(
                        "hit `integrator.max_steps` = {max_steps} at t = {t} of [{t0}, {t1}] \
                         (step {h:e}, rtol {rtol:e}, atol {atol:e}); raise max_steps or loosen \
                         rtol/atol"
                    ),
                ));
            }
            // Land exactly on t1 rather than overshooting it.
            let last = h >= (t1 - t).abs();
            let dt = if last { t1 - t } else { dir * h };
            let s = rk_step(&DOPRI5, drift, &x, t, dt, None, Some(k1.clone()))?;
            let err = match &s.err {
                Some(e) => error_norm(e, &x, &s.x, rtol, atol)?,
                None => f64::INFINITY,
            };
            // NaN (a blow-up inside the step) counts as a failed step, never as success.
            let accept = err <= 1.0;
            let factor = if err == 0.0 {
                10.0
            } else if err.is_finite() {
                (0.9 * err.powf(-0.2)).clamp(0.2, 10.0)
            } else {
                0.2
            };
            if accept {
                (x, t, k1) = (s.x, if last { t1 } else { t + dt }, s.last_k);
                stats.steps += 1;
                h = dt.abs() * factor;
            } else {
                stats.rejected += 1;
                h = dt.abs() * factor.min(1.0);
            }
            if !(h > f64::EPSILON * t.abs().max(1.0)) {
                return Err(Error::numerical(
                    "dopri5",
                    format!(
                        "step size underflow ({h:e}) at t = {t}: the drift is stiff or not finite"
                    ),
                ));
            }
        }
        Ok((x, stats))
    }
}

/// Adaptive Dormand–Prince with `rtol`/`atol` and the default `max_steps`.
pub fn integrate_adaptive(
    drift: &Drift,
    x0: &Tensor,
    t0: f64,
    t1: f64,
    rtol: f64,
    atol: f64,
) -> Result<(Tensor, Stats)> {
    Dopri5::new(Dopri5Params {
        rtol,
        atol,
        ..Dopri5Params::default()
    })?
    .integrate_adaptive(drift, x0, t0, t1)
}

/// RMS over all components of e / (atol + rtol·max(|x|, |x_new|)).
fn error_norm(e: &Tensor, x: &Tensor, x_new: &Tensor, rtol: f64, atol: f64) -> Result<f64> {
    let scale = x.abs()?.maximum(&x_new.abs()?)?.affine(rtol, atol)?;
    rms(&(e / scale)?)
}

fn rms(v: &Tensor) -> Result<f64> {
    Ok(v.to_dtype(DType::F64)?
        .sqr()?
        .mean_all()?
        .sqrt()?
        .to_scalar::<f64>()?)
}

/// Hairer's starting step: small enough that an Euler step changes f little, relative to the
/// tolerance. Costs one drift evaluation.
fn initial_step(
    drift: &Drift,
    x: &Tensor,
    f0: &Tensor,
    t: f64,
    dir: f64,
    rtol: f64,
    atol: f64,
) -> Result<f64> {
    let scale = x.abs()?.affine(rtol, atol)?;
    let (d0, d1) = (rms(&(x / &scale)?)?, rms(&(f0 / &scale)?)?);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let f1 = drift(&(x + (f0 * (dir * h0))?)?, t + dir * h0)?;
    let d2 = rms(&((f1 - f0)? / &scale)?)? / h0;
    let h1 = if d1.max(d2) <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(0.2)
    };
    Ok((100.0 * h0).min(h1))
}

ebm_core::register_integrator!("dopri5", Dopri5::from_args);

impl Integrator for Dopri5 {
    fn name(&self) -> &'static str {
        "dopri5"
    }

    fn step(
        &self,
        drift: &Drift,
        x: &Tensor,
        t: f64,
        dt: f64,
        noise: Option<&Tensor>,
    ) -> Result<Tensor> {
        Ok(rk_step(&DOPRI5, drift, x, t, dt, noise, None)?.x)
    }

    /// Adaptive steps to `rtol`/`atol` (the flow sampler's ODE path uses this).
    fn advance(&self, drift: &Drift, x: &Tensor, t0: f64, t1: f64) -> Result<Tensor> {
        Ok(self.integrate_adaptive(drift, x, t0, t1)?.0)
    }
}
