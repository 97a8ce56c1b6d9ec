//! [`EvalHooks`]: what the training loop shows and writes besides checkpoints and metrics,
//! plugged into it through [`ebm_train::RunHooks`] (the one seam between the loop and
//! evaluation).
//!
//! At the plot interval: for 2-D data the energy landscape with data and the persistent chains;
//! for images a grid of the replay buffer and one of fresh samples; and the loss and energy
//! curves. After the last step: evaluation samples drawn as `[eval]` says (`samples.npy`), their
//! distances to fresh data (`eval.json`, [`EvalReport`]), and the final landscape or sample grid
//! and energy histogram.

use crate::density_fit::density_fit;
use crate::eval_samples::{compare_with_data, draw_samples, draw_samples_from, EvalReport};
use crate::{image_plots, plots, Result};
use candle_core::Tensor;
use ebm_core::Energy;
use ebm_train::{write_atomic, RunConfig, RunHooks, RunView};

/// The figures and the end-of-run evaluation of a training run (pass it to
/// [`ebm_train::Trainer::run`]).
#[derive(Clone, Debug, Default)]
pub struct EvalHooks {
    /// Training points drawn under the 2-D landscapes, read on first use.
    data_points: Option<Vec<[f32; 2]>>,
}

impl EvalHooks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Up to 2000 training points of a 2-D run (drawn from the run's own seeded stream, so the
    /// same points as training's).
    fn data_points(&mut self, config: &RunConfig) -> Result<&[[f32; 2]]> {
        if self.data_points.is_none() {
            let points = ebm_train::train_set(config)?;
            self.data_points = Some(
                points
                    .data
                    .chunks(2)
                    .take(2000)
                    .map(|r| [r[0], r[1]])
                    .collect(),
            );
        }
        Ok(self.data_points.as_deref().unwrap_or_default())
    }

    fn draw_progress(&mut self, run: &RunView<'_>) -> Result<()> {
        let (config, state) = (run.config, run.state);
        let s = state.step;
        let plots_dir = run.dir.plots();
        if image_plots::is_image(&config.data.sample_shape()) {
            let shape = config.data.sample_shape();
            if let Some(chains) = run.chains {
                image_plots::grid(
                    &plots_dir.join(format!("chains_step_{s:07}.png")),
                    &format!("step {s}: replay buffer"),
                    chains,
                    &shape,
                )?;
            }
            progress_samples_grid(run)?;
            return plots::curves(&plots_dir, run.metrics);
        }
        let Some(chains) = run.chains else {
            return Ok(());
        };
        let chains = plots::points_2d(chains, 2000)?;
        let bounds = config.data.plot_bounds();
        plots::landscape(
            &plots_dir.join(format!("landscape_step_{s:07}.png")),
            &format!(
                "step {s}: {}, data, persistent chains",
                plots::density_label(state.model.as_ref())
            ),
            &plots::grid_energy(state.sampling_view()?.as_ref(), bounds, &state.device)?,
            bounds,
            self.data_points(config)?,
            &chains,
            "persistent chains",
        )?;
        plots::curves(&plots_dir, run.metrics)
    }

    /// Evaluation samples, `samples.npy`, `eval.json` and the final figures.
    fn evaluate(&mut self, run: &RunView<'_>) -> Result<EvalReport> {
        let (config, state, dir) = (run.config, run.state, run.dir);
        let view = state.sampling_view()?;
        let shape = state.input_shape();
        let (samples, acceptance) = draw_samples(view.as_ref(), config, &shape, &state.device)?;
        write_atomic(&dir.samples(), |tmp| Ok(samples.write_npy(tmp)?))?;
        let mut report = compare_with_data(&samples, run.chains, config, acceptance)?;
        report.density = density_fit(view.as_ref(), config, &shape, &state.device)?;
        let json = serde_json::to_string_pretty(&report)
            .map_err(ebm_train::Error::serialize("eval.json"))?;
        write_atomic(&dir.eval(), |tmp| {
            std::fs::write(tmp, json).map_err(ebm_train::Error::io(tmp))
        })?;
        // samples.npy and eval.json are written (to look at); the run still fails.
        non_finite_result(
            &samples,
            &report,
            &dir.samples().display().to_string(),
            &dir.eval(),
        )?;
        if shape == [2] {
            let pts = plots::points_2d(&samples, 2000)?;
            let bounds = config.data.plot_bounds();
            let energies = plots::grid_energy(view.as_ref(), bounds, &state.device)?;
            plots::landscape(
                &dir.plots().join("landscape_final.png"),
                &format!(
                    "step {}: {}, data, {} samples after {} steps",
                    state.step,
                    plots::density_label(view.as_ref()),
                    pts.len(),
                    config.eval.steps
                ),
                &energies,
                bounds,
                self.data_points(config)?,
                &pts,
                "model samples",
            )?;
        }
        if image_plots::is_image(&config.data.sample_shape()) {
            image_figures(run, view.as_ref(), &samples)?;
        }
        plots::curves(&dir.plots(), run.metrics)?;
        Ok(report)
    }
}

