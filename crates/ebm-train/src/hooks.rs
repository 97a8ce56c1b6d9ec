//! The seam between the training loop and what reports on it. The loop (ebm-train) knows
//! nothing of figures or evaluation metrics; at its plot interval and after its last step it
//! hands the run, as it stands, to a [`RunHooks`]. `ebm_eval::EvalHooks` is the implementation
//! the launcher and the `ebm` facade pass (landscapes, sample and buffer grids, histograms,
//! `samples.npy`, `eval.json`); [`NoHooks`] runs the loop alone.
//!
//! Hooks are called on rank 0 only (see [`crate::RankRole`]); every rank holds a value of the
//! same type, because [`RunHooks::draws_progress`] is asked everywhere (the chains that
//! `progress` is shown are gathered by a collective) and because the other ranks decode the
//! report rank 0 sends them as a `RunHooks::Report`.

use crate::{MetricsLog, Result, RunConfig, RunDir, TrainState};
use candle_core::Tensor;
use serde::{de::DeserializeOwned, Serialize};

/// The run as the hooks see it (on rank 0).
pub struct RunView<'a> {
    pub config: &'a RunConfig,
    pub dir: &'a RunDir,
    pub state: &'a TrainState,
    /// The rows logged so far (for the loss and energy curves).
    pub metrics: &'a MetricsLog,
    /// Every rank's persistent chains in rank order, or `None` when the loss keeps none.
    pub chains: Option<&'a Tensor>,
}

/// What the loop calls at its plot interval and at its end.
pub trait RunHooks {
    /// What [`RunHooks::finish`] reports. Rank 0 sends it to the other ranks (as TOML, which
    /// keeps NaN and infinities), so every rank's [`crate::TrainSummary`] holds it.
    type Report: Serialize + DeserializeOwned;

    /// Whether [`RunHooks::progress`] runs for this run at all. Asked on every rank, so it must
    /// depend on the config and the input shape alone.
    fn draws_progress(&self, config: &RunConfig, input_shape: &[usize]) -> bool;

    /// At every `train.plot_every`-th step before the last (when `draws_progress`).
    fn progress(&mut self, run: &RunView<'_>) -> Result<()>;

    /// After the last step and its checkpoint: the run's final outputs and its report.
    fn finish(&mut self, run: &RunView<'_>) -> Result<Self::Report>;
}

/// The loop alone: no figures, no evaluation, an empty report.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

/// The report of [`NoHooks`]: nothing (a struct, not `()`, so that it travels as a TOML table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NoReport {}

impl RunHooks for NoHooks {
    type Report = NoReport;

    fn draws_progress(&self, _: &RunConfig, _: &[usize]) -> bool {
        false
    }

    fn progress(&mut self, _: &RunView<'_>) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, _: &RunView<'_>) -> Result<NoReport> {
        Ok(NoReport {})
    }
}
