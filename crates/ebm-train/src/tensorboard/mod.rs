//! TensorBoard logging: every run's writer rank also writes `RUN/tb/events.out.tfevents.*`
//! (`[train] tensorboard = true`, the default), which `tensorboard --logdir RUN/tb` (or a parent
//! folder, to compare runs) reads:
//!
//! - every scalar of a `metrics.jsonl` row, under the same name, at the row's step;
//! - histograms `energy/data` and `energy/samples` at each log step ([`energies`]);
//! - the PNG figures the run's hooks write under `plots/`, as images when they are written
//!   (tag: the path under `plots/` without `.png`), at the step of the hook call;
//! - the resolved config as text, tag `config`, step 0.
//!
//! [`proto`] holds the protobuf messages (derived with `prost`), [`record`] the TFRecord framing,
//! [`EventWriter`] the file and its rewrite on resume.

pub(crate) mod energies;
pub(crate) mod figures;
pub mod proto;
pub mod record;
mod summary;
mod writer;

pub use energies::{DATA_TAG, HISTOGRAM_POINTS, SAMPLES_TAG};
pub use summary::{histogram, png_header, HISTOGRAM_BUCKETS};
pub use writer::{event_files, read_events, EventWriter, FILE_PREFIX, FILE_VERSION};

use crate::{Result, Row, TrainState};
use figures::PngSnapshot;
use std::path::Path;

/// The tag of the resolved config's text.
pub const CONFIG_TAG: &str = "config";

/// The resolved config TOML as Markdown: a fenced code block, so TensorBoard's text plugin shows
/// it line for line.
pub fn config_markdown(toml: &str) -> String {
    format!("```toml\n{}\n```", toml.trim_end())
}

/// One logged row: its scalars (one event) and the energy histograms, then a flush.
pub(crate) fn log_row(events: &mut EventWriter, row: &Row, state: &TrainState) -> Result<()> {
    events.scalars(row.step, &row.values)?;
    for (tag, values) in energies::energy_histograms(state)? {
        events.histogram(tag, row.step, &values)?;
    }
    events.flush()
}

/// The figures written under `plots` since `before` (a hook call's), as images at `step`. A file
/// that cannot be read or is not a PNG is skipped with a warning.
pub(crate) fn log_figures(
    events: &mut EventWriter,
    before: &PngSnapshot,
    plots: &Path,
    step: u64,
) -> Result<()> {
    for (tag, path) in before.written_since(plots) {
        let png = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|png| png_header(&png).map(|_| png));
        match png {
            Ok(png) => events.image_png(&tag, step, &png)?,
            Err(e) => tracing::warn!(figure = %path.display(), "not logged to TensorBoard: {e}"),
        }
    }
    events.flush()
}
