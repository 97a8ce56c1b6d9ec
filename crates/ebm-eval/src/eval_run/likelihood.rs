//! Log-likelihood of low-dimensional models: log Z by annealed importance sampling
//! ([`crate::ais`]) and the average log-likelihood of fresh (held-out) data under exp(−E)/Ẑ.

use crate::ais::{ais_log_z, mean_log_likelihood, AisConfig};
use crate::Result;
use candle_core::Device;
use ebm_core::{rng, Energy};
use ebm_train::RunConfig;
use serde::Serialize;

/// AIS in more dimensions than this needs far more temperatures than a default run affords; the
/// report leaves the likelihood out rather than print a number that is mostly bias.
pub const MAX_AIS_DIM: usize = 16;

/// The likelihood part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct LikelihoodReport {
    /// log Ẑ, biased low when `ess` is small (Jensen).
    pub log_z: f64,
    pub log_z_std_err: f64,
    /// Effective sample size of the AIS weights, out of `chains`.
    pub ess: f64,
    pub acceptance: f64,
    pub chains: usize,
    pub temperatures: usize,
    pub base_std: f64,
    /// Mean of −E(x) − log Ẑ over `n_test` fresh data points (nats per point).
    pub mean_log_likelihood: f64,
    pub n_test: usize,
}

pub(super) fn evaluate(
    energy: &dyn Energy,
    config: &RunConfig,
    shape: &[usize],
    ais: &AisConfig,
) -> Result<LikelihoodReport> {
    tracing::info!(
        chains = ais.chains,
        temperatures = ais.temperatures,
        "estimating log Z by AIS"
    );
    let device = Device::Cpu;
    let est = ais_log_z(energy, shape, &device, ais)?;
    let n_test = config.eval.n_samples;
    let test = config
        .data
        .sample_iid(n_test, &mut rng::stream(config.seed, "eval-likelihood", 0))?
        .to_tensor(&device)?;
    let mean_log_likelihood = mean_log_likelihood(energy, &test, &est)?;
    Ok(LikelihoodReport {
        log_z: est.log_z,
        log_z_std_err: est.std_err,
        ess: est.ess,
        acceptance: est.acceptance,
        chains: ais.chains,
        temperatures: ais.temperatures,
        base_std: ais.base_std,
        mean_log_likelihood,
        n_test,
    })
}
