//! Parameter checks more than one sampler shares, written once: a positive step (a plain number
//! when it is adapted), an optional `[lo, hi]` clamp box and an optional gradient clip. Each check names the full key.

use crate::adaptation::AdaptParams;
use ebm_core::{Error, Result, ScheduleConfig};

/// `{section}.step_size` is positive; with `adapt`, the adapter's keys are valid and the step is
/// a plain number (the initial step), not a schedule.
pub(crate) fn validate_step(
    step: &ScheduleConfig,
    adapt: Option<&AdaptParams>,
    section: &str,
) -> Result<()> {
    let key = format!("{section}.step_size");
    step.validate_positive(&key)?;
    if let Some(a) = adapt {
        a.validate(section)?;
        let (lo, hi) = step.bounds();
        if lo != hi {
            return Err(Error::config(
                key,
                "with `adapt`, give a number (the initial step), not a schedule",
            ));
        }
    }
    Ok(())
}

/// `{section}.clamp`, when given, is a box with lo < hi (NaN bounds are rejected).
pub(crate) fn validate_clamp(clamp: Option<[f64; 2]>, section: &str) -> Result<()> {
    if let Some([lo, hi]) = clamp {
        if !(lo < hi) {
            return Err(Error::config(
                format!("{section}.clamp"),
                format!("need lo < hi, got [{lo}, {hi}]"),
            ));
        }
    }
    Ok(())
}

/// `{section}.grad_clip`, when given, is a positive finite number.
pub(crate) fn validate_grad_clip(grad_clip: Option<f64>, section: &str) -> Result<()> {
    match grad_clip {
        Some(c) if !(c > 0.0 && c.is_finite()) => Err(Error::config(
            format!("{section}.grad_clip"),
            format!("must be a positive number (the largest ‖∇E‖ per chain), got {c}"),
        )),
        _ => Ok(()),
    }
}
