//! What a failed check says: which plugin, which check, and why, in one line a test prints.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A check that did not pass. `Debug` prints the same text as `Display`, so `.unwrap()` in a
/// test shows the message as written.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure {
    /// The plugin checked, e.g. `sampler "random_walk"`.
    pub plugin: String,
    /// The check, e.g. `shapes`, `reproducibility`.
    pub check: &'static str,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} fails the `{}` check: {}",
            self.plugin, self.check, self.message
        )
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failure {}

/// Runs `f`, turning an error or a panic into a [`Failure`] of `check`: a plugin must report
/// problems as errors, so a panic fails whatever check it happened in.
pub(crate) fn guarded<T>(
    plugin: &str,
    check: &'static str,
    f: impl FnOnce() -> ebm_core::Result<T>,
) -> Result<T, Failure> {
    let fail = |message: String| Failure {
        plugin: plugin.to_string(),
        check,
        message,
    };
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(fail(format!("returned an error: {e}"))),
        Err(panic) => Err(fail(format!("panicked: {}", panic_text(&panic)))),
    }
}

fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// A failure of `check` with `message`, for conditions the kit tests itself.
pub(crate) fn failure(plugin: &str, check: &'static str, message: String) -> Failure {
    Failure {
        plugin: plugin.to_string(),
        check,
        message,
    }
}
