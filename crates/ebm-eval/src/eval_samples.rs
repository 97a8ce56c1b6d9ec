//! Evaluation at the end of a run: draw `n_samples` chains from the init distribution, run the
//! sampler `steps` times against the trained energy, and compare with fresh data (never seen in
//! training) by MMD² (RBF, bandwidth 0.5 as in the TorchEBM anchor) and energy distance. The
//! report also holds the floor (fresh data vs more fresh data) and the ceiling (the init noise vs
//! data), so a number can be read without a reference table.

use crate::density_fit::{mmd_table, DensityFit, MmdRow};
use crate::{distance, Result};
use candle_core::{Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, Energy};
use ebm_train::RunConfig;
use serde::{Deserialize, Serialize};

/// What `eval.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub n_samples: usize,
    pub steps: u64,
    pub mmd_bandwidth: f64,
    /// MMD² between model samples and fresh data.
    pub mmd2: f64,
    pub energy_distance: f64,
    /// MMD² between two fresh data sets: the best a model can do at this sample size.
    pub mmd2_floor: f64,
    /// MMD² between the init distribution and the data: where sampling starts.
    pub mmd2_init: f64,
    pub mean_acceptance: Option<f64>,
    /// MMD² between (up to `n_samples` of) the persistent training chains and the data, for
    /// losses that keep them: low here but high for `mmd2` means sampling from noise is the
    /// problem, not the model.
    pub mmd2_chains: Option<f64>,
    /// MMD² at the bandwidths of [`crate::density_fit::BANDWIDTHS`], each with its floor and
    /// noise ceiling (low-dimensional data; empty for images, where pixel-space MMD² says little).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mmd2_by_bandwidth: Vec<MmdRow>,
    /// The model's density against the data's true one (2-D energies; see
    /// [`crate::density_fit`]): grid log Z, test log-likelihoods and KL(data ‖ model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<DensityFit>,
}

/// Draws evaluation samples from `energy` as `[eval]` says. Seeded by the run seed alone, so the
/// same trained weights always give the same samples.
pub fn draw_samples(
    energy: &dyn Energy,
    config: &RunConfig,
    input_shape: &[usize],
    device: &Device,
) -> Result<(Tensor, Option<f64>)> {
    draw_samples_from(energy, config, input_shape, device, "eval-samples")
}

/// [`draw_samples`] with the chains' init and noise from the named random stream (the progress
/// figures draw theirs apart from the evaluation's).
pub fn draw_samples_from(
    energy: &dyn Energy,
    config: &RunConfig,
    input_shape: &[usize],
    device: &Device,
    stream: &str,
) -> Result<(Tensor, Option<f64>)> {
    draw_samples_through(&[energy], config, input_shape, device, stream)
}

/// [`draw_samples_from`] through a sequence of energies (a run's checkpoints, oldest first): the
/// chains start from `[eval.init]` and take `steps / K` sampler steps with each of the K
/// energies in turn (the remainder with the later ones), one random stream throughout, so one
/// energy gives exactly [`draw_samples_from`]'s samples. The mean acceptance is over all steps.
pub fn draw_samples_through(
    energies: &[&dyn Energy],
    config: &RunConfig,
    input_shape: &[usize],
    device: &Device,
    stream: &str,
) -> Result<(Tensor, Option<f64>)> {
    let eval = &config.eval;
    let (section, spec) = match &eval.sampler {
        Some(spec) => ("eval.sampler", spec),
        None => ("sampler", &config.sampler),
    };
    let mut sampler = build_sampler(section, spec)?;
    let mut r = rng::stream(config.seed, stream, 0);
    let start = eval
        .init
        .draw(&mut r, eval.n_samples, input_shape, device)?;
    let mut chains = Chains::new(start);
    let k = energies.len() as u64;
    let mut legs = Vec::with_capacity(energies.len());
    for (i, energy) in (0u64..).zip(energies) {
        let steps = eval.steps * (i + 1) / k - eval.steps * i / k;
        let summary = run_chains(sampler.as_mut(), *energy, &mut chains, steps, &mut r)?;
        legs.push((summary.mean_acceptance, steps));
    }
    let mean_acceptance = match legs.as_slice() {
        [(a, _)] => *a, // one energy: exactly `run_chains`' figure
        _ => {
            let with: Vec<_> = legs.iter().filter_map(|&(a, n)| Some((a?, n))).collect();
            let n: u64 = with.iter().map(|&(_, n)| n).sum();
            (n > 0).then(|| with.iter().map(|&(a, m)| a * m as f64).sum::<f64>() / n as f64)
        }
    };
    Ok((chains.into_x(), mean_acceptance))
}

/// Compares `samples` (and the persistent `chains`, if any) with fresh data from the run's data
/// distribution. `density` is left for the caller, who holds the energy
/// ([`crate::density_fit::density_fit`]).
pub fn compare_with_data(
    samples: &Tensor,
    chains: Option<&Tensor>,
    config: &RunConfig,
    mean_acceptance: Option<f64>,
) -> Result<EvalReport> {
    let eval = &config.eval;
    let n = samples.dims()[0];
    let dim = samples.elem_count() / n.max(1);
    let x = samples.flatten_all()?.to_vec1::<f32>()?;
    // i.i.d. references (random mode and arc position), so the floor is what two independent
    // data sets score, not two copies of one evenly spaced layout.
    let fresh = config
        .data
        .sample_iid(n, &mut rng::stream(config.seed, "eval-data", 0))?;
    let fresh2 = config
        .data
        .sample_iid(n, &mut rng::stream(config.seed, "eval-data-2", 0))?;
    let init = eval
        .init
        .fill(&mut rng::stream(config.seed, "eval-init-ref", 0), n * dim);
    let bw = eval.mmd_bandwidth;
    let mmd2_chains = match chains {
        Some(c) => {
            let c = c
                .narrow(0, 0, c.dims()[0].min(n))?
                .flatten_all()?
                .to_vec1::<f32>()?;
            Some(distance::mmd2_rbf(&c, &fresh.data, dim, bw))
        }
        None => None,
    };
    let mmd2_by_bandwidth = match config.data.is_image() {
        true => Vec::new(),
        false => mmd_table(&x, &fresh.data, &fresh2.data, &init, dim),
    };
    Ok(EvalReport {
        n_samples: n,
        steps: eval.steps,
        mmd_bandwidth: bw,
        mmd2: distance::mmd2_rbf(&x, &fresh.data, dim, bw),
        energy_distance: distance::energy_distance(&x, &fresh.data, dim),
        mmd2_floor: distance::mmd2_rbf(&fresh2.data, &fresh.data, dim, bw),
        mmd2_init: distance::mmd2_rbf(&init, &fresh.data, dim, bw),
        mean_acceptance,
        mmd2_chains,
        mmd2_by_bandwidth,
        density: None,
    })
}
