//! Noise-contrastive estimation (Gutmann & Hyvärinen 2010): logistic discrimination of data
//! from `noise_ratio` times as many draws of a known noise distribution q, with the model's
//! log-density −E(x) as the classifier's logit against log q(x):
//!
//! L = −E_data[log σ(G(x))] − ν·E_q[log σ(−G(y))],  G(u) = −E(u) − log q(u) − log ν.
//!
//! No sampling, no partition function: the optimum is −E = log p_data, so exp(−E) comes out
//! normalised. The constant that other losses leave free (E up to an additive constant) is
//! learned here through the network's output bias; it is NCE's learned −log Z, and a run's grid
//! log Z of exp(−E) (`ebm-launch eval`, 2-D) shows how close to 0, i.e. how well normalised, it
//! came out. The noise is fitted to the training set before training ([`crate::nce_noise`]).

use crate::nce_noise::{KernelShape, Noise, NoiseKind};
use candle_core::{DType, Tensor};
use ebm_core::{Error, Loss, LossOut, Model, PluginArgs, Result, Rng, TrainCtx};
use serde::{Deserialize, Serialize};

/// `[loss] kind = "nce"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NceParams {
    /// The noise distribution, fitted to the training set.
    pub noise: NoiseKind,
    /// ν: noise draws per data point in each batch.
    pub noise_ratio: f64,
    /// Widens the noise: the Gaussian's standard deviations, or the mixture's bandwidth.
    pub scale: f64,
    /// Centres of the mixture (data points drawn at random).
    pub components: usize,
    /// The mixture's (widest) bandwidth; default Scott's rule for `components` centres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<f64>,
    /// Bandwidths in the mixture: `bandwidth`, `bandwidth`/`level_ratio`, … (equal shares).
    pub levels: usize,
    /// Ratio between consecutive bandwidths.
    pub level_ratio: f64,
    /// Share of the mixture noise drawn from the data-fitted Gaussian (0: the kernel estimate
    /// alone).
    pub background: f64,
    /// Widens that Gaussian's standard deviations (times `scale`).
    pub background_scale: f64,
}

impl Default for NceParams {
    fn default() -> Self {
        NceParams {
            noise: NoiseKind::Mixture,
            noise_ratio: 1.0,
            scale: 1.0,
            components: 256,
            bandwidth: None,
            levels: 1,
            level_ratio: 3.0,
            background: 0.0,
            background_scale: 1.0,
        }
    }
}

impl NceParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        let positive = |key: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::config(
                    format!("{section}.{key}"),
                    format!("must be finite and > 0, got {v}"),
                ))
            }
        };
        positive("noise_ratio", self.noise_ratio)?;
        positive("scale", self.scale)?;
        positive("background_scale", self.background_scale)?;
        if let Some(h) = self.bandwidth {
            positive("bandwidth", h)?;
        }
        if !(self.level_ratio > 1.0 && self.level_ratio.is_finite()) {
            return Err(Error::config(
                format!("{section}.level_ratio"),
                format!("must be finite and > 1, got {}", self.level_ratio),
            ));
        }
        if !(1..=16).contains(&self.levels) {
            return Err(Error::config(
                format!("{section}.levels"),
                format!("must be 1 to 16, got {}", self.levels),
            ));
        }
        if !(0.0..1.0).contains(&self.background) {
            return Err(Error::config(
                format!("{section}.background"),
                format!("must be in [0, 1), got {}", self.background),
            ));
        }
        if self.components == 0 {
            return Err(Error::config(
                format!("{section}.components"),
                "need at least one centre",
            ));
        }
        Ok(())
    }
}

pub struct Nce {
    params: NceParams,
    noise: Option<Noise>,
}

impl Nce {
    pub fn new(params: NceParams) -> Result<Self> {
        params.validate("loss")?;
        Ok(Nce {
            params,
            noise: None,
        })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Loss>> {
        let params: NceParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(Nce {
            params,
            noise: None,
        }))
    }

