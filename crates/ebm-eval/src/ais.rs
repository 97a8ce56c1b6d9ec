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
//! MALA is written here from [`Energy::energy_and_grad`] (the samplers plugin crate is not a
//! dependency): each chain caches E(x) and ∇E(x), so a step costs one batched evaluation, at the
//! proposal. The step size is adapted between temperatures towards MALA's optimal acceptance
//! (0.574) from the acceptance seen so far; it depends only on the past, so every transition
//! still leaves its own target invariant and the weights stay unbiased. Chain state lives on the
//! host in f64 (the weights add up a thousand small increments); the energy is evaluated in f32.

use crate::Result;
use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Energy, Error as CoreError};
use rand::Rng as _;
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
    /// Mean MALA acceptance over all temperatures and chains.
    pub acceptance: f64,
    /// Each chain's log-weight log(w) (log Ẑ − log Z₀ is their log-mean-exp).
    pub log_weights: Vec<f64>,
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
    let eval = |x: &[f64]| -> Result<(Vec<f64>, Vec<f64>)> {
        let xs: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let t = Tensor::from_vec(xs, shape.as_slice(), device)?;
        let (e, g) = energy.energy_and_grad(&t)?;
        let e = e.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let g = g.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        if e.len() != m || g.len() != m * d {
            return Err(CoreError::shape(
                "the energy's output in AIS",
                format!(
                    "{} values and {} gradient entries for {m} inputs of size {d}",
                    e.len(),
                    g.len()
                ),
            )
            .into());
        }
        Ok((e, g))
    };

    let mut stream = rng::stream(cfg.seed, "ais", 0);
    let sigma2 = cfg.base_std * cfg.base_std;
    let mut x: Vec<f64> = rng::normal_vec(&mut stream, m * d)
        .into_iter()
        .map(|v| f64::from(v) * cfg.base_std)
        .collect();
    let (mut e, mut g) = eval(&x)?;
    if let Some(i) = e.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::numerical(
            "AIS",
            format!(
                "the energy is {} at a base sample (chain {i}); try a smaller base_std",
                e[i]
            ),
        )
        .into());
    }
    let base = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>() / (2.0 * sigma2);
    let mut e0: Vec<f64> = x.chunks(d).map(base).collect();

    let betas = cfg.betas();
    let mut log_w = vec![0.0f64; m];
    let mut eps = cfg.step_size;
    let (mut accepted, mut proposed) = (0usize, 0usize);
    for k in 1..betas.len() {
        let (prev, beta) = (betas[k - 1], betas[k]);
        for c in 0..m {
            log_w[c] += (beta - prev) * (e0[c] - e[c]);
        }
        let mut acc_here = 0usize;
        for _ in 0..cfg.mala_steps {
            let noise = rng::normal_vec(&mut stream, m * d);
            let grad_u = |x: &[f64], g: &[f64]| -> Vec<f64> {
                x.iter()
                    .zip(g)
                    .map(|(xi, gi)| (1.0 - beta) * xi / sigma2 + beta * gi)
                    .collect()
            };
            let gu = grad_u(&x, &g);
            let scale = (2.0 * eps).sqrt();
            let y: Vec<f64> = (0..m * d)
                .map(|i| x[i] - eps * gu[i] + scale * f64::from(noise[i]))
                .collect();
            let (ey, gy) = eval(&y)?;
            let guy = grad_u(&y, &gy);
            for c in 0..m {
                let r = c * d..(c + 1) * d;
                let e0y = base(&y[r.clone()]);
                if !ey[c].is_finite() || gy[r.clone()].iter().any(|v| !v.is_finite()) {
                    continue;
                }
                let u_x = (1.0 - beta) * e0[c] + beta * e[c];
                let u_y = (1.0 - beta) * e0y + beta * ey[c];
                // log q(to | from) up to a constant: −‖to − from + ε∇U(from)‖² / 4ε.
                let log_q = |to: &[f64], from: &[f64], gu_from: &[f64]| -> f64 {
                    -to.iter()
                        .zip(from)
                        .zip(gu_from)
                        .map(|((t, f), gf)| (t - f + eps * gf).powi(2))
                        .sum::<f64>()
                        / (4.0 * eps)
                };
                let log_alpha = u_x - u_y + log_q(&x[r.clone()], &y[r.clone()], &guy[r.clone()])
                    - log_q(&y[r.clone()], &x[r.clone()], &gu[r.clone()]);
                if log_alpha >= 0.0 || stream.random::<f64>().ln() < log_alpha {
                    x[r.clone()].copy_from_slice(&y[r.clone()]);
                    g[r.clone()].copy_from_slice(&gy[r]);
                    e[c] = ey[c];
                    e0[c] = e0y;
                    acc_here += 1;
                }
            }
        }
        let tried = m * cfg.mala_steps;
        accepted += acc_here;
        proposed += tried;
        if cfg.adapt_step_size && tried > 0 {
            let rate = acc_here as f64 / tried as f64;
            eps = (eps * (rate - 0.574).exp()).clamp(1e-8, 1e4);
        }
    }

    let log_z0 = 0.5 * d as f64 * (2.0 * std::f64::consts::PI * sigma2).ln();
    let (lme, std_err, ess) = weight_summary(&log_w)?;
    Ok(AisEstimate {
        log_z: log_z0 + lme,
        std_err,
        ess,
        acceptance: if proposed == 0 {
            1.0
        } else {
            accepted as f64 / proposed as f64
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
