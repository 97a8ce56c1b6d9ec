//! Parallel tempering (replica exchange) with unadjusted Langevin moves. K replicas of every chain
//! run at temperatures 1 = T₀ < T₁ < … each step: first every replica takes a Langevin (ULA, no
//! Metropolis correction) step x ← x − η·∇E + √(2η·Tₖ)·ε, then neighbouring replicas swap positions
//! with probability min(1, exp((βₖ − βₖ₊₁)(Eₖ − Eₖ₊₁))), β = 1/T, pairs (0,1),(2,3),… on even
//! steps and (1,2),(3,4),… on odd ones. Hot replicas cross barriers; swaps carry those crossings
//! down to T = 1, so multi-modal targets mix far faster than with Langevin alone.
//!
//! The `Chains` hold the T = 1 replica; the hotter ones live here and restart as copies of the
//! chains with every sampling run (ctx.step == 0) or when the number of chains changes, so the
//! sampler also serves as the negative sampler of contrastive divergence. All replicas are
//! stacked into one [K·B, ...] batch: one energy-and-gradient call per step serves both the
//! swaps and the next move. The reported acceptance rate is the mean swap acceptance of the step
//! (none on odd steps of a 2-rung ladder, which has no odd pair).

use crate::validate::{validate_clamp, validate_step};
use candle_core::{DType, Tensor};
use ebm_core::{
    rng, Chains, Energy, Error, PluginArgs, Result, Sampler, Schedule, ScheduleConfig, StepCtx,
    StepInfo,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// `[sampler] kind = "parallel_tempering"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParallelTemperingParams {
    /// η, the Langevin step shared by all replicas (a number or a schedule).
    pub step_size: ScheduleConfig,
    /// The ladder, strictly increasing from exactly 1; geometric by default.
    pub temperatures: Vec<f64>,
    /// Optional `[lo, hi]` box every replica is clamped to after each move.
    pub clamp: Option<[f64; 2]>,
}

impl Default for ParallelTemperingParams {
    fn default() -> Self {
        ParallelTemperingParams {
            step_size: ScheduleConfig::Constant(0.01),
            temperatures: vec![1.0, 2.0, 4.0, 8.0],
            clamp: None,
        }
    }
}

impl ParallelTemperingParams {
    pub fn validate(&self, section: &str) -> Result<()> {
        validate_step(&self.step_size, None, section)?;
        let key = format!("{section}.temperatures");
        let t = &self.temperatures;
        if t.len() < 2 || t[0] != 1.0 {
            return Err(Error::config(
                key,
                format!("need at least 2 temperatures starting at 1.0, got {t:?}"),
            ));
        }
        if !t.windows(2).all(|w| w[0] < w[1]) || !t.iter().all(|v| v.is_finite()) {
            return Err(Error::config(
                key,
                format!("must be finite and strictly increasing, got {t:?}"),
            ));
        }
        validate_clamp(self.clamp, section)
    }
}

/// The hot replicas (T₁, T₂, …) stacked as [(K−1)·B, ...], with their gradients.
struct Hot {
    x: Tensor,
    grad: Tensor,
}

pub struct ParallelTempering {
    params: ParallelTemperingParams,
    hot: Option<Hot>,
}

impl ParallelTempering {
    pub fn new(params: ParallelTemperingParams) -> Result<Self> {
        params.validate("sampler")?;
        Ok(ParallelTempering { params, hot: None })
    }

    fn from_args(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
        let params: ParallelTemperingParams = args.parse_resolved()?;
        params.validate(args.section)?;
        Ok(Box::new(ParallelTempering { params, hot: None }))
    }
}

ebm_core::register_sampler!("parallel_tempering", ParallelTempering::from_args);

impl Sampler for ParallelTempering {
    fn name(&self) -> &'static str {
        "parallel_tempering"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let temps = &self.params.temperatures;
        let (k, b) = (temps.len(), chains.len());
        let x1 = chains.x().clone();
        let g1 = match &chains.grad {
            Some(g) => g.clone(),
            None => energy.grad(&x1)?,
        };
        let hot = match self.hot.take() {
            Some(h)
                if ctx.step > 0
                    && h.x.dims()[0] == (k - 1) * b
                    && h.x.dims()[1..] == x1.dims()[1..] =>
            {
                h
            }
            // Fresh replicas are copies of the chains, so their gradients are too.
            _ => Hot {
                x: Tensor::cat(&vec![&x1; k - 1], 0)?,
                grad: Tensor::cat(&vec![&g1; k - 1], 0)?,
            },
        };
        let x = Tensor::cat(&[&x1, &hot.x], 0)?;
        let g = Tensor::cat(&[&g1, &hot.grad], 0)?;

        // Langevin move of every replica at its own temperature: the noise std is a column.
        let eta = self.params.step_size.value(ctx.step);
        let std: Vec<f32> = temps
            .iter()
            .flat_map(|t| std::iter::repeat_n((2.0 * eta * t).sqrt() as f32, b))
            .collect();
        let mut col_shape = vec![1; x.rank()];
        col_shape[0] = k * b;
        let std = Tensor::from_vec(std, col_shape, x.device())?.to_dtype(x.dtype())?;
        let noise = rng::randn(ctx.rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
        let mut moved = ((&x - (g * eta)?)? + noise.broadcast_mul(&std)?)?;
        if let Some([lo, hi]) = self.params.clamp {
            moved = moved.clamp(lo, hi)?;
        }
        let (e, g) = energy.energy_and_grad(&moved)?;

        // Swaps between neighbours, per chain: row k·B + i is replica k of chain i.
        let ev = e.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        let mut perm: Vec<u32> = (0..(k * b) as u32).collect();
        let (mut tried, mut accepted) = (0usize, 0usize);
        for lo in (ctx.step as usize % 2..k - 1).step_by(2) {
            let dbeta = 1.0 / temps[lo] - 1.0 / temps[lo + 1];
            for i in 0..b {
                let (p, q) = (lo * b + i, (lo + 1) * b + i);
                let log_a = dbeta * (ev[p] - ev[q]);
                let u: f64 = ctx.rng.random();
                tried += 1;
                // NaN energies compare false and are never swapped in.
                if log_a >= 0.0 || u < log_a.exp() {
                    perm.swap(p, q);
                    accepted += 1;
                }
            }
        }
        let (x, e, g) = if accepted > 0 {
            let idx = Tensor::from_vec(perm, k * b, x.device())?;
            let pick = |t: &Tensor| t.index_select(&idx, 0);
            (pick(&moved)?, pick(&e)?, pick(&g)?)
        } else {
            (moved, e, g)
        };

        let rest = (k - 1) * b;
        self.hot = Some(Hot {
            x: x.narrow(0, b, rest)?,
            grad: g.narrow(0, b, rest)?,
        });
        chains.set_x_cached(
            x.narrow(0, 0, b)?,
            Some(e.narrow(0, 0, b)?),
            Some(g.narrow(0, 0, b)?),
        );
        Ok(StepInfo {
            acceptance_rate: (tried > 0).then(|| accepted as f64 / tried as f64),
            ..StepInfo::default()
        })
    }
}
