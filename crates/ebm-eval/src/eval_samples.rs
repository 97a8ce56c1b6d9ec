//! Evaluation at the end of a run: draw `n_samples` chains from the init distribution, run the
//! sampler `steps` times against the trained energy, and compare with fresh data (never seen in
//! training) by MMD² (RBF, bandwidth 0.5 as in the TorchEBM anchor) and energy distance. The
//! report also holds the floor (fresh data vs more fresh data) and the ceiling (the init noise vs
//! data), so a number can be read without a reference table.

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
    let summary = run_chains(sampler.as_mut(), energy, &mut chains, eval.steps, &mut r)?;
    Ok((chains.into_x(), summary.mean_acceptance))
}

/// Compares `samples` (and the persistent `chains`, if any) with fresh data from the run's data
/// distribution.
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
    let fresh = config
        .data
        .sample(n, &mut rng::stream(config.seed, "eval-data", 0))?;
    let fresh2 = config
        .data
        .sample(n, &mut rng::stream(config.seed, "eval-data-2", 0))?;
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
    })
}
