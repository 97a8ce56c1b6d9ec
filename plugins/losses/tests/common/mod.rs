//! Shared test fixtures: a quadratic energy whose ∇ₓE comes from autograd, a sampler that jumps
//! to fixed negatives (so CD's loss is a smooth function of the weights), and a seeded loss call.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{
    build_loss, rng, Chains, Energy, Loss, LossOut, Model, Param, PluginSpec, Result, Sampler,
    StepCtx, StepInfo, TrainCtx,
};
use ebm_models::{Activation, Mlp, MlpConfig};

/// E(x) = ½ xᵀAx with A a trainable parameter; only `energy` is written, so ∇ₓE is autograd's.
#[derive(Clone)]
pub struct Quadratic {
    pub a: Var,
}

impl Quadratic {
    pub fn new(a: Vec<f64>, d: usize) -> Self {
        let t = Tensor::from_vec(a, (d, d), &Device::Cpu).unwrap();
        Quadratic {
            a: Var::from_tensor(&t).unwrap(),
        }
    }
}

impl Energy for Quadratic {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        Ok(((x.matmul(self.a.as_tensor())? * x)?.sum(1)? * 0.5)?)
    }
}

impl Model for Quadratic {
    fn params(&self) -> Vec<Param> {
        vec![Param {
            name: "a".into(),
            var: self.a.clone(),
        }]
    }
    fn detached(&self) -> Box<dyn Energy> {
        let a = Var::from_tensor(&self.a.as_tensor().detach()).unwrap();
        Box::new(Quadratic { a })
    }
    fn input_shape(&self) -> Vec<usize> {
        vec![self.a.dims()[0]]
    }
}

/// Moves every chain to the same fixed negatives, independent of the energy.
pub struct FixedNegatives(pub Tensor);

impl Sampler for FixedNegatives {
    fn name(&self) -> &'static str {
        "fixed_negatives"
    }
    fn step(&mut self, _: &dyn Energy, chains: &mut Chains, _: &mut StepCtx) -> Result<StepInfo> {
        chains.set_x(self.0.clone());
        Ok(StepInfo::default())
    }
}

pub fn points(seed: u64, n: usize, d: usize) -> Tensor {
    let mut r = rng::stream(seed, "test-points", 0);
    rng::randn(&mut r, &[n, d], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
}

pub fn mlp_f64(activation: Activation, input_dim: usize) -> Mlp {
    let config = MlpConfig {
        hidden: vec![8, 8],
        activation,
        swish_beta: 1.0,
        ..MlpConfig::default()
    };
    mlp_f64_with(&config, input_dim)
}

pub fn mlp_f64_with(config: &MlpConfig, input_dim: usize) -> Mlp {
    let mut r = rng::stream(11, "init", 0);
    Mlp::new_with_dtype(config, input_dim, &mut r, &Device::Cpu, DType::F64).unwrap()
}

pub fn loss_from(text: &str) -> Box<dyn Loss> {
    ebm_losses::link();
    let spec: PluginSpec = toml::from_str(text).unwrap();
    build_loss("loss", &spec).unwrap()
}

/// One forward with the loss's random draws reseeded identically every call.
pub fn forward(loss: &mut dyn Loss, model: &dyn Model, batch: &Tensor, seed: u64) -> LossOut {
    let d = batch.dims()[1];
    let mut sampler = FixedNegatives(points(99, batch.dims()[0], d));
    let mut r = rng::stream(seed, "loss-draws", 0);
    let mut ctx = TrainCtx {
        step: 0,
        sampler: &mut sampler,
        rng: &mut r,
    };
    loss.forward(model, batch, &mut ctx).unwrap()
}

pub fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

/// Every element of a tensor, flattened, as f64.
pub fn values(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

/// The MLP with its fused parameter-gradient path hidden, so the loss falls back to autograd.
pub struct AutogradOnly(pub Mlp);

impl Energy for AutogradOnly {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        self.0.energy(x)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.0.energy_and_grad(x)
    }
}

impl Model for AutogradOnly {
    fn params(&self) -> Vec<Param> {
        self.0.params()
    }
    fn detached(&self) -> Box<dyn Energy> {
        self.0.detached()
    }
    fn input_shape(&self) -> Vec<usize> {
        self.0.input_shape()
    }
}
