//! `AutocastModel` (`[train] precision = "bf16"`, issue 15): the network computes in bf16 while
//! its parameters stay f32. Run on the CPU here (the trainer only uses it on CUDA): E and ∇ₓE
//! come back in the input's dtype and agree with the f32 network to bf16's precision, and
//! autograd carries parameter gradients back through the casts to every f32 weight. candle's CPU
//! conv has no bf16 kernel, so the conv case computes in f64 instead: the casts are the same
//! code; launch/tests/gpu.rs trains in bf16 on a GPU.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{images, relative_error};
use ebm_core::{rng, Model};
use ebm_models::{
    Activation, AutocastModel, ConvConfig, ConvLayerConfig, ConvNet, Mlp, MlpConfig, Pool,
};

/// Σᵢ cᵢ·E(xᵢ)'s parameter gradients by autograd, in `params()` order.
fn param_grads(model: &dyn Model, x: &Tensor) -> Vec<Tensor> {
    let n = x.dims()[0];
    let c: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -0.5 })
        .collect();
    let c = Tensor::from_vec(c, n, &Device::Cpu).unwrap();
    let store = (model.energy(x).unwrap() * c)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    model
        .params()
        .iter()
        .map(|p| store.get(p.var.as_tensor()).expect("a gradient").clone())
        .collect()
}

/// The twin of `build()` computing in `dtype` against `build()` itself on `x`, within `tol`
/// (relative to the largest entry; E and ∇ₓE within tol/2 and tol).
fn check(name: &str, build: &dyn Fn() -> Box<dyn Model>, x: &Tensor, dtype: DType, tol: f64) {
    let reference = build();
    let bf16 = AutocastModel::new(build(), dtype);
    let (e_ref, g_ref) = reference.detached().energy_and_grad(x).unwrap();
    let (e, g) = bf16.detached().energy_and_grad(x).unwrap();
    assert_eq!((e.dtype(), g.dtype()), (DType::F32, DType::F32), "{name}");
    assert_eq!(g.dims(), x.dims(), "{name}");
    let (de, dg) = (relative_error(&e, &e_ref), relative_error(&g, &g_ref));
    assert!(de < tol / 2.0, "{name}: E differs by {de:e}");
    assert!(dg < tol, "{name}: ∇ₓE differs by {dg:e}");
    // 0 would mean the network never left f32.
    assert!(
        de > 0.0 || dtype == DType::F64,
        "{name}: E is bit-identical to f32's"
    );
    let (grads_ref, grads) = (param_grads(reference.as_ref(), x), param_grads(&bf16, x));
    assert_eq!(grads.len(), reference.params().len());
    for ((p, a), b) in bf16.params().iter().zip(&grads).zip(&grads_ref) {
        assert_eq!(
            p.var.dtype(),
            DType::F32,
            "{name}: {} is no longer f32",
            p.name
        );
        assert_eq!(a.dtype(), DType::F32, "{name}: ∂/∂{}", p.name);
        let err = relative_error(a, b);
        assert!(err < tol, "{name}: ∂/∂{} differs by {err:e}", p.name);
    }
}

#[test]
fn bf16_mlp_agrees_with_f32_and_trains_f32_weights() {
    let config = MlpConfig {
        hidden: vec![32, 32],
        activation: Activation::Silu,
        ..MlpConfig::default()
    };
    let build = || -> Box<dyn Model> {
        Box::new(Mlp::new(&config, 2, &mut rng::stream(1, "init", 0), &Device::Cpu).unwrap())
    };
    let x = rng::randn(&mut rng::stream(2, "x", 0), &[64, 2], &Device::Cpu).unwrap();
    // bf16 keeps 8 significant bits (relative 2⁻⁹ per rounding): a few layers stay near 1e-2.
    check("mlp", &build, &x, DType::BF16, 6e-2);
}

#[test]
fn autocast_conv_agrees_with_f32_and_trains_f32_weights() {
    let layer = |channels, kernel, stride, padding| ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding,
    };
    for spectral_norm in [false, true] {
        let config = ConvConfig {
            layers: vec![layer(8, 3, 1, 1), layer(16, 4, 2, 1)],
            activation: Activation::Swish,
            swish_beta: 1.0,
            spectral_norm,
            pool: Pool::Mean,
        };
        let build = || -> Box<dyn Model> {
            let mut r = rng::stream(3, "init", 0);
            Box::new(ConvNet::new(&config, &[1, 12, 12], &mut r, &Device::Cpu).unwrap())
        };
        let x = images(4, &[6, 1, 12, 12], DType::F32);
        let name = format!("conv (spectral norm {spectral_norm})");
        check(&name, &build, &x, DType::F64, 1e-5);
    }
}
