//! ebm-launch: runs a TOML-configured training job.
//!
//! ```text
//! ebm-launch CONFIG [--out DIR] [--set key=value]...      # a new run
//! ebm-launch --resume DIR [--set key=value]...            # continue DIR from its newest checkpoint
//! ebm-launch sample DIR [--n 2000] [--steps 500] [--sampler NAME] [--set-sampler key=value]...
//!            [--seed S] [--thin K] [--out FILE.npy]       # draw samples from a trained run
//! ```
//!
//! A custom binary that links its own plugins is three lines:
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     ebm_launch::run()
//! }
//! ```
//! Exit codes: 0 success, 1 the run failed (I/O, divergence), 2 the command line or the config is
//! wrong (the message names the key and the file).

use clap::{Args, Parser, Subcommand};
use ebm_core::PluginSpec;
use ebm_train::{Error, SampleRunOptions, Start, Trainer};
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
    /// Continue the run in DIR from its newest checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
}

/// What else the launcher does besides training.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw samples from a trained run's newest checkpoint, with diagnostics and plots.
    Sample(SampleArgs),
}

/// `ebm-launch sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The run folder (holds config.toml and checkpoints/).
    pub run_dir: PathBuf,
    /// Number of chains, hence of samples.
    #[arg(long, default_value_t = 2000)]
    pub n: usize,
    /// Sampler steps from the run's [eval.init] distribution.
    #[arg(long, default_value_t = 500)]
    pub steps: u64,
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
    /// The samples file (default: RUN_DIR/sampled/samples.npy); the other outputs go beside it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    init_logging();
    match execute(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_config() { 2 } else { 1 })
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests call run_with repeatedly) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn execute(cli: &Cli) -> Result<(), Error> {
    if let Some(Command::Sample(args)) = &cli.command {
        return sample(args);
    }
    let (config_path, dir, start) = match (&cli.resume, &cli.config) {
        (Some(dir), config) => (
            config.clone().unwrap_or_else(|| dir.join("config.toml")),
            dir.clone(),
            Start::Resume,
        ),
        (None, Some(config)) => {
            let dir = cli.out.clone().unwrap_or_else(|| default_out(config));
            (config.clone(), dir, Start::Fresh)
        }
        (None, None) => {
            return Err(Error::Config(
                "no config given: ebm-launch CONFIG, or ebm-launch --resume DIR".into(),
            ))
        }
    };
    let loaded = ebm_train::load(&config_path, &cli.sets)?;
    let mut trainer = Trainer::new(&loaded, &dir, start)?;
    tracing::info!(run = %dir.display(), config = %config_path.display(), "training");
    let summary = trainer.run()?;
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
    println!("  samples.npy ({} × {} sampler steps from noise), eval.json, metrics.jsonl, plots/, checkpoints/", e.n_samples, e.steps);
    Ok(())
}

fn sample(args: &SampleArgs) -> Result<(), Error> {
    let opts = SampleRunOptions {
        n: args.n,
        steps: args.steps,
        sampler: args.sampler.as_deref().map(PluginSpec::new),
        sampler_sets: args.sampler_sets.clone(),
        seed: args.seed,
        thin: args.thin,
        out: args
            .out
            .clone()
            .unwrap_or_else(|| args.run_dir.join("sampled").join("samples.npy")),
    };
    let report = ebm_train::sample_from_run(&args.run_dir, &opts)?;
    println!(
        "sampled {} chains × {} `{}` steps from {} (training step {})",
        opts.n,
        opts.steps,
        report.sampler.kind,
        report.checkpoint.display(),
        report.train_step
    );
    if let Some(a) = report.mean_acceptance {
        println!("  mean acceptance {a:.3}");
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
