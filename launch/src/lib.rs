//! ebm-launch: runs a TOML-configured training job.
//!
//! ```text
//! ebm-launch CONFIG [--out DIR] [--set key=value]...      # a new run (--force: into a folder
//!                                                         # holding files it would overwrite)
//! ebm-launch --resume DIR [--set key=value]...            # continue DIR from its newest checkpoint
//! ebm-launch --resume DIR --checkpoint FILE               # … or from the checkpoint FILE
//! ebm-launch CONFIG --cpus N [--spawn] ...                # data parallel: N CPU ranks (threads,
//!                                                         # or one worker process per rank)
//! ebm-launch CONFIG --gpus N [--nnodes M --node-rank R --master-addr A --master-port P]
//! ebm-launch sample DIR [--n 2000] [--steps 500] [--sampler NAME] [--set-sampler key=value]...
//!            [--seed S] [--thin K] [--out FILE.npy]       # draw samples from a trained run
//! ebm-launch eval DIR [--n N] [--steps K] [--classifier FILE] [--ais-chains M] ...
//!                                                         # evaluate it: DIR/evaluation/report.json
//! ebm-launch eval DIR --samples FILE.npy ...              # score samples made elsewhere
//! ebm-launch energy DIR --points X.npy --out E.npy [--grad] # E(x) (and ∇ₓE) at your points
//! ebm-launch check CONFIG [--set ...] [--ranks N]        # validate without training
//! ebm-launch completions bash|zsh|fish                    # shell completion script
//! ```
//!
//! A custom binary that links its own plugins is three lines:
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     ebm_launch::run()
//! }
//! ```
//! Exit codes: 0 success, 1 the run failed (I/O, divergence, an internal error), 2 what the user
//! wrote or gave is wrong: the command line, the config (the message names the key and the
//! file), a data file, a run folder ([`cli::LaunchError::exit_code`]).
//!
//! Data parallel with worker processes, torchrun's way (modules: [`cli`] flags → launch spec,
//! [`agent`] the launcher's side (store, workers, watch),
//! [`rendezvous`] the environment contract and config agreement, [`spawn`] starting workers,
//! [`watch`] the monitor loop that stops every worker when one fails, [`worker`] one rank): the
//! launcher runs the rendezvous store and re-executes this binary once per rank; a worker is
//! the same binary with `EBMLAUNCH_WORKER=1` and RANK, WORLD_SIZE, ... in its environment.

pub mod agent;
pub mod check;
pub mod cli;
mod density_lines;
mod eval;
pub mod heartbeat;
pub mod logging;
mod outputs;
pub mod rendezvous;
pub mod restart;
pub mod spawn;
pub mod watch;
pub mod worker;

use clap::{Args, Parser, Subcommand};
use cli::{DistArgs, LaunchError, Mode};
use ebm_core::PluginSpec;
use ebm_eval::{EvalHooks, EvalReport, SampleRunOptions};
use ebm_train::{Error, Start, TrainSummary, Trainer};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// candle allocates a fresh buffer for every op; glibc malloc returns large ones to the OS each
// time (mmap threshold), which made training 2-3x slower. mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train an energy-based model from a TOML file.
#[derive(Debug, Parser)]
// `args_conflicts_with_subcommands`: `ebm-launch CONFIG ...` keeps working beside
// `ebm-launch sample DIR ...`; a first argument `sample` always means the subcommand.
#[command(name = "ebm-launch", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The run's TOML config (with --resume it defaults to DIR/config.toml).
    pub config: Option<PathBuf>,
    /// Run folder (default: runs/<config name>, with a numeric suffix if taken).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override a config key, e.g. --set train.steps=500 (applied after the file and EBM_* env).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Continue the run in DIR from its newest checkpoint, with its newest resolved config
    /// (`config.toml` or the latest `config.resume-N.toml`) unless CONFIG is given; a folder
    /// whose run stopped before its first checkpoint starts again from step 0.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// With --resume: continue from this checkpoint file instead of the newest one (it must
    /// verify; the run's newer checkpoints are moved to checkpoints/superseded/, not lost).
    #[arg(long, value_name = "FILE", requires = "resume")]
    pub checkpoint: Option<PathBuf>,
    /// Train into --out even though it holds files a fresh run would overwrite (config.toml,
    /// samples.npy, eval.json) that are not a run's, such as the config given.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    #[command(flatten)]
    pub dist: DistArgs,
    #[command(flatten)]
    pub log: logging::LogArgs,
}

/// What `--gpus` says on a build without CUDA support.
pub const NO_CUDA: &str = "--gpus needs a build with CUDA support: \
    cargo build --release -p ebm-launch --features cuda-train (needs the CUDA toolkit; see \
    docs/gpu-build.md), or train on CPU ranks with --cpus N";