    /// The fitted noise (after [`Loss::fit_data`]).
    pub fn noise(&self) -> Option<&Noise> {
        self.noise.as_ref()
    }
}

ebm_core::register_loss!("nce", Nce::from_args);

/// softplus(z) = log(1 + eᶻ), computed as relu(z) + log(1 + e^(−|z|)) so large |z| neither
/// overflows nor loses the small term.
fn softplus(z: &Tensor) -> Result<Tensor> {
    let tail = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((z.relu()? + tail)?)
}

impl Loss for Nce {
    fn name(&self) -> &'static str {
        "nce"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn fit_data(&mut self, train: &Tensor, rng: &mut Rng) -> Result<()> {
        let n = train.dims()[0];
        let flat = train.reshape((n, ()))?.to_dtype(DType::F32)?;
        let dim = flat.dims()[1];
        let p = &self.params;
        self.noise = Some(Noise::fit(
            p.noise,
            &flat.flatten_all()?.to_vec1::<f32>()?,
            dim,
            p.scale,
            KernelShape {
                components: p.components,
                bandwidth: p.bandwidth,
                levels: p.levels,
                level_ratio: p.level_ratio,
                background_scale: p.background_scale,
            },
            p.background,
            rng,
        )?);
        Ok(())
    }

    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<LossOut> {
        let noise = self.noise.as_ref().ok_or_else(|| {
            Error::Msg(
                "nce: the noise distribution was not fitted (fit_data) before training".into(),
            )
        })?;
        let b = batch.dims()[0];
        let m = ((b as f64 * self.params.noise_ratio).round() as usize).max(1);
        let log_nu = self.params.noise_ratio.ln();
        let y = noise.sample(m, ctx.rng, batch.device())?;
        let shape: Vec<usize> = std::iter::once(m)
            .chain(batch.dims()[1..].iter().cloned())
            .collect();
        let y = y.reshape(shape)?.to_dtype(batch.dtype())?;
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
        };
        let log_q = |t: &Tensor, rows: usize| -> Result<Tensor> {
            let lq: Vec<f32> = noise
                .log_density(&flat(t)?)
                .into_iter()
                .map(|v| v as f32)
                .collect();
            Ok(Tensor::from_vec(lq, rows, t.device())?.to_dtype(t.dtype())?)
        };
        let e_data = model.energy(batch)?;
        let e_noise = model.energy(&y)?;
        // G = −E − log q − log ν for both sets.
        let g_data = ((e_data.neg()? - log_q(batch, b)?)? - log_nu)?;
        let g_noise = ((e_noise.neg()? - log_q(&y, m)?)? - log_nu)?;
        // −log σ(G) = softplus(−G);  −log σ(−G) = softplus(G).
        let loss_data = softplus(&g_data.neg()?)?.mean_all()?;
        let loss_noise = (softplus(&g_noise)?.mean_all()? * self.params.noise_ratio)?;
        let loss = (&loss_data + &loss_noise)?;
        // Classifier accuracy: how often the sign of G is right (0.5 = data and noise
        // indistinguishable to the model).
        let right = g_data
            .ge(0.0)?
            .to_dtype(DType::F64)?
            .sum_all()?
            .to_scalar::<f64>()?
            + g_noise
                .lt(0.0)?
                .to_dtype(DType::F64)?
                .sum_all()?
                .to_scalar::<f64>()?;
        let scalar = |t: &Tensor| -> Result<f64> {
            Ok(t.to_dtype(DType::F64)?.mean_all()?.to_scalar::<f64>()?)
        };
        Ok(LossOut {
            metrics: vec![
                ("e_data", scalar(&e_data)?),
                ("e_noise", scalar(&e_noise)?),
                ("accuracy", right / (b + m) as f64),
            ],
            loss,
        })
    }
}
