//! Annealed importance sampling (Neal 2001): an estimate of log Z = log ∫ exp(−E(x)) dx for an
//! energy over R^d, and from it the average log-likelihood of data, −E(x) − log Ẑ.
//!
//! The path is geometric, from the base p₀ = N(0, σ²I) (log Z₀ = d/2 · log 2πσ², known) to
//! exp(−E): U_β(x) = (1 − β)‖x‖²/2σ² + βE(x) for 0 = β₀ < β₁ < … < β_K = 1. Each of M chains
//! starts from p₀; at every temperature its log-weight gains (β_k − β_{k−1})(‖x‖²/2σ² − E(x)),
//! then a few MALA steps leave exp(−U_{β_k}) invariant. Ẑ/Z₀ is the mean weight, so
//! log Ẑ = log Z₀ + log-mean-exp(log w); its standard error is the delta-method
//! sd(w)/(√M · mean w), and the weights' effective sample size (Σw)²/Σw² says how many chains
//! carried the estimate. Ẑ is unbiased, so log Ẑ is biased low (Jensen) when the ESS is small.
//!
//! The moves are the samplers' MALA kernel ([`Mala::kernel`]) on U_β as an [`Energy`]: at each
//! temperature one evaluation of E and ∇E at the chains gives the weights' increment and seeds
//! the kernel's cache, then each MALA step costs one evaluation, at the proposal. The step size is
//! adapted between temperatures towards MALA's optimal acceptance (0.574) from the mean
//! acceptance probability seen at the previous one; it depends only on the past, so every
//! transition still leaves its own target invariant and the weights stay unbiased. Chains move
//! in the energy's dtype (f32 for the built-in models); the log-weights, which add up a thousand
//! small increments, are summed in f64.

use crate::Result;
use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Chains, Energy, Error as CoreError};
use ebm_samplers::{Mala, MALA_TARGET_ACCEPT};
use serde::{Deserialize, Serialize};

/// How β goes from 0 to 1 over the K temperatures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AisSchedule {
    /// β_k = k/K.
    Linear,
    /// β_k ∝ sigmoid(δ(2k/K − 1)), rescaled to [0, 1] (Grosse et al. 2013): dense at both ends,
    /// where the weights change fastest.
    #[default]
    Sigmoid,
}

/// Settings of [`ais_log_z`]; the defaults suit small (≤ 10-d) energies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AisConfig {
    /// Number of intermediate temperatures K.
    pub temperatures: usize,
    pub schedule: AisSchedule,
    /// δ of the sigmoid schedule.
    pub sigmoid_sharpness: f64,
    /// Number of independent chains M.
    pub chains: usize,
    /// σ of the base N(0, σ²I); it should cover the energy's modes.
    pub base_std: f64,
    /// MALA steps per temperature.
    pub mala_steps: usize,
    /// Initial MALA step size ε (proposal x − ε∇U + √(2ε)ξ).
    pub step_size: f64,
    /// Adapt ε between temperatures towards acceptance 0.574.
    pub adapt_step_size: bool,
    pub seed: u64,
}

impl Default for AisConfig {
    fn default() -> Self {
        AisConfig {
            temperatures: 1000,
            schedule: AisSchedule::Sigmoid,
            sigmoid_sharpness: 4.0,
            chains: 256,
            base_std: 1.0,
            mala_steps: 2,
            step_size: 0.05,
            adapt_step_size: true,
            seed: 0,
        }
    }
}

