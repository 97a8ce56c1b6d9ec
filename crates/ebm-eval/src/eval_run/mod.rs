//! `ebm-launch eval RUN_DIR`: the full evaluation of a trained run, written as JSON (and figures)
//! into `RUN_DIR/evaluation/`.
//!
//! Every run gets the sample distances of the end-of-training evaluation (MMD² with its floor and
//! the init-noise ceiling, energy distance), on a fresh set of samples drawn as `[eval]` says.
//! Then, by kind of data:
//! - low-dimensional data (≤ [`likelihood::MAX_AIS_DIM`] dimensions, energy head): log Z by
//!   annealed importance sampling and the average test log-likelihood −E(x) − log Ẑ
//!   ([`likelihood`]);
//! - images: the FID-like Fréchet distance and KID in the feature space of a classifier ebm
//!   trains itself ([`crate::classifier`]), each beside its floor (two halves of the test split)
//!   and its noise ceiling, and the out-of-distribution AUROC of the energy score −E(x) for test
//!   images against uniform noise, vertically flipped, inverted, Gaussian-blurred and
//!   pixel-shuffled test images, and the classifier's predicted-class histograms (mode
//!   coverage) of the samples, the replay buffer and the test images ([`images`]).
//!
//! With [`EvalRunOptions::samples`] (`ebm-launch eval --samples FILE.npy`) the samples are read
//! from a file made elsewhere instead of drawn from the model ([`samples_file`]): the
//! sample-quality metrics (MMD², energy distance, FID-like, KID, mode coverage) score the file.
//! A file of N samples is evaluated as `--n N` would evaluate the model: the same reference
//! sets, floors and ceilings, and what needs only the model and the data (AIS log Z and the
//! test log-likelihood, the OOD AUROCs, the replay buffer's metrics) computed from the run's
//! checkpoint, identical to `--n N`'s numbers. The energy histogram shows the model's energies
//! of the file's samples. The report's `samples_source` says which samples were scored.

mod images;
mod likelihood;
pub(crate) mod samples_file;

use samples_file::Source;

pub use images::{ImageReport, ModeCoverage, OodReport};
pub use likelihood::{LikelihoodReport, MAX_AIS_DIM};

use crate::ais::AisConfig;
use crate::classifier::ClassifierConfig;
use crate::density_fit::density_fit;
use crate::trained_run::TrainedRun;
use crate::{compare_with_data, draw_samples_through, image_plots, Error, EvalReport, Result};
use candle_core::Device;
use ebm_core::PluginSpec;
use ebm_train::{write_atomic, Error as TrainError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to evaluate and where to write it.
#[derive(Clone, Debug, Default)]
pub struct EvalRunOptions {
    /// Model samples (default: the run's `eval.n_samples`).
    pub n: Option<usize>,
    /// Sampler steps from the init distribution (default: the run's `eval.steps`).
    pub steps: Option<u64>,
    /// Seed of the samples and reference sets (default: the run's seed).
    pub seed: Option<u64>,
    /// The classifier file for image features (default: the user's cache, trained on first use).
    pub classifier: Option<PathBuf>,
    pub classifier_config: ClassifierConfig,
    /// AIS settings (its seed is replaced by the evaluation seed).
    pub ais: AisConfig,
    /// The output folder (default: `RUN_DIR/evaluation`).
    pub out_dir: Option<PathBuf>,
    /// Score the samples in this .npy file instead of drawing them (`n` and `steps` must then
    /// be unset).
    pub samples: Option<PathBuf>,
    /// Evaluate this checkpoint instead of the newest.
    pub checkpoint: Option<PathBuf>,
}

/// `evaluation/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct EvalRunReport {
    pub checkpoint: PathBuf,
    pub train_step: u64,
    pub seed: u64,
    /// The sampler that drew the samples (absent when they were read from a file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler: Option<PluginSpec>,
    /// Which samples were scored: `model` (drawn now, as `[eval]` says) or `file:PATH`
    /// (`--samples`).
    pub samples_source: String,
    /// The earlier checkpoints the model's samples went through before `checkpoint`, oldest
    /// first (`[eval] through_checkpoints`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub through_checkpoints: Vec<PathBuf>,
    /// Sample distances in input space (pixels for images, where they say little: see `images`).
    /// For samples from a file, `steps` is 0 and `mean_acceptance` absent.
    pub samples: EvalReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<LikelihoodReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageReport>,
    /// Files written besides the report.
    pub figures: Vec<PathBuf>,
}