/// What else the launcher does besides training.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw samples from a trained run's newest checkpoint, with diagnostics and plots.
    Sample(SampleArgs),
    /// Evaluate a trained run's newest checkpoint: sample distances; AIS log Z and test
    /// log-likelihood (low-dimensional data); FID-like distance, KID, mode coverage and OOD
    /// AUROC (images). With --samples, score samples made elsewhere instead of the model's.
    /// Writes RUN_DIR/evaluation/report.json and figures.
    Eval(EvalArgs),
    /// Check a config without training: keys, plugins and their parameters, the data (files,
    /// shapes), the model's size, memory per rank; prints the resolved config. Exit 0 or 2.
    Check(CheckArgs),
    /// E(x), and with --grad ∇ₓE, of a trained run's newest checkpoint at the points of a .npy
    /// file (float32/float64, the run's data shape or flattened); written as float32 .npy.
    Energy(EnergyArgs),
    /// Print a shell completion script: `ebm-launch completions bash > ~/.local/share/bash-completion/completions/ebm-launch`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `ebm-launch check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The TOML config.
    pub config: PathBuf,
    /// Override a config key, as for training.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Ranks the run will have (--gpus N or --cpus N; default: the config's dist.ranks).
    #[arg(long, value_name = "N")]
    pub ranks: Option<usize>,
}

/// `ebm-launch energy`.
#[derive(Debug, Args)]
pub struct EnergyArgs {
    /// The run folder (holds config.toml and checkpoints/).
    pub run_dir: PathBuf,
    /// The points, .npy float32/float64, shape [N, ...data shape] or [N, flat].
    #[arg(long, value_name = "FILE.npy")]
    pub points: PathBuf,
    /// The energies, float32 [N].
    #[arg(long, value_name = "FILE.npy")]
    pub out: PathBuf,
    /// Also write ∇ₓE (float32, the points' shape) to FILE_grad.npy beside --out.
    #[arg(long)]
    pub grad: bool,
    /// Use this checkpoint file instead of the run's newest.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Write --out even where it is a file of a run (config.toml, metrics.jsonl, ...).
    #[arg(long)]
    pub force: bool,
}

/// `ebm-launch eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run folder (holds config.toml and checkpoints/).
    pub run_dir: PathBuf,
    /// Model samples to draw (default: the run's eval.n_samples).
    #[arg(long)]
    pub n: Option<usize>,
    /// Sampler steps from the run's [eval.init] (default: the run's eval.steps).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Seed of the samples and reference sets (default: the run's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The feature classifier of image runs (default: ~/.cache/ebm/classifier_<kind>.safetensors,
    /// trained on the run's training images the first time, ~1 min for Fashion-MNIST).
    #[arg(long, value_name = "FILE")]
    pub classifier: Option<PathBuf>,
    /// Epochs when the classifier has to be trained.
    #[arg(long, default_value_t = 3)]
    pub classifier_epochs: usize,
    /// AIS chains (low-dimensional runs).
    #[arg(long, default_value_t = 256)]
    pub ais_chains: usize,
    /// AIS intermediate temperatures.
    #[arg(long, default_value_t = 1000)]
    pub ais_temperatures: usize,
    /// σ of AIS's N(0, σ²I) base distribution; it should cover the data.
    #[arg(long, default_value_t = 1.0)]
    pub ais_base_std: f64,
    /// Output folder (default: RUN_DIR/evaluation).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Score the samples in this .npy file (float32/float64, [N, ...data shape] or [N, flat];
    /// images scaled to [-1, 1]) instead of drawing them from the model; the model-only metrics
    /// (AIS, OOD AUROC, the replay buffer's) still come from the run's checkpoint.
    #[arg(long, value_name = "FILE.npy")]
    pub samples: Option<PathBuf>,
    /// Use this checkpoint file instead of the run's newest.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
}

/// `ebm-launch sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The run folder (holds config.toml and checkpoints/).
    pub run_dir: PathBuf,
    /// Number of chains, hence of samples (default: 2000, or the rows of --init).
    #[arg(long)]
    pub n: Option<usize>,
    /// Sampler steps from the run's [eval.init] distribution (or from --init).
    #[arg(long, default_value_t = 500)]
    pub steps: u64,
    /// Start the chains at this file's points (float32/float64 .npy, one chain per row, the
    /// run's data shape or flattened) instead of the run's [eval.init], e.g. the samples of an
    /// earlier `sample` with another checkpoint.
    #[arg(long, value_name = "FILE.npy")]
    pub init: Option<PathBuf>,
    /// Sampler to use with its default parameters (default: the run's [eval.sampler] or [sampler]).
    #[arg(long, value_name = "NAME")]
    pub sampler: Option<String>,
    /// Override a sampler parameter, e.g. --set-sampler step_size=0.005.
    #[arg(long = "set-sampler", value_name = "KEY=VALUE")]
    pub sampler_sets: Vec<String>,
    /// Seed of the chains (default: the run's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep every K-th state for the diagnostics and the path plot.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub thin: u64,
    /// Use this checkpoint file instead of the run's newest.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// The samples file (default: RUN_DIR/sampled/samples.npy); the other outputs go beside it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write --out (and the files beside it) even where they are files of a run (config.toml,
    /// metrics.jsonl, samples.npy, ...).
    #[arg(long)]
    pub force: bool,
}