impl AisConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: &str| Err(CoreError::config(format!("ais.{key}"), msg).into());
        if self.temperatures == 0 {
            return bad("temperatures", "need at least 1");
        }
        if self.chains < 2 {
            return bad("chains", "need at least 2 (for a standard error)");
        }
        if !(self.base_std > 0.0) || !self.base_std.is_finite() {
            return bad("base_std", "must be finite and > 0");
        }
        if !(self.step_size > 0.0) || !self.step_size.is_finite() {
            return bad("step_size", "must be finite and > 0");
        }
        if !(self.sigmoid_sharpness > 0.0) || !self.sigmoid_sharpness.is_finite() {
            return bad("sigmoid_sharpness", "must be finite and > 0");
        }
        Ok(())
    }

    /// β₀ = 0, …, β_K = 1.
    pub fn betas(&self) -> Vec<f64> {
        let k = self.temperatures;
        let t = (0..=k).map(|i| i as f64 / k as f64);
        match self.schedule {
            AisSchedule::Linear => t.collect(),
            AisSchedule::Sigmoid => {
                let s = |t: f64| 1.0 / (1.0 + (-self.sigmoid_sharpness * (2.0 * t - 1.0)).exp());
                let (lo, hi) = (s(0.0), s(1.0));
                t.map(|t| ((s(t) - lo) / (hi - lo)).clamp(0.0, 1.0))
                    .collect()
            }
        }
    }
}

/// What [`ais_log_z`] found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// log Ẑ.
    pub log_z: f64,
    /// Delta-method standard error of log Ẑ.
    pub std_err: f64,
    /// Effective sample size of the final weights, in (0, M].
    pub ess: f64,
    /// Mean MALA acceptance probability min(1, α) over all temperatures, steps and chains.
    pub acceptance: f64,
    /// Each chain's log-weight log(w) (log Ẑ − log Z₀ is their log-mean-exp).
    pub log_weights: Vec<f64>,
}

/// U_β(x) = (1 − β)‖x‖²/2σ² + βE(x), the path at one temperature, as an [`Energy`] the
/// samplers' MALA kernel ([`Mala::kernel`]) follows like any other.
struct Tempered<'a> {
    energy: &'a dyn Energy,
    beta: f64,
    sigma2: f64,
}

impl Tempered<'_> {
    /// U_β and ∇U_β from the base's and the energy's values at `x`.
    fn mix(&self, x: &Tensor, e: &Tensor, g: &Tensor) -> ebm_core::Result<(Tensor, Tensor)> {
        let base = (row_sum_sq(x)? * (0.5 / self.sigma2))?;
        let u = ((base * (1.0 - self.beta))? + (e * self.beta)?)?;
        let gu = ((x * ((1.0 - self.beta) / self.sigma2))? + (g * self.beta)?)?;
        Ok((u, gu))
    }
}

impl Energy for Tempered<'_> {
    fn energy(&self, x: &Tensor) -> ebm_core::Result<Tensor> {
        Ok(self.energy_and_grad(x)?.0)
    }

    fn energy_and_grad(&self, x: &Tensor) -> ebm_core::Result<(Tensor, Tensor)> {
        let (e, g) = self.energy.energy_and_grad(x)?;
        self.mix(x, &e, &g)
    }
}

/// Σ over every non-batch dimension of t², `[B]`.
fn row_sum_sq(t: &Tensor) -> ebm_core::Result<Tensor> {
    Ok(t.sqr()?.flatten_from(1)?.sum(1)?)
}

/// A `[B]` tensor as f64 values.
fn values(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
}

