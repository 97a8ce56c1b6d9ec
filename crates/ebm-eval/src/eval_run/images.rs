//! Image metrics of a trained run: FID-like Fréchet distance and KID in a classifier's feature
//! space, each with its floor and noise ceiling, and the OOD AUROC of the energy score.
//!
//! Reference sets are disjoint random subsets of the test split, as large as the sample set:
//! `reference` is what the samples are compared with, `floor` a second subset that shows the
//! best score at this sample size (FID is biased upwards at small n, so compare numbers at the
//! same n only), and uniform noise on [−1, 1] the score of no model at all.
//!
//! Mode coverage is the classifier's predicted-class histogram of the samples, of the replay
//! buffer and of the reference test images (what the data's own spread looks like to the
//! classifier). The OOD sets are made from the reference images ([`crate::ood_sets`]).

use super::EvalRunOptions;
use crate::classifier::{cache, class_names, ClassHistogram};
use crate::image_metrics::{auroc, frechet_distance, kid, KidConfig};
use crate::ood_sets::{gaussian_blur, pixel_shuffle, BLUR_RADIUS, BLUR_SIGMA};
use crate::{image_plots, Error, Result};
use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Energy};
use ebm_data::Split;
use ebm_train::RunConfig;
use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Rows per batch for features and energies.
const BATCH: usize = 256;

/// The image part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct ImageReport {
    pub classifier: PathBuf,
    /// The classifier's accuracy on the whole test split: how much its features can be trusted.
    pub classifier_test_accuracy: f64,
    /// True when this evaluation trained (and cached) the classifier.
    pub classifier_trained_now: bool,
    pub feature_dim: usize,
    /// Images in each set (samples, reference, floor, noise).
    pub n: usize,
    /// Fréchet distance of samples vs test images.
    pub fid: f64,
    /// Test images vs other test images.
    pub fid_floor: f64,
    /// Uniform noise vs test images.
    pub fid_noise: f64,
    pub kid: f64,
    pub kid_std: f64,
    pub kid_floor: f64,
    pub kid_noise: f64,
    /// The same two measures for `n` random persistent chains (the replay buffer) of losses that
    /// keep them: low here but high for `fid` means the model's short-run samples from noise are
    /// the problem, not what training learned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid_chains: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_chains: Option<f64>,
    /// The classifier's predicted classes of the samples, the replay buffer and the test images.
    pub mode_coverage: ModeCoverage,
    /// Absent for models without energy values (a gradient-field head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ood_auroc: Option<OodReport>,
}

/// AUROC of −E(x), test images (in) against each out-of-distribution set: 1 is perfect, 0.5 is
/// chance, below 0.5 means the model prefers the outliers.
#[derive(Clone, Debug, Serialize)]
pub struct OodReport {
    pub uniform_noise: f64,
    pub vertical_flip: f64,
    pub inverted: f64,
    /// Test images blurred by a Gaussian of σ = 1 pixel (taps −3..=3, mirrored borders).
    pub gaussian_blur: f64,
    /// Test images with their pixel positions permuted, one seeded permutation per image.
    pub pixel_shuffle: f64,
}

/// Mode coverage: how each set spreads over the classifier's classes.
#[derive(Clone, Debug, Serialize)]
pub struct ModeCoverage {
    /// The classifier's number of classes.
    pub classes: usize,
    /// The classes' names, in label order, for the data sets ebm knows them for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// The `n` evaluated samples.
    pub samples: ClassHistogram,
    /// The `n` random persistent chains of `fid_chains`, when the report has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chains: Option<ClassHistogram>,
    /// The `n` reference test images: the data's own spread, as the classifier sees it.
    pub test: ClassHistogram,
}

/// What [`evaluate`] scores: the samples (and where they came from, for the figures' titles)
/// and the run's persistent chains.
pub(super) struct Scored<'a> {
    pub samples: &'a Tensor,
    /// "evaluation samples", or what names the file they were read from.
    pub samples_title: &'a str,
    /// How an error names the sample count when it is too large (`--n 30`).
    pub too_many: &'a str,
    pub chains: Option<&'a Tensor>,
}

