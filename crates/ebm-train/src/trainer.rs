//! The training loop on one rank of N (N = 1 for single-device training): steps, metrics rows,
//! progress plots, checkpoints, and at the end the evaluation samples, `samples.npy`, `eval.json`
//! and the final figures. Rank 0 alone writes the run folder; every collective (chain gathers
//! for plots and checkpoints, the eval report) is called by all ranks on the same schedule.

use crate::dist::{self, wire::broadcast_bytes};
use crate::resume::restore_newest;
use crate::run_dir::write_atomic;
use crate::state::train_set;
use crate::{
    checkpoint, eval, image_plots, plots, step, Error, LoadedConfig, MetricsLog, Result, RunConfig,
    RunDir, TrainState,
};
use candle_core::{Device, Tensor};
use ebm_dist::{broadcast_tensors, Collective, SingleRank};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Fresh run or continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Fresh,
    Resume,
}

/// What a finished run reports (the same on every rank: rank 0 evaluates and shares it).
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
    coll: Arc<dyn Collective>,
    /// The metrics file: `Some` on rank 0 only, which alone writes the run folder.
    metrics: Option<MetricsLog>,
    /// Whether samples are 2-D, so progress plots are drawn (same answer on every rank).
    plots_2d: bool,
    /// Training points shown in the plots (rank 0; empty elsewhere).
    data_points: Vec<[f32; 2]>,
}

impl Trainer {
    /// Builds a single-device run (validating every plugin's parameters) and, for
    /// `Start::Resume`, restores the newest checkpoint in `dir`.
    pub fn new(loaded: &LoadedConfig, dir: &Path, start: Start) -> Result<Self> {
        Self::new_distributed(loaded, dir, start, Arc::new(SingleRank))
    }

    /// Builds this rank's part of a data-parallel run over `collective` (every rank calls it).
    /// Rank 0 creates or opens `dir` and, on resume, reads the newest checkpoint and broadcasts
    /// it; rank 0's weights are broadcast to all. Other ranks never touch `dir`.
    pub fn new_distributed(
        loaded: &LoadedConfig,
        dir: &Path,
        start: Start,
        collective: Arc<dyn Collective>,
    ) -> Result<Self> {
        Self::new_distributed_on(loaded, dir, start, collective, Device::Cpu)
    }