/// Estimates log Z of `energy` over inputs of shape `sample_shape` (d = its product) by AIS.
pub fn ais_log_z(
    energy: &dyn Energy,
    sample_shape: &[usize],
    device: &Device,
    cfg: &AisConfig,
) -> Result<AisEstimate> {
    cfg.validate()?;
    let d: usize = sample_shape.iter().product();
    if d == 0 {
        return Err(CoreError::config("ais.sample_shape", "has no elements").into());
    }
    let m = cfg.chains;
    let mut shape = vec![m];
    shape.extend_from_slice(sample_shape);
    // E and ∇E at the chains' positions, checked for shape.
    let raw = |x: &Tensor| -> Result<(Tensor, Tensor)> {
        let (e, g) = energy.energy_and_grad(x)?;
        if e.elem_count() != m || g.dims() != x.dims() {
            return Err(CoreError::shape(
                "the energy's output in AIS",
                format!(
                    "{:?} values and a {:?} gradient for {m} inputs of shape {sample_shape:?}",
                    e.dims(),
                    g.dims()
                ),
            )
            .into());
        }
        Ok((e.flatten_all()?, g))
    };

    let mut stream = rng::stream(cfg.seed, "ais", 0);
    let sigma2 = cfg.base_std * cfg.base_std;
    let x0 = (rng::randn(&mut stream, &shape, device)? * cfg.base_std)?;
    let mut chains = Chains::new(x0);
    let betas = cfg.betas();
    let mut log_w = vec![0.0f64; m];
    let mut eps = cfg.step_size;
    let (mut rate_sum, mut steps) = (0.0, 0usize);
    for k in 1..betas.len() {
        let (prev, beta) = (betas[k - 1], betas[k]);
        // The weights gain (β_k − β_{k−1})(‖x‖²/2σ² − E(x)) at the chains' current positions;
        // the same evaluation seeds the kernel's cache for the new temperature.
        let x = chains.x().clone();
        let (e, g) = raw(&x)?;
        let e_values = values(&e)?;
        if let Some(i) = e_values.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::numerical(
                "AIS",
                format!(
                    "the energy is {} at chain {i} before temperature {k}; try a smaller \
                     base_std",
                    e_values[i]
                ),
            )
            .into());
        }
        let base = values(&(row_sum_sq(&x)? * (0.5 / sigma2))?)?;
        for c in 0..m {
            log_w[c] += (beta - prev) * (base[c] - e_values[c]);
        }
        let tempered = Tempered {
            energy,
            beta,
            sigma2,
        };
        let (u, gu) = tempered.mix(&x, &e, &g)?;
        chains.set_x_cached(x, Some(u), Some(gu));
        let mut rate_here = 0.0;
        for _ in 0..cfg.mala_steps {
            let info = Mala::kernel(&tempered, &mut chains, &mut stream, eps)?;
            rate_here += info.acceptance_rate.unwrap_or(0.0);
        }
        rate_sum += rate_here;
        steps += cfg.mala_steps;
        if cfg.adapt_step_size && cfg.mala_steps > 0 {
            let rate = rate_here / cfg.mala_steps as f64;
            eps = (eps * (rate - MALA_TARGET_ACCEPT).exp()).clamp(1e-8, 1e4);
        }
    }
    // The last temperature's moves leave exp(−E) invariant and change no weight.

    let log_z0 = 0.5 * d as f64 * (2.0 * std::f64::consts::PI * sigma2).ln();
    let (lme, std_err, ess) = weight_summary(&log_w)?;
    Ok(AisEstimate {
        log_z: log_z0 + lme,
        std_err,
        ess,
        acceptance: if steps == 0 {
            1.0
        } else {
            rate_sum / steps as f64
        },
        log_weights: log_w,
    })
}

/// log-mean-exp of the log-weights, the delta-method standard error of it, and the ESS.
pub fn weight_summary(log_w: &[f64]) -> Result<(f64, f64, f64)> {
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if log_w.len() < 2 || !max.is_finite() || log_w.iter().any(|v| v.is_nan()) {
        return Err(CoreError::numerical(
            "AIS",
            format!(
                "log-weights are unusable (n = {}, max = {max})",
                log_w.len()
            ),
        )
        .into());
    }
    let w: Vec<f64> = log_w.iter().map(|l| (l - max).exp()).collect();
    let n = w.len() as f64;
    let sum: f64 = w.iter().sum();
    let mean = sum / n;
    let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let ess = sum * sum / w.iter().map(|v| v * v).sum::<f64>();
    Ok((max + mean.ln(), (var / n).sqrt() / mean, ess))
}

/// The average log-likelihood of the rows of `data` under exp(−E)/Ẑ: mean(−E(x)) − log Ẑ.
/// `data` is `[B, ...]`, evaluated in one call (batch it yourself for large B).
pub fn mean_log_likelihood(energy: &dyn Energy, data: &Tensor, est: &AisEstimate) -> Result<f64> {
    let e = energy
        .energy(data)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    if e.is_empty() || e.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::invalid_argument(
            "compute the AIS log-likelihood",
            format!(
                "needs finite energies of at least one data point ({} given)",
                e.len()
            ),
        )
        .into());
    }
    Ok(-e.iter().sum::<f64>() / e.len() as f64 - est.log_z)
}
