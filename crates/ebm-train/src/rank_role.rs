//! What a rank does besides training: one place that says what rank 0 alone does.

use crate::tensorboard::EventWriter;
use crate::MetricsLog;

/// This rank's duties besides the step. Every rank trains and takes part in every collective
/// (gradient averaging, chain gathers for figures and checkpoints, the report broadcast) on the
/// same schedule; only the writer touches the run folder.
pub enum RankRole {
    /// Rank 0. It creates (or, on resume, opens and trims) the run folder; writes
    /// `config.toml`, `metrics.jsonl`, the TensorBoard event file (`events`, unless
    /// `train.tensorboard = false`) and the checkpoints; calls the run's [`crate::RunHooks`]
    /// (progress figures, then the final evaluation, whose report it sends to the other ranks);
    /// and adds to a divergence error the advice of where to resume from.
    Writer {
        metrics: MetricsLog,
        events: Option<EventWriter>,
    },
    /// Every other rank: trains, takes part in the collectives, writes nothing.
    Follower,
}

impl RankRole {
    pub fn is_writer(&self) -> bool {
        matches!(self, RankRole::Writer { .. })
    }

    /// The metrics log, on the writer.
    pub fn metrics(&self) -> Option<&MetricsLog> {
        match self {
            RankRole::Writer { metrics, .. } => Some(metrics),
            RankRole::Follower => None,
        }
    }

    /// The TensorBoard event writer, on the writer when `train.tensorboard`.
    pub fn events(&self) -> Option<&EventWriter> {
        match self {
            RankRole::Writer { events, .. } => events.as_ref(),
            RankRole::Follower => None,
        }
    }

    pub(crate) fn events_mut(&mut self) -> Option<&mut EventWriter> {
        match self {
            RankRole::Writer { events, .. } => events.as_mut(),
            RankRole::Follower => None,
        }
    }
}