    /// [`Trainer::new_distributed`] with the model, optimizer and training tensors on `device`
    /// (a GPU worker's CUDA device: `ebm_train::device::cuda_device`, feature `cuda`).
    pub fn new_distributed_on(
        loaded: &LoadedConfig,
        dir: &Path,
        start: Start,
        collective: Arc<dyn Collective>,
        device: Device,
    ) -> Result<Self> {
        ebm_core::ensure_double_backward(); // before any backward: score-matching losses need it
        let coll = collective.as_ref();
        let (rank, world) = (coll.rank(), coll.world_size());
        let _span = tracing::info_span!("rank", rank).entered();
        let leader = rank == 0;
        let config = loaded.config.clone();
        let mut state =
            TrainState::for_rank(&config, &device, rank, world).map_err(|e| loaded.locate(e))?;
        let dir = match (start, leader) {
            (Start::Fresh, true) => RunDir::create(dir)?,
            (Start::Resume, true) => RunDir::open(dir)?,
            (_, false) => RunDir::at(dir),
        };
        let mut metrics = match (start, leader) {
            (Start::Fresh, true) => Some(MetricsLog::create(&dir.metrics())?),
            _ => None,
        };
        if start == Start::Resume {
            let path = restore_newest(coll, &dir, &mut state, &device)?;
            tracing::info!(checkpoint = %path.display(), step = state.step, "resuming");
            if leader {
                metrics = Some(MetricsLog::resume(&dir.metrics(), state.step)?);
            }
        }
        if world > 1 {
            // Same weights everywhere, whatever built or restored them.
            let params = state.model.params();
            let tensors: Vec<Tensor> = params.iter().map(|p| p.var.as_tensor().clone()).collect();
            for (p, t) in params.iter().zip(broadcast_tensors(coll, &tensors, 0)?) {
                p.var.set(&t)?;
            }
        }
        if leader {
            std::fs::write(dir.config(), config.to_toml()?).map_err(Error::io(dir.config()))?;
        }
        let plots_2d = state.input_shape() == [2];
        let data_points = if leader && plots_2d {
            let pts = train_set(&config)?;
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
            coll: collective,
            metrics,
            plots_2d,
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
        let coll = self.coll.clone();
        let leader = coll.rank() == 0;
        let _span = tracing::info_span!("rank", rank = coll.rank()).entered();
        let train = self.config.train.clone();
        let progress = progress_bar(train.steps, self.state.step, leader);
        let started = Instant::now();
        while self.state.step < train.steps {
            let row = step::train_step_on(&mut self.state, &self.config, coll.as_ref())
                .map_err(|e| self.with_advice(e))?;
            dist::after_step(coll.as_ref(), &mut self.state, &self.config)?;
            let s = self.state.step;
            progress.inc(1);
            if s.is_multiple_of(train.log_every) || s == train.steps {
                progress.set_message(format!("loss {:.4}", row.get("loss").unwrap_or(f64::NAN)));
                if leader && progress.is_hidden() {
                    let vals: Vec<String> = row
                        .values
                        .iter()
                        .map(|(k, v)| format!("{k}={v:.4}"))
                        .collect();
                    tracing::info!("step {s}/{} {}", train.steps, vals.join(" "));
                }
                if let Some(m) = &mut self.metrics {
                    m.append(row)?;
                }
            }
            if train.plot_every > 0 && s.is_multiple_of(train.plot_every) && s < train.steps {
                self.plot_progress()?;
            }
            if s.is_multiple_of(train.checkpoint_every) || s == train.steps {
                if let Some(ckpt) = dist::gather_checkpoint(coll.as_ref(), &self.state)? {
                    checkpoint::save(&self.dir.checkpoints(), s, &ckpt)?;
                    checkpoint::prune(&self.dir.checkpoints(), train.keep_checkpoints)?;
                }
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

    /// Every rank's persistent chains (a collective), if the loss keeps any.
    fn all_chains(&self) -> Result<Option<Tensor>> {
        match self.state.loss.chain_bank() {
            Some(bank) => Ok(Some(dist::gather_chains(self.coll.as_ref(), bank)?)),
            None => Ok(None),
        }
    }

    /// The divergence error with where to go from here.
    fn with_advice(&self, e: Error) -> Error {
        if self.metrics.is_none() {
            return e; // not rank 0: rank 0 reports the same divergence with the advice
        }
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
        let images = image_plots::is_image(&self.config.data.sample_shape());
        if !(self.plots_2d || images) {
            return Ok(());
        }
        // A collective: every rank takes part, rank 0 draws.
        let chains = self.all_chains()?;
        if self.metrics.is_none() {
            return Ok(());
        }
        let s = self.state.step;
        if images {
            let shape = self.config.data.sample_shape();
            if let Some(chains) = &chains {
                image_plots::grid(
                    &self.dir.plots().join(format!("chains_step_{s:07}.png")),
                    &format!("step {s}: replay buffer"),
                    chains,
                    &shape,
                )?;
            }
            self.progress_samples_grid()?;
            if let Some(m) = &self.metrics {
                plots::curves(&self.dir.plots(), m)?;
            }
            return Ok(());
        }
        let Some(chains) = chains else {
            return Ok(());
        };
        let chains = plots::points_2d(&chains, 2000)?;
        plots::landscape(
            &self.dir.plots().join(format!("landscape_step_{s:07}.png")),
            &format!(
                "step {s}: {}, data, persistent chains",
                plots::density_label(self.state.model.as_ref())
            ),
            &plots::grid_energy(
                self.state.model.detached().as_ref(),
                self.config.data.plot_bounds(),
                &self.state.device,
            )?,
            self.config.data.plot_bounds(),
            &self.data_points,
            &chains,
            "persistent chains",
        )?;
        if let Some(m) = &self.metrics {
            plots::curves(&self.dir.plots(), m)?;
        }
        Ok(())
    }

    /// Rank 0 evaluates and writes the final outputs; every rank gets its report.
    fn finish(&mut self) -> Result<eval::EvalReport> {
        let chains = self.all_chains()?;
        let coll = self.coll.clone();
        if coll.world_size() == 1 {
            return self.evaluate(chains.as_ref());
        }
        // TOML rather than JSON: it round-trips NaN and infinities, which a failed eval can hold.
        let text = match self.metrics {
            Some(_) => {
                let report = self.evaluate(chains.as_ref())?;
                toml::to_string(&report).map_err(|e| Error::Config(e.to_string()))?
            }
            None => String::new(),
        };
        let text = broadcast_bytes(coll.as_ref(), text.as_bytes(), 0)?;
        std::str::from_utf8(&text)
            .ok()
            .and_then(|t| toml::from_str(t).ok())
            .ok_or_else(|| Error::Config("rank 0 sent a malformed eval report".into()))
    }

    /// Evaluation samples, `samples.npy`, `eval.json` and the final figures (rank 0).
    fn evaluate(&self, chains: Option<&Tensor>) -> Result<eval::EvalReport> {
        let view = self.state.model.detached();
        let shape = self.state.input_shape();
        let (samples, acceptance) =
            eval::draw_samples(view.as_ref(), &self.config, &shape, &self.state.device)?;
        write_atomic(&self.dir.samples(), |tmp| Ok(samples.write_npy(tmp)?))?;
        let report = eval::compare_with_data(&samples, chains, &self.config, acceptance)?;
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
                &plots::grid_energy(
                    view.as_ref(),
                    self.config.data.plot_bounds(),
                    &self.state.device,
                )?,
                self.config.data.plot_bounds(),
                &self.data_points,
                &pts,
                "model samples",
            )?;
        }
        if image_plots::is_image(&self.config.data.sample_shape()) {
            self.image_figures(view.as_ref(), &samples)?;
        }
        if let Some(m) = &self.metrics {
            plots::curves(&self.dir.plots(), m)?;
        }
        Ok(report)
    }
}

impl Trainer {
    /// `samples_step_N.png`: a grid of fresh samples, drawn as `[eval]` draws them but only
    /// `GRID_IMAGES` of them. The chains start from the same seeded noise at every interval, so
    /// the grids show how the model's samples change as it trains (the replay buffer's grid
    /// shows the chains training actually used).
    fn progress_samples_grid(&self) -> Result<()> {
        let mut config = self.config.clone();
        config.eval.n_samples = image_plots::GRID_IMAGES;
        let view = self.state.model.detached();
        let (samples, _) = eval::draw_samples_from(
            view.as_ref(),
            &config,
            &self.state.input_shape(),
            &self.state.device,
            "progress-samples",
        )?;
        let s = self.state.step;
        image_plots::grid(
            &self.dir.plots().join(format!("samples_step_{s:07}.png")),
            &format!("step {s}: samples, {} steps", config.eval.steps),
            &samples,
            &config.data.sample_shape(),
        )
    }

    /// The final sample grid and, for models with energy values, E(test data) vs E(samples).
    fn image_figures(&self, view: &dyn ebm_core::Energy, samples: &Tensor) -> Result<()> {
        let steps = self.config.eval.steps;
        image_plots::grid(
            &self.dir.plots().join("samples_final.png"),
            &format!("step {}: samples after {steps} steps", self.state.step),
            samples,
            &self.config.data.sample_shape(),
        )?;
        if !view.has_energy_values() {
            return Ok(());
        }
        let n = samples.dims()[0].min(500);
        let data = self
            .config
            .data
            .sample(
                n,
                &mut ebm_core::rng::stream(self.config.seed, "eval-hist", 0),
            )?
            .to_tensor(&self.state.device)?;
        image_plots::energy_histogram(
            &self.dir.plots().join("energy_hist.png"),
            &format!("step {}: energies", self.state.step),
            &view.energy(&data)?,
            &view.energy(&samples.narrow(0, 0, n)?)?,
        )
    }
}

fn progress_bar(total: u64, done: u64, leader: bool) -> ProgressBar {
    let bar = if leader && std::io::stderr().is_terminal() {
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