/// Parses the command line, runs the job, and returns the process exit code.
pub fn run() -> ExitCode {
    run_with(Cli::parse())
}

/// Runs a parsed command line (used by tests).
pub fn run_with(cli: Cli) -> ExitCode {
    // Before any backward: score-matching losses differentiate gradients (see ebm_core).
    ebm_core::ensure_double_backward();
    // Referencing the built-in plugin crates keeps their registrations in the binary.
    ebm_samplers::link();
    ebm_losses::link();
    ebm_integrators::link();
    ebm_interpolants::link();
    logging::init(&cli.log);
    let outcome = if std::env::var(rendezvous::WORKER_MARKER).as_deref() == Ok("1") {
        resolve(&cli)
            .map_err(LaunchError::from)
            .and_then(|(config, _dir, start)| worker::run_worker(&config, &cli.sets, start))
    } else {
        execute(&cli)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn execute(cli: &Cli) -> Result<(), LaunchError> {
    match &cli.command {
        Some(Command::Sample(args)) => {
            outputs::refuse_run_files(
                sample_outputs(args).iter().map(PathBuf::as_path),
                args.force,
            )?;
            return Ok(sample(args)?);
        }
        Some(Command::Eval(args)) => return Ok(eval::run(args)?),
        Some(Command::Energy(args)) => {
            let grad = grad_path(&args.out);
            let written = [args.out.as_path()]
                .into_iter()
                .chain(args.grad.then_some(grad.as_path()));
            outputs::refuse_run_files(written, args.force)?;
            return Ok(energy(args)?);
        }
        Some(Command::Check(args)) => {
            let report = check::check(&args.config, &args.sets, args.ranks)?;
            check::print(&args.config, &report);
            return Ok(());
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "ebm-launch", &mut std::io::stdout());
            return Ok(());
        }
        None => {}
    }
    let mode = cli.dist.mode()?;
    if let Mode::Processes(spec) = &mode {
        if spec.device == cli::Device::Gpu {
            agent::check_gpus(spec.nproc)?;
        }
    }
    let (config_path, dir, start) = resolve(cli)?;
    if start == Start::Fresh {
        outputs::check_fresh_out(&dir, &config_path, cli.force)?;
    }
    let loaded = ebm_train::load(&config_path, &cli.sets)?;
    tracing::info!(run = %dir.display(), config = %config_path.display(), "training");
    let summary = match mode {
        // Without flags, the config's `dist.ranks` (default 1) says how many thread ranks.
        Mode::Single if loaded.config.dist.ranks > 1 => {
            worker::train_local_ranks(&loaded, &dir, start, loaded.config.dist.ranks)?
        }
        Mode::Single => Trainer::new(&loaded, &dir, start)?.run(&mut EvalHooks::new())?,
        Mode::Threads(n) => worker::train_local_ranks(&loaded, &dir, start, n)?,
        Mode::Processes(spec) => {
            let heartbeat =
                std::time::Duration::from_secs_f64(loaded.config.dist.heartbeat_timeout);
            return agent::launch_workers(&spec, &dir, heartbeat);
        }
    };
    print_summary(&dir, &summary);
    Ok(())
}

/// The config file, the run folder and how to start, from the command line. A resume reads the
/// run's newest resolved config unless it is given one.
fn resolve(cli: &Cli) -> Result<(PathBuf, PathBuf, Start), Error> {
    match (&cli.resume, &cli.config) {
        (Some(dir), config) => Ok((
            config
                .clone()
                .unwrap_or_else(|| ebm_train::RunDir::config_in_force(dir)),
            dir.clone(),
            match &cli.checkpoint {
                Some(file) => Start::ResumeFrom(file.clone()),
                None => Start::Resume,
            },
        )),
        (None, Some(config)) => {
            let dir = cli.out.clone().unwrap_or_else(|| default_out(config));
            Ok((config.clone(), dir, Start::Fresh))
        }
        (None, None) => Err(Error::Config(
            "no config given: ebm-launch CONFIG, or ebm-launch --resume DIR".into(),
        )),
    }
}

/// `ebm-launch energy`: scores the points and says where the outputs went.
fn energy(args: &EnergyArgs) -> ebm_eval::Result<()> {
    let grad_out = args.grad.then(|| grad_path(&args.out));
    let opts = ebm_eval::EnergyRunOptions {
        points: args.points.clone(),
        out: args.out.clone(),
        grad_out: grad_out.clone(),
        checkpoint: args.checkpoint.clone(),
    };
    let report = ebm_eval::energy_of_points(&args.run_dir, &opts)?;
    println!(
        "scored {} points with {} (training step {}): E → {}{}",
        report.n,
        report.checkpoint.display(),
        report.train_step,
        args.out.display(),
        grad_out.map_or(String::new(), |g| format!(", ∇ₓE → {}", g.display()))
    );
    Ok(())
}

/// `E.npy` → `E_grad.npy`, beside it.
fn grad_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("energy".into(), |s| s.to_string_lossy());
    out.with_file_name(format!("{stem}_grad.npy"))
}

