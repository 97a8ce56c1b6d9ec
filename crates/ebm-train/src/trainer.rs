//! The training loop on one rank of N (N = 1 for single-device training): steps, metrics rows
//! (and their TensorBoard events, with the figures each hook call wrote), checkpoints, and the
//! calls into the run's [`RunHooks`] (progress figures at the plot interval, the final evaluation
//! after the last step). What rank 0 alone does is [`RankRole`]'s to say;
//! every collective (chain gathers for the hooks and checkpoints, the report broadcast) is called
//! by all ranks on the same schedule.

use crate::dist::{self, wire::broadcast_bytes};
use crate::resume::restore_newest;
use crate::tensorboard::{self, figures::PngSnapshot, EventWriter};
use crate::{
    checkpoint, step, write_atomic, Error, LoadedConfig, MetricsLog, RankRole, Result, RunConfig,
    RunDir, RunHooks, RunView, TrainState,
};
use candle_core::{Device, Tensor};
use ebm_dist::{broadcast_tensors, Collective, SingleRank};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Fresh run or continuation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    Fresh,
    /// From the run folder's newest checkpoint that verifies.
    Resume,
    /// From this checkpoint file (`--resume DIR --checkpoint FILE`); it must verify. Newer
    /// checkpoints of the run are moved to `checkpoints/superseded/`, not overwritten.
    ResumeFrom(std::path::PathBuf),
}

/// What a finished run reports (the same on every rank: rank 0's hooks produce `eval` and share
/// it).
#[derive(Clone, Debug)]
pub struct TrainSummary<R> {
    pub steps: u64,
    pub train_seconds: f64,
    /// The hooks' report (`ebm_eval::EvalReport` with `ebm_eval::EvalHooks`).
    pub eval: R,
}

