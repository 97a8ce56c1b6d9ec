//! What the checks run plugins on: an analytic Gaussian energy of any shape (known moments), the
//! same as a gradient field without energy values, a small trainable model of any shape, and a
//! plain Langevin sampler for losses that draw negatives. Exported so a user's own tests can
//! reuse them.

use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{rng, Chains, Energy, Model, Param, Result, Sampler, StepCtx, StepInfo};

/// The variances the Gaussian's coordinates cycle through (flattened order): unequal, so a
/// sampler that is right only for the unit Gaussian, or only on average, is caught.
pub const VARIANCES: [f64; 3] = [0.5, 1.0, 2.0];

/// The variance of flattened coordinate `i` of [`DiagonalGaussian`].
pub fn variance_of(i: usize) -> f64 {
    VARIANCES[i % VARIANCES.len()]
}

/// E(x) = Σᵢ xᵢ² / (2vᵢ) over the coordinates of one chain of shape `chain_shape`, vᵢ from
/// [`VARIANCES`]: exp(−E) is N(0, diag(v)). ∇ₓE = x / v in closed form.
pub struct DiagonalGaussian {
    /// 1/vᵢ as `[1, chain_shape...]`, broadcast over the batch.
    precision: Tensor,
}

impl DiagonalGaussian {
    pub fn new(chain_shape: &[usize], device: &Device) -> Result<Self> {
        let d: usize = chain_shape.iter().product();
        let p: Vec<f32> = (0..d).map(|i| (1.0 / variance_of(i)) as f32).collect();
        let mut shape = vec![1];
        shape.extend_from_slice(chain_shape);
        Ok(DiagonalGaussian {
            precision: Tensor::from_vec(p, shape, device)?,
        })
    }
}

impl Energy for DiagonalGaussian {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let p = self.precision.to_dtype(x.dtype())?;
        Ok((x.sqr()?.broadcast_mul(&p)?.flatten_from(1)?.sum(1)? * 0.5)?)
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.broadcast_mul(&self.precision.to_dtype(x.dtype())?)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.energy(x)?, self.grad(x)?))
    }
}

/// A [`DiagonalGaussian`] seen as a gradient field: `grad` works, `energy` is an error (as for a
/// network with `[model] output = "field"`).
pub struct GradientFieldOnly(pub DiagonalGaussian);

impl Energy for GradientFieldOnly {
    fn energy(&self, _: &Tensor) -> Result<Tensor> {
        Err(ebm_core::no_energy_values("the kit's gradient field"))
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        self.0.grad(x)
    }

    fn energy_and_grad(&self, _: &Tensor) -> Result<(Tensor, Tensor)> {
        Err(ebm_core::no_energy_values("the kit's gradient field"))
    }

    fn has_energy_values(&self) -> bool {
        false
    }
}

/// E(x) = ½·a·Σ(x − c)² with trainable a (a scalar) and c (one chain's shape): a model of any
/// input shape whose ∇ₓE = a·(x − c) is made of ordinary ops, so it stays differentiable in the
/// parameters without double backward. With `time_conditioned` it claims a time input (and
/// ignores it), for losses that need one.
pub struct QuadraticModel {
    scale: Var,
    center: Var,
    input_shape: Vec<usize>,
    time_conditioned: bool,
}

impl QuadraticModel {
    pub fn new(input_shape: &[usize], time_conditioned: bool, device: &Device) -> Result<Self> {
        let mut shape = vec![1];
        shape.extend_from_slice(input_shape);
        Ok(QuadraticModel {
            scale: Var::from_tensor(&Tensor::new(&[1.5f32], device)?)?,
            center: Var::from_tensor(&(Tensor::ones(shape, DType::F32, device)? * 0.25)?)?,
            input_shape: input_shape.to_vec(),
            time_conditioned,
        })
    }

    fn diff(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.broadcast_sub(self.center.as_tensor())?)
    }
}

impl Energy for QuadraticModel {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let sq = self.diff(x)?.sqr()?.flatten_from(1)?.sum(1)?;
        Ok((sq.broadcast_mul(self.scale.as_tensor())? * 0.5)?)
    }

    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        let shape = vec![1; x.rank()];
        let a = self.scale.as_tensor().reshape(shape)?;
        Ok(self.diff(x)?.broadcast_mul(&a)?)
    }

    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.energy(x)?, self.grad(x)?))
    }

    fn grad_is_differentiable(&self) -> bool {
        true
    }

    fn time_conditioned(&self) -> bool {
        self.time_conditioned
    }
}

impl Model for QuadraticModel {
    fn params(&self) -> Vec<Param> {
        vec![
            Param {
                name: "scale".into(),
                var: self.scale.clone(),
            },
            Param {
                name: "center".into(),
                var: self.center.clone(),
            },
        ]
    }

    fn detached(&self) -> Box<dyn Energy> {
        Box::new(QuadraticModel {
            scale: Var::from_tensor(&self.scale.as_tensor().detach())
                .expect("a detached copy of a scalar"),
            center: Var::from_tensor(&self.center.as_tensor().detach())
                .expect("a detached copy of the center"),
            input_shape: self.input_shape.clone(),
            time_conditioned: self.time_conditioned,
        })
    }

    fn input_shape(&self) -> Vec<usize> {
        self.input_shape.clone()
    }
}

/// Plain Langevin, x ← x − η∇E + √(2η)·ε with η = 0.01, from the context's stream: the sampler
/// [`crate::check_loss`] hands to losses that draw negatives (so the kit needs no sampler crate).
pub struct KitLangevin;

impl Sampler for KitLangevin {
    fn name(&self) -> &'static str {
        "kit_langevin"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let eta = 0.01;
        let x = chains.x();
        let noise = rng::randn(ctx.rng, x.dims(), x.device())?.to_dtype(x.dtype())?;
        let next = ((x - (energy.grad(x)? * eta)?)? + (noise * (2.0 * eta).sqrt())?)?;
        chains.set_x(next);
        Ok(StepInfo::default())
    }
}

/// A `[n, shape...]` f32 tensor of `mean + std·ε` from `rng`.
pub fn normal_batch(
    rng: &mut ebm_core::Rng,
    n: usize,
    shape: &[usize],
    mean: f64,
    std: f64,
) -> Result<Tensor> {
    let mut dims = vec![n];
    dims.extend_from_slice(shape);
    Ok(rng::randn(rng, &dims, &Device::Cpu)?.affine(std, mean)?)
}

/// Every value of `t` as f32 bits (for bit-for-bit comparisons).
pub fn bits(t: &Tensor) -> Result<Vec<u32>> {
    Ok(t.to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?
        .iter()
        .map(|v| v.to_bits())
        .collect())
}
