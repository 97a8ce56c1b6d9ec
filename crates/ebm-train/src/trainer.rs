//! The single-rank training loop: steps, metrics rows, progress plots, checkpoints, and at the end
//! the evaluation samples, `samples.npy`, `eval.json` and the final figures.

use crate::run_dir::write_atomic;
use crate::{
    checkpoint, eval, plots, step, Error, LoadedConfig, MetricsLog, Result, RunConfig, RunDir,
    TrainState,
};
use candle_core::Device;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Fresh run or continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Fresh,
    Resume,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    pub steps: u64,
    pub train_seconds: f64,
    pub eval: eval::EvalReport,
}

pub struct Trainer {
    config: RunConfig,
    dir: RunDir,
    state: TrainState,
    metrics: MetricsLog,
    /// Training points shown in the plots.
    data_points: Vec<[f32; 2]>,
}

impl Trainer {
    /// Builds the run (validating every plugin's parameters) and, for `Start::Resume`, restores
    /// the newest checkpoint in `dir`.
    pub fn new(loaded: &LoadedConfig, dir: &std::path::Path, start: Start) -> Result<Self> {
        ebm_core::ensure_double_backward(); // before any backward: score-matching losses need it
        let config = loaded.config.clone();
        let device = Device::Cpu;
        let mut state = TrainState::new(&config, &device).map_err(|e| loaded.locate(e))?;
        let (dir, metrics) = match start {
            Start::Fresh => {
                let dir = RunDir::create(dir)?;
                let metrics = MetricsLog::create(&dir.metrics())?;
                (dir, metrics)
            }
            Start::Resume => {
                let dir = RunDir::open(dir)?;
                let (_, path) =
                    checkpoint::list(&dir.checkpoints())?
                        .pop()
                        .ok_or_else(|| Error::RunDir {
                            path: dir.root().to_path_buf(),
                            message: "checkpoints/ is empty: nothing to resume".into(),
                        })?;
                state.restore(&checkpoint::load(&path, &device)?, &path)?;
                tracing::info!(checkpoint = %path.display(), step = state.step, "resuming");
                let metrics = MetricsLog::resume(&dir.metrics(), state.step)?;
                (dir, metrics)
            }
        };
        std::fs::write(dir.config(), config.to_toml()?).map_err(Error::io(dir.config()))?;
        let data_points = if state.input_shape() == [2] {
            let pts = state.batcher.points();
            pts.data
                .chunks(2)
                .take(2000)
                .map(|r| [r[0], r[1]])
                .collect()
        } else {
            Vec::new()
        };
        Ok(Trainer {
            config,
            dir,
            state,
            metrics,
            data_points,
        })
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.dir
    }

    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// Trains to `train.steps`, then evaluates and writes the final outputs.
    pub fn run(&mut self) -> Result<TrainSummary> {
        let train = self.config.train.clone();
        let progress = progress_bar(train.steps, self.state.step);
        let started = Instant::now();
        while self.state.step < train.steps {
            let row =
                step::train_step(&mut self.state, &self.config).map_err(|e| self.with_advice(e))?;
            let s = self.state.step;
            progress.inc(1);
            if s.is_multiple_of(train.log_every) || s == train.steps {
                progress.set_message(format!("loss {:.4}", row.get("loss").unwrap_or(f64::NAN)));
                if progress.is_hidden() {
                    let vals: Vec<String> = row
                        .values
                        .iter()
                        .map(|(k, v)| format!("{k}={v:.4}"))
                        .collect();
                    tracing::info!("step {s}/{} {}", train.steps, vals.join(" "));
                }
                self.metrics.append(row)?;
            }
            if train.plot_every > 0 && s.is_multiple_of(train.plot_every) && s < train.steps {
                self.plot_progress()?;
            }
            if s.is_multiple_of(train.checkpoint_every) || s == train.steps {
                self.state
                    .save(&self.dir.checkpoints(), train.keep_checkpoints)?;
            }
        }
        progress.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = self.finish()?;
        Ok(TrainSummary {
            steps: self.state.step,
            train_seconds,
            eval,
        })
    }

    /// The divergence error with where to go from here.
    fn with_advice(&self, e: Error) -> Error {
        match e {
            Error::Diverged { step, what, .. } => {
                let last = checkpoint::list(&self.dir.checkpoints())
                    .ok()
                    .and_then(|mut v| v.pop());
                let advice = match last {
                    Some((_, p)) => format!(
                        "Nothing was saved after the last good checkpoint, {}. Lower optim.lr or the sampler's step_size, or raise loss.energy_reg, then continue with `ebm-launch --resume {} --set key=value`.",
                        p.display(),
                        self.dir.root().display()
                    ),
                    None => "No checkpoint had been written yet. Lower optim.lr or the sampler's step_size, or raise loss.energy_reg, and start again.".into(),
                };
                Error::Diverged { step, what, advice }
            }
            other => other,
        }
    }

    fn plot_progress(&self) -> Result<()> {
        if self.data_points.is_empty() {
            return Ok(());
        }
        let Some(bank) = self.state.loss.chain_bank() else {
            return Ok(());
        };
        let chains = plots::points_2d(&bank.to_tensor(&self.state.device)?, 2000)?;
        let s = self.state.step;
        plots::landscape(
            &self.dir.plots().join(format!("landscape_step_{s:07}.png")),
            &format!(
                "step {s}: {}, data, persistent chains",
                plots::density_label(self.state.model.as_ref())
            ),
            self.state.model.detached().as_ref(),
            self.config.data.plot_bounds(),
            &self.data_points,
            &chains,
            "persistent chains",
        )?;
        plots::curves(&self.dir.plots(), &self.metrics)
    }

    /// Evaluation samples, `samples.npy`, `eval.json` and the final figures.
    fn finish(&mut self) -> Result<eval::EvalReport> {
        let view = self.state.model.detached();
        let shape = self.state.input_shape();
        let (samples, acceptance) =
            eval::draw_samples(view.as_ref(), &self.config, &shape, &self.state.device)?;
        write_atomic(&self.dir.samples(), |tmp| Ok(samples.write_npy(tmp)?))?;
        let chains = match self.state.loss.chain_bank() {
            Some(bank) => Some(bank.to_tensor(&self.state.device)?),
            None => None,
        };
        let report = eval::compare_with_data(&samples, chains.as_ref(), &self.config, acceptance)?;
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| Error::Config(e.to_string()))?;
        write_atomic(&self.dir.eval(), |tmp| {
            std::fs::write(tmp, json).map_err(Error::io(tmp))
        })?;
        if !self.data_points.is_empty() {
            let pts = plots::points_2d(&samples, 2000)?;
            plots::landscape(
                &self.dir.plots().join("landscape_final.png"),
                &format!(
                    "step {}: {}, data, {} samples after {} steps",
                    self.state.step,
                    plots::density_label(view.as_ref()),
                    pts.len(),
                    self.config.eval.steps
                ),
                view.as_ref(),
                self.config.data.plot_bounds(),
                &self.data_points,
                &pts,
                "model samples",
            )?;
        }
        plots::curves(&self.dir.plots(), &self.metrics)?;
        Ok(report)
    }
}

fn progress_bar(total: u64, done: u64) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} steps [{elapsed_precise} < {eta_precise}] {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_position(done);
    bar
}
