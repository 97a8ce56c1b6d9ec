//! The figures of `ebm-launch sample` for 2-D models: the samples over the energy landscape,
//! and a few chains' paths from their start over their first kept states.

use crate::plots::{self, GRID};
use crate::Result;
use ebm_core::{Energy, SampleOutput};
use ebm_train::{RunConfig, TrainState};
use std::path::{Path, PathBuf};

/// Chains drawn in the trajectory figure, and points per drawn path: more turns the figure into
/// a tangle in which no single path can be followed.
const PATHS: usize = 4;
const PATH_POINTS: usize = 100;

/// `dir/<stem><suffix>` next to `out`.
pub(super) fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("samples");
    out.with_file_name(format!("{stem}{suffix}"))
}

/// `<stem>.png` (samples over the landscape) and `<stem>_trajectories.png` (a few chains' paths).
pub(super) fn draw(
    out_path: &Path,
    config: &RunConfig,
    state: &TrainState,
    out: &SampleOutput,
    energy: &dyn Energy,
) -> Result<Vec<PathBuf>> {
    let bounds = config.data.plot_bounds();
    let data: Vec<[f32; 2]> = state
        .batcher
        .points()
        .data
        .chunks(2)
        .take(2000)
        .map(|r| [r[0], r[1]])
        .collect();
    let samples = plots::points_2d(&out.final_x, 2000)?;
    let landscape = sibling(out_path, ".png");
    let title = format!(
        "step {}: {}, data, {} samples after {} steps",
        state.step,
        plots::density_label(energy),
        samples.len(),
        out.acceptance.len()
    );
    let label = "samples";
    let e = plots::grid_energy(energy, bounds, &state.device)?;
    plots::landscape(&landscape, &title, &e, bounds, &data, &samples, label)?;

    let n_paths = PATHS.min(out.final_x.dims()[0]);
    // The first PATH_POINTS kept states, consecutive: how chains travel from noise into the
    // modes. Spreading the points over the whole run instead joins far-apart states with long
    // straight lines that show nothing.
    let shown = out.trajectory.len().min(PATH_POINTS);
    let states: Vec<Vec<[f32; 2]>> = std::iter::once(&out.start)
        .chain(out.trajectory[..shown].iter())
        .map(|x| plots::points_2d(x, n_paths))
        .collect::<Result<_>>()?;
    let paths: Vec<Vec<[f32; 2]>> = (0..n_paths)
        .map(|c| states.iter().map(|s| s[c]).collect())
        .collect();
    let trajectories = sibling(out_path, "_trajectories.png");
    ebm_viz::draw_trajectories(
        &trajectories,
        &ebm_viz::Trajectories {
            title: &format!("{n_paths} chains, first {shown} kept states"),
            bounds,
            resolution: GRID,
            energy: &e,
            paths: &paths,
        },
    )?;
    Ok(vec![landscape, trajectories])
}