/// Evaluates the newest checkpoint of `run_dir` (see the module docs) and writes the report.
/// Returns it with the report's path.
pub fn evaluate_run(run_dir: &Path, opts: &EvalRunOptions) -> Result<(EvalRunReport, PathBuf)> {
    let device = Device::Cpu;
    if opts.samples.is_some() && (opts.n.is_some() || opts.steps.is_some()) {
        return Err(Error::usage(
            "--samples scores the file's samples instead of drawing them: --n and --steps do not \
             apply",
        ));
    }
    let run = TrainedRun::open_at(run_dir, opts.checkpoint.as_deref(), &device)?;
    let mut config = run.loaded.config.clone();
    if let Some(n) = opts.n {
        config.eval.n_samples = n;
    }
    if let Some(s) = opts.steps {
        config.eval.steps = s;
    }
    if let Some(seed) = opts.seed {
        config.seed = seed;
    }
    let energy = run.state.sampling_view()?;
    let shape = run.state.input_shape();
    // An MLP energy sees images flattened: ask the data, not the model, whether these are images.
    let image = config.data.is_image() && image_plots::is_image(&config.data.sample_shape());
    let source = Source::of(opts.samples.as_deref());
    // Read and check a samples file before anything is written.
    let from_file = source.read(&config.data.sample_shape(), &shape, image)?;
    if let Some(x) = &from_file {
        // As `--n N`: the reference sets and the test points of the likelihood are as large.
        config.eval.n_samples = x.dims()[0];
    }
    config.eval.validate()?;
    // The kept checkpoints the samples go through before the evaluated one (none for a file).
    let path = match from_file {
        Some(_) => Vec::new(),
        None => earlier_checkpoints(run_dir, &run.checkpoint, config.eval.through_checkpoints)?,
    };
    // `--n` is a size like `eval.n_samples`: refuse one that cannot fit instead of aborting.
    ebm_train::memory::check(&config, ebm_train::memory::memory_bound())?;
    let out_dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| run_dir.join("evaluation"));
    std::fs::create_dir_all(&out_dir).map_err(TrainError::io(&out_dir))?;

    let (samples, acceptance) = match from_file {
        Some(x) => (x, None),
        None => {
            tracing::info!(
                n = config.eval.n_samples,
                steps = config.eval.steps,
                through_checkpoints = path.len() + 1,
                "drawing evaluation samples"
            );
            let earlier: Vec<Box<dyn ebm_core::Energy>> = path
                .iter()
                .map(|ckpt| {
                    let run = TrainedRun::open_at(run_dir, Some(ckpt), &device)?;
                    Ok(run.state.sampling_view()?)
                })
                .collect::<Result<_>>()?;
            let mut energies: Vec<&dyn ebm_core::Energy> =
                earlier.iter().map(|e| e.as_ref()).collect();
            energies.push(energy.as_ref());
            draw_samples_through(&energies, &config, &shape, &device, "eval-samples")?
        }
    };
    let chains = match run.state.loss.chain_bank() {
        Some(bank) => Some(bank.to_tensor(&device)?),
        None => None,
    };
    let mut distances = compare_with_data(&samples, chains.as_ref(), &config, acceptance)?;
    distances.density = density_fit(energy.as_ref(), &config, &shape, &device)?;
    if let Source::File(_) = source {
        distances.steps = 0;
    }

    let mut figures = Vec::new();
    let title = source.title();
    let images = match image {
        true => Some(images::evaluate(
            energy.as_ref(),
            images::Scored {
                samples: &samples,
                samples_title: &title,
                too_many: &source.count(samples.dims()[0]),
                chains: chains.as_ref(),
            },
            &config,
            opts,
            &out_dir,
            &mut figures,
        )?),
        false => None,
    };
    let dim: usize = shape.iter().product();
    let likelihood = match !image && dim <= MAX_AIS_DIM && energy.has_energy_values() {
        true => Some(likelihood::evaluate(
            energy.as_ref(),
            &config,
            &shape,
            &AisConfig {
                seed: config.seed,
                ..opts.ais.clone()
            },
        )?),
        false => None,
    };
    let report = EvalRunReport {
        checkpoint: run.checkpoint,
        train_step: run.state.step,
        seed: config.seed,
        sampler: match source {
            Source::Model => Some(
                config
                    .eval
                    .sampler
                    .clone()
                    .unwrap_or_else(|| config.sampler.clone()),
            ),
            Source::File(_) => None,
        },
        samples_source: source.describe(),
        through_checkpoints: path,
        samples: distances,
        likelihood,
        images,
        figures,
    };
    let path = out_dir.join("report.json");
    let json =
        serde_json::to_string_pretty(&report).map_err(TrainError::serialize("the eval report"))?;
    write_atomic(&path, |tmp| {
        std::fs::write(tmp, json).map_err(TrainError::io(tmp))
    })?;
    // The report is written (to look at); NaN samples or metrics still fail the command.
    crate::run_hooks::non_finite_result(&samples, &report.samples, &source.title(), &path)?;
    Ok((report, path))
}

/// The `through - 1` kept checkpoints of `run_dir` just before `evaluated`, oldest first. A run
/// that kept fewer (stopped early, or evaluated at an early checkpoint) samples through those it
/// has, with a warning; the report lists the ones used.
fn earlier_checkpoints(run_dir: &Path, evaluated: &Path, through: usize) -> Result<Vec<PathBuf>> {
    if through <= 1 {
        return Ok(Vec::new());
    }
    let dir = run_dir.join("checkpoints");
    let kept: Vec<PathBuf> = ebm_train::checkpoint::list(&dir)?
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    // The evaluated file may be named another way (`--checkpoint ./run/checkpoints/…`).
    let same = |p: &Path| match (std::fs::canonicalize(p), std::fs::canonicalize(evaluated)) {
        (Ok(a), Ok(b)) => a == b,
        _ => p == evaluated,
    };
    // A `--checkpoint` from outside the run's folder has no earlier kept checkpoints.
    let before = kept.iter().position(|p| same(p)).unwrap_or(0);
    let earlier = kept[before.saturating_sub(through - 1)..before].to_vec();
    if earlier.len() + 1 < through {
        tracing::warn!(
            "`eval.through_checkpoints = {through}`, but {} holds {} kept checkpoint(s) up to {}: \
             sampling through those",
            dir.display(),
            earlier.len() + 1,
            evaluated.display()
        );
    }
    Ok(earlier)
}