pub(super) fn evaluate(
    energy: &dyn Energy,
    scored: Scored<'_>,
    config: &RunConfig,
    opts: &EvalRunOptions,
    out_dir: &Path,
    figures: &mut Vec<PathBuf>,
) -> Result<ImageReport> {
    let Scored {
        samples,
        samples_title,
        too_many,
        chains,
    } = scored;
    let data = &config.data;
    let path = match &opts.classifier {
        Some(p) => p.clone(),
        None => cache::default_path(data.kind()).ok_or_else(|| {
            Error::usage(
                "neither XDG_CACHE_HOME nor HOME is set: give the classifier file with --classifier PATH",
            )
        })?,
    };
    let (net, info, trained_now) = cache::load_or_train(&path, data, &opts.classifier_config)?;
    let n = samples.dims()[0];
    let test = data.load_split(Split::Test)?;
    if 2 * n > test.len() {
        return Err(Error::usage(format!(
            "{too_many}: the image metrics compare with two disjoint sets of n test images, and the \
             test split has {}",
            test.len()
        )));
    }
    let mut rows: Vec<usize> = (0..test.len()).collect();
    rows.shuffle(&mut rng::stream(config.seed, "eval-reference", 0));
    let device = Device::Cpu;
    let reference = test.select(&rows[..n])?.to_tensor(&device)?;
    let floor = test.select(&rows[n..2 * n])?.to_tensor(&device)?;
    let noise = uniform_images(n, &test.shape, config.seed)?;
    let samples = samples.reshape(reference.shape())?.to_dtype(DType::F32)?;

    tracing::info!(n, "image metrics: features, FID-like distance, KID");
    let feats = |x: &Tensor| net.features(x, BATCH);
    let classes = net.classes();
    let histogram = |p: &[u32]| ClassHistogram::from_predictions(p, classes);
    let (f_ref, p_ref) = net.features_and_predictions(&reference, BATCH)?;
    let (f_samples, p_samples) = net.features_and_predictions(&samples, BATCH)?;
    let (f_floor, f_noise) = (feats(&floor)?, feats(&noise)?);
    let dim = net.feature_dim();
    let kid_cfg = KidConfig {
        seed: config.seed,
        subset_size: KidConfig::default().subset_size.min(n),
        ..KidConfig::default()
    };
    let kid_of = |f: &[f32]| kid(f, &f_ref, dim, &kid_cfg);
    let (k, k_floor, k_noise) = (kid_of(&f_samples)?, kid_of(&f_floor)?, kid_of(&f_noise)?);

    let chains = match chains {
        Some(c) if c.dims()[0] >= 2 => {
            let mut rows: Vec<u32> = (0..c.dims()[0] as u32).collect();
            rows.shuffle(&mut rng::stream(config.seed, "eval-chains", 0));
            rows.truncate(n);
            let picked = c.index_select(&Tensor::new(rows.as_slice(), c.device())?, 0)?;
            let picked = picked.reshape(((), test.dim))?.to_dtype(DType::F32)?;
            let (f, p) = net.features_and_predictions(&picked, BATCH)?;
            let scores = (frechet_distance(&f, &f_ref, dim)?, kid_of(&f)?.mean);
            Some((scores, histogram(&p)?))
        }
        _ => None,
    };
    let mode_coverage = ModeCoverage {
        classes,
        class_names: class_names(data.kind())
            .filter(|names| names.len() == classes)
            .map(|names| names.iter().map(|s| s.to_string()).collect()),
        samples: histogram(&p_samples)?,
        chains: chains.as_ref().map(|c| c.1.clone()),
        test: histogram(&p_ref)?,
    };
    let chains = chains.map(|c| c.0);
    let ood_auroc = match energy.has_energy_values() {
        true => Some(ood(energy, &reference, &noise, config.seed)?),
        false => None,
    };
    let grid = out_dir.join("samples.png");
    image_plots::grid(&grid, samples_title, &samples, &test.shape)?;
    figures.push(grid);
    if energy.has_energy_values() {
        let hist = out_dir.join("energy_hist.png");
        image_plots::energy_histogram(
            &hist,
            &format!("energies: test images vs {samples_title}"),
            &energies_tensor(energy, &reference)?,
            &energies_tensor(energy, &samples)?,
        )?;
        figures.push(hist);
    }
    Ok(ImageReport {
        classifier: path,
        classifier_test_accuracy: info.test_accuracy,
        classifier_trained_now: trained_now,
        feature_dim: dim,
        n,
        fid: frechet_distance(&f_samples, &f_ref, dim)?,
        fid_floor: frechet_distance(&f_floor, &f_ref, dim)?,
        fid_noise: frechet_distance(&f_noise, &f_ref, dim)?,
        kid: k.mean,
        kid_std: k.std,
        kid_floor: k_floor.mean,
        kid_noise: k_noise.mean,
        fid_chains: chains.map(|c| c.0),
        kid_chains: chains.map(|c| c.1),
        mode_coverage,
        ood_auroc,
    })
}

/// `n` images of `shape` with pixels uniform on [−1, 1], seeded.
fn uniform_images(n: usize, shape: &[usize], seed: u64) -> Result<Tensor> {
    let mut r = rng::stream(seed, "eval-noise-images", 0);
    let len = n * shape.iter().product::<usize>();
    let v: Vec<f32> = (0..len).map(|_| r.random_range(-1.0f32..=1.0)).collect();
    let mut dims = vec![n];
    dims.extend_from_slice(shape);
    Ok(Tensor::from_vec(v, dims, &Device::Cpu)?)
}

/// E(x) of `[N, ...]` images, `BATCH` rows at a time, as `[N]`.
fn energies_tensor(energy: &dyn Energy, x: &Tensor) -> Result<Tensor> {
    let n = x.dims()[0];
    let parts = (0..n)
        .step_by(BATCH)
        .map(|s| {
            Ok(energy
                .energy(&x.narrow(0, s, BATCH.min(n - s))?)?
                .to_dtype(DType::F64)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// The OOD score −E(x) of each row.
fn scores(energy: &dyn Energy, x: &Tensor) -> Result<Vec<f64>> {
    Ok(energies_tensor(energy, x)?.neg()?.to_vec1::<f64>()?)
}

fn ood(energy: &dyn Energy, test: &Tensor, noise: &Tensor, seed: u64) -> Result<OodReport> {
    let inside = scores(energy, test)?;
    let height_axis = test.rank() - 2;
    let against = |x: &Tensor| -> Result<f64> { auroc(&inside, &scores(energy, x)?) };
    Ok(OodReport {
        uniform_noise: against(noise)?,
        vertical_flip: against(&flip(test, height_axis)?)?,
        inverted: against(&test.neg()?)?,
        gaussian_blur: against(&gaussian_blur(test, BLUR_SIGMA, BLUR_RADIUS)?)?,
        pixel_shuffle: against(&pixel_shuffle(test, seed)?)?,
    })
}

/// `x` reversed along `axis` (an upside-down image for the height axis).
fn flip(x: &Tensor, axis: usize) -> Result<Tensor> {
    let len = x.dims()[axis];
    let rev: Vec<u32> = (0..len as u32).rev().collect();
    Ok(x.index_select(&Tensor::new(rev, x.device())?, axis)?)
}
