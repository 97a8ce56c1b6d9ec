//! Test hooks: what the loop's seam ([`ebm_train::RunHooks`]) is shown, observable from outside.

use ebm_train::{RunConfig, RunHooks, RunView};
use serde::{Deserialize, Serialize};

/// Writes `finished` into the run folder it is shown and reports the final step and how many
/// progress calls it saw: only rank 0's folder may get the file, and every rank must return
/// rank 0's report.
#[derive(Clone, Debug, Default)]
pub struct FinishMarker {
    progress_calls: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkerReport {
    pub step: u64,
    pub progress_calls: u64,
}

impl RunHooks for FinishMarker {
    type Report = MarkerReport;

    fn draws_progress(&self, _: &RunConfig, _: &[usize]) -> bool {
        true
    }

    fn progress(&mut self, _: &RunView<'_>) -> ebm_train::Result<()> {
        self.progress_calls += 1;
        Ok(())
    }

    fn finish(&mut self, run: &RunView<'_>) -> ebm_train::Result<MarkerReport> {
        let path = run.dir.root().join("finished");
        std::fs::write(&path, "").map_err(ebm_train::Error::io(path))?;
        Ok(MarkerReport {
            step: run.state.step,
            progress_calls: self.progress_calls,
        })
    }
}