impl RunHooks for EvalHooks {
    type Report = EvalReport;

    /// 2-D data (landscapes) and images (grids) have progress figures; other data has none.
    fn draws_progress(&self, config: &RunConfig, input_shape: &[usize]) -> bool {
        input_shape == [2] || image_plots::is_image(&config.data.sample_shape())
    }

    fn progress(&mut self, run: &RunView<'_>) -> ebm_train::Result<()> {
        Ok(self.draw_progress(run)?)
    }

    fn finish(&mut self, run: &RunView<'_>) -> ebm_train::Result<EvalReport> {
        Ok(self.evaluate(run)?)
    }
}

/// An error when the evaluation samples or the report's metrics are NaN or infinite: such a run
/// must not exit 0 (its `eval.json` would say `"mmd2": null`).
pub(crate) fn non_finite_result(
    samples: &Tensor,
    report: &EvalReport,
    samples_what: &str,
    eval_path: &std::path::Path,
) -> Result<()> {
    let values = samples.flatten_all()?.to_vec1::<f32>()?;
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(crate::Error::NonFinite(format!(
            "{bad} of the {} values in {} are NaN or infinite: the evaluation chains \
             blew up (lower the step_size of [eval.sampler] or [sampler], or optim.lr; or raise \
             loss.energy_reg)",
            values.len(),
            samples_what
        )));
    }
    let metrics = [
        ("mmd2", Some(report.mmd2)),
        ("energy_distance", Some(report.energy_distance)),
        ("mmd2_floor", Some(report.mmd2_floor)),
        ("mmd2_init", Some(report.mmd2_init)),
        ("mmd2_chains", report.mmd2_chains),
    ];
    for (name, v) in metrics {
        if let Some(v) = v.filter(|v| !v.is_finite()) {
            return Err(crate::Error::NonFinite(format!(
                "{name} = {v} in {}: the evaluation did not produce a finite metric",
                eval_path.display()
            )));
        }
    }
    Ok(())
}

/// `samples_step_N.png`: a grid of fresh samples, drawn as `[eval]` draws them but only
/// `GRID_IMAGES` of them. The chains start from the same seeded noise at every interval, so
/// the grids show how the model's samples change as it trains (the replay buffer's grid
/// shows the chains training actually used).
fn progress_samples_grid(run: &RunView<'_>) -> Result<()> {
    let state = run.state;
    let mut config = run.config.clone();
    config.eval.n_samples = image_plots::GRID_IMAGES;
    let view = state.sampling_view()?;
    let (samples, _) = draw_samples_from(
        view.as_ref(),
        &config,
        &state.input_shape(),
        &state.device,
        "progress-samples",
    )?;
    let s = state.step;
    image_plots::grid(
        &run.dir.plots().join(format!("samples_step_{s:07}.png")),
        &format!("step {s}: samples, {} steps", config.eval.steps),
        &samples,
        &config.data.sample_shape(),
    )
}

/// The final sample grid and, for models with energy values, E(test data) vs E(samples).
fn image_figures(run: &RunView<'_>, view: &dyn Energy, samples: &Tensor) -> Result<()> {
    let (config, state) = (run.config, run.state);
    let steps = config.eval.steps;
    image_plots::grid(
        &run.dir.plots().join("samples_final.png"),
        &format!("step {}: samples after {steps} steps", state.step),
        samples,
        &config.data.sample_shape(),
    )?;
    if !view.has_energy_values() {
        return Ok(());
    }
    let n = samples.dims()[0].min(500);
    let data = config
        .data
        .sample(n, &mut ebm_core::rng::stream(config.seed, "eval-hist", 0))?
        .to_tensor(&state.device)?;
    image_plots::energy_histogram(
        &run.dir.plots().join("energy_hist.png"),
        &format!("step {}: energies", state.step),
        &view.energy(&data)?,
        &view.energy(&samples.narrow(0, 0, n)?)?,
    )
}