pub struct Trainer {
    config: RunConfig,
    dir: RunDir,
    state: TrainState,
    coll: Arc<dyn Collective>,
    role: RankRole,
    /// A resume's resolved config when it differs from the run's newest recorded one: written
    /// to `config.resume-N.toml` with the resume's first checkpoint (or when it finishes).
    pending_config: Option<String>,
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
        let dir = match (&start, leader) {
            (Start::Fresh, true) => RunDir::create(dir)?,
            (Start::Resume | Start::ResumeFrom(_), true) => RunDir::open(dir)?,
            (_, false) => RunDir::at(dir),
        };
        // `config.toml` is the fresh run's resolved config, written first so that a run that
        // stops before its first checkpoint can be resumed from step 0. A resume that changes
        // the config records it in `config.resume-N.toml` once it has saved a checkpoint.
        let mut pending_config = None;
        if leader {
            let text = config.to_toml()?;
            if start == Start::Fresh || !dir.config().is_file() {
                write_text(&dir.config(), &text)?;
            } else if std::fs::read_to_string(RunDir::config_in_force(dir.root()))
                .ok()
                .as_deref()
                != Some(&text)
            {
                pending_config = Some(text);
            }
        }
        let mut role = match (&start, leader) {
            (Start::Fresh, true) => RankRole::Writer {
                metrics: MetricsLog::create(&dir.metrics())?,
                events: fresh_events(&dir, &config)?,
            },
            _ => RankRole::Follower,
        };
        if start != Start::Fresh {
            let chosen = match &start {
                Start::ResumeFrom(file) => Some(file.as_path()),
                _ => None,
            };
            match restore_newest(coll, &dir, &mut state, &device, chosen)? {
                Some(path) => {
                    tracing::info!(checkpoint = %path.display(), step = state.step, "resuming");
                    if leader && state.step >= config.train.steps {
                        tracing::warn!(
                            "the checkpoint is at step {} and train.steps = {}: nothing left to \
                             train; evaluating the step-{} model (raise train.steps to train on)",
                            state.step,
                            config.train.steps,
                            state.step
                        );
                    }
                }
                None if leader => tracing::warn!(
                    run = %dir.root().display(),
                    config = %RunDir::config_in_force(dir.root()).display(),
                    "the run has no checkpoint (it stopped before its first one): starting again from step 0"
                ),
                None => {}
            }
            if leader {
                role = RankRole::Writer {
                    metrics: MetricsLog::resume(&dir.metrics(), state.step)?,
                    events: resumed_events(&dir, &config, state.step)?,
                };
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
        Ok(Trainer {
            config,
            dir,
            state,
            coll: collective,
            role,
            pending_config,
        })
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.dir
    }

    pub fn state(&self) -> &TrainState {
        &self.state
    }

    pub fn role(&self) -> &RankRole {
        &self.role
    }

    /// Trains to `train.steps`, calling `hooks` at the plot interval and at the end (on rank 0;
    /// see [`RunHooks`]), and returns the hooks' final report with the run's length.
    pub fn run<H: RunHooks>(&mut self, hooks: &mut H) -> Result<TrainSummary<H::Report>> {
        let coll = self.coll.clone();
        let _span = tracing::info_span!("rank", rank = coll.rank()).entered();
        let train = self.config.train.clone();
        let progress = progress_bar(train.steps, self.state.step, self.role.is_writer());
        let draws_progress = hooks.draws_progress(&self.config, &self.state.input_shape());
        let started = Instant::now();
        while self.state.step < train.steps {
            let row = step::train_step_on(&mut self.state, &self.config, coll.as_ref())
                .map_err(|e| self.with_advice(e))?;
            dist::after_step(coll.as_ref(), &mut self.state, &self.config)?;
            let s = self.state.step;
            progress.inc(1);
            if s.is_multiple_of(train.log_every) || s == train.steps {
                progress.set_message(format!("loss {:.4}", row.get("loss").unwrap_or(f64::NAN)));
                if let RankRole::Writer { metrics, events } = &mut self.role {
                    if progress.is_hidden() {
                        let vals: Vec<String> = row
                            .values
                            .iter()
                            .map(|(k, v)| format!("{k}={v:.4}"))
                            .collect();
                        tracing::info!("step {s}/{} {}", train.steps, vals.join(" "));
                    }
                    if let Some(events) = events {
                        tensorboard::log_row(events, &row, &self.state)?;
                    }
                    metrics.append(row)?;
                }
            }
            if draws_progress
                && train.plot_every > 0
                && s.is_multiple_of(train.plot_every)
                && s < train.steps
            {
                // A collective: every rank takes part, the writer's hooks draw.
                let chains = self.all_chains()?;
                let before = self.figures_snapshot();
                if let Some(view) = self.view(chains.as_ref()) {
                    hooks.progress(&view)?;
                }
                self.log_figures(before.as_ref(), s)?;
            }
            if s.is_multiple_of(train.checkpoint_every) || s == train.steps {
                if let Some(ckpt) = dist::gather_checkpoint(coll.as_ref(), &self.state)? {
                    self.record_config()?;
                    checkpoint::save(&self.dir.checkpoints(), s, &ckpt)?;
                    checkpoint::prune(&self.dir.checkpoints(), train.keep_checkpoints)?;
                }
            }
        }
        progress.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = self.finish(hooks)?;
        self.record_config()?;
        Ok(TrainSummary {
            steps: self.state.step,
            train_seconds,
            eval,
        })
    }

    /// Records a resume's changed config as `config.resume-N.toml` (once).
    fn record_config(&mut self) -> Result<()> {
        if let Some(text) = self.pending_config.take() {
            let path = self.dir.next_resume_config();
            write_text(&path, &text)?;
            tracing::info!(config = %path.display(), "recorded the resumed run's config");
        }
        Ok(())
    }

    /// What the hooks see, on the writer (`None` on the other ranks).
    fn view<'a>(&'a self, chains: Option<&'a Tensor>) -> Option<RunView<'a>> {
        Some(RunView {
            config: &self.config,
            dir: &self.dir,
            state: &self.state,
            metrics: self.role.metrics()?,
            chains,
        })
    }

    /// The figures as they are before a hook call, on a writer that logs to TensorBoard.
    fn figures_snapshot(&self) -> Option<PngSnapshot> {
        self.role
            .events()
            .map(|_| PngSnapshot::take(&self.dir.plots()))
    }

    /// The figures written since `before` (a hook call's) as TensorBoard images at `step`.
    fn log_figures(&mut self, before: Option<&PngSnapshot>, step: u64) -> Result<()> {
        match (before, self.role.events_mut()) {
            (Some(before), Some(events)) => {
                tensorboard::log_figures(events, before, &self.dir.plots(), step)
            }
            _ => Ok(()),
        }
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
        if !self.role.is_writer() {
            return e; // rank 0 reports the same divergence with the advice
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

    /// The writer's hooks finish the run; every rank gets their report.
    fn finish<H: RunHooks>(&mut self, hooks: &mut H) -> Result<H::Report> {
        let chains = self.all_chains()?;
        let coll = self.coll.clone();
        let step = self.state.step;
        let before = self.figures_snapshot();
        let view = self.view(chains.as_ref());
        if coll.world_size() == 1 {
            let view = view.expect("the only rank is the writer");
            let report = hooks.finish(&view)?;
            self.log_figures(before.as_ref(), step)?;
            return Ok(report);
        }
        // TOML rather than JSON: it round-trips NaN and infinities, which a failed eval can hold.
        let text = match view {
            Some(view) => {
                let report = hooks.finish(&view)?;
                self.log_figures(before.as_ref(), step)?;
                toml::to_string(&report).map_err(Error::serialize("the run's report"))?
            }
            None => String::new(),
        };
        let text = broadcast_bytes(coll.as_ref(), text.as_bytes(), 0)?;
        let malformed = |message: String| Error::Wire {
            what: "the run's report",
            rank: 0,
            message,
        };
        let text = std::str::from_utf8(&text).map_err(|e| malformed(e.to_string()))?;
        toml::from_str(text).map_err(|e| malformed(e.to_string()))
    }
}

/// A resolved config's text into `path`, atomically.
fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, text).map_err(Error::io(tmp))
    })
}

/// A fresh run's TensorBoard writer (`train.tensorboard`), which starts with the resolved config.
fn fresh_events(dir: &RunDir, config: &RunConfig) -> Result<Option<EventWriter>> {
    if !config.train.tensorboard {
        return Ok(None);
    }
    let mut events = EventWriter::create(&dir.tensorboard())?;
    let text = tensorboard::config_markdown(&config.to_toml()?);
    events.text(tensorboard::CONFIG_TAG, 0, &text)?;
    events.flush()?;
    Ok(Some(events))
}

/// The TensorBoard writer of a run resumed at `step`. Existing event files are trimmed to `step`
/// even with `train.tensorboard` now off, so that they keep agreeing with `metrics.jsonl`.
fn resumed_events(dir: &RunDir, config: &RunConfig, step: u64) -> Result<Option<EventWriter>> {
    let tb = dir.tensorboard();
    if !config.train.tensorboard && !tb.exists() {
        return Ok(None);
    }
    let events = EventWriter::resume(&tb, step)?;
    Ok(Some(events).filter(|_| config.train.tensorboard))
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
