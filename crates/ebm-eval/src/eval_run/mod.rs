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
//!   images against uniform noise, vertically flipped and inverted test images ([`images`]).

mod images;
mod likelihood;

pub use images::{ImageReport, OodReport};
pub use likelihood::{LikelihoodReport, MAX_AIS_DIM};

use crate::ais::AisConfig;
use crate::classifier::ClassifierConfig;
use crate::trained_run::TrainedRun;
use crate::{compare_with_data, draw_samples, image_plots, EvalReport, Result};
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
}

/// `evaluation/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct EvalRunReport {
    pub checkpoint: PathBuf,
    pub train_step: u64,
    pub seed: u64,
    pub sampler: PluginSpec,
    /// Sample distances in input space (pixels for images, where they say little: see `images`).
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
    let run = TrainedRun::open(run_dir, &device)?;
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
    config.eval.validate()?;
    let out_dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| run_dir.join("evaluation"));
    std::fs::create_dir_all(&out_dir).map_err(TrainError::io(&out_dir))?;

    let energy = run.state.sampling_view()?;
    let shape = run.state.input_shape();
    tracing::info!(
        n = config.eval.n_samples,
        steps = config.eval.steps,
        "drawing evaluation samples"
    );
    let (samples, acceptance) = draw_samples(energy.as_ref(), &config, &shape, &device)?;
    let chains = match run.state.loss.chain_bank() {
        Some(bank) => Some(bank.to_tensor(&device)?),
        None => None,
    };
    let distances = compare_with_data(&samples, chains.as_ref(), &config, acceptance)?;

    let mut figures = Vec::new();
    // An MLP energy sees images flattened: ask the data, not the model, whether these are images.
    let image = config.data.is_image() && image_plots::is_image(&config.data.sample_shape());
    let images = match image {
        true => Some(images::evaluate(
            energy.as_ref(),
            &samples,
            chains.as_ref(),
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
        sampler: config
            .eval
            .sampler
            .clone()
            .unwrap_or_else(|| config.sampler.clone()),
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
    Ok((report, path))
}