/// What a finished run prints.
pub(crate) fn print_summary(dir: &Path, summary: &TrainSummary<EvalReport>) {
    let e = &summary.eval;
    println!("run folder: {}", dir.display());
    println!(
        "  steps {}  train time {:.1} s",
        summary.steps, summary.train_seconds
    );
    println!(
        "  MMD² to fresh data {:.5} (bandwidth {}; fresh-vs-fresh floor {:.5}, init noise {:.5}), energy distance {:.4}",
        e.mmd2, e.mmd_bandwidth, e.mmd2_floor, e.mmd2_init, e.energy_distance
    );
    if let Some(c) = e.mmd2_chains {
        println!("  MMD² of the persistent chains to fresh data {c:.5}");
    }
    density_lines::print(e);
    println!("  samples.npy ({} × {} sampler steps from noise), eval.json, metrics.jsonl, plots/, checkpoints/", e.n_samples, e.steps);
}

fn sample(args: &SampleArgs) -> ebm_eval::Result<()> {
    let opts = SampleRunOptions {
        n: args.n,
        steps: args.steps,
        sampler: args.sampler.as_deref().map(PluginSpec::new),
        sampler_sets: args.sampler_sets.clone(),
        seed: args.seed,
        thin: args.thin,
        out: sample_out(args),
        checkpoint: args.checkpoint.clone(),
        init: args.init.clone(),
    };
    let report = ebm_eval::sample_from_run(&args.run_dir, &opts)?;
    println!(
        "sampled {} chains × {} `{}` steps from {} (training step {})",
        report.n,
        opts.steps,
        report.sampler.kind,
        report.checkpoint.display(),
        report.train_step
    );
    if let Some(a) = report.mean_acceptance {
        println!("  mean acceptance {a:.3}");
    }
    for (name, v) in &report.sampler_diagnostics {
        println!("  {name} {v:.4} (mean per step)");
    }
    for d in &report.dims {
        println!(
            "  dim {}: mean {:.4}  var {:.4}  ESS {:.1}  split-R̂ {:.4}",
            d.dim, d.mean, d.variance, d.ess, d.rhat
        );
    }
    println!("  {}", report.samples.display());
    println!("  {}", report.diagnostics.display());
    for p in &report.plots {
        println!("  {}", p.display());
    }
    Ok(())
}

/// Where `sample` writes its samples (the other outputs go beside them).
fn sample_out(args: &SampleArgs) -> PathBuf {
    args.out
        .clone()
        .unwrap_or_else(|| args.run_dir.join("sampled").join("samples.npy"))
}

/// Every file `sample` writes: the samples and, beside them (named as `ebm_eval::sample_from_run`
/// names them), their diagnostics and the 2-D figures.
fn sample_outputs(args: &SampleArgs) -> Vec<PathBuf> {
    let out = sample_out(args);
    let stem = out
        .file_stem()
        .map_or("samples".into(), |s| s.to_string_lossy().into_owned());
    let beside = ["_diagnostics.json", ".png", "_trajectories.png"]
        .map(|suffix| out.with_file_name(format!("{stem}{suffix}")));
    std::iter::once(out).chain(beside).collect()
}

/// runs/<config stem>, or runs/<stem>-2, -3, … if taken.
fn default_out(config: &Path) -> PathBuf {
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let base = PathBuf::from("runs").join(stem);
    (1..)
        .map(|i| {
            if i == 1 {
                base.clone()
            } else {
                PathBuf::from(format!("{}-{i}", base.display()))
            }
        })
        .find(|p| !p.exists())
        .unwrap_or(base)
}
