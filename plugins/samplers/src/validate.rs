//! Parameter checks more than one sampler shares, written once: a positive step (a plain number
//! when it is adapted) and an optional `[lo, hi]` clamp box. Each check names the full key.

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
