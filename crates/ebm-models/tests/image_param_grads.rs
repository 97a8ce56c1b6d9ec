//! The conv and ResNet energies' fused parameter gradients (`Model::energy_param_grads`, the
//! CPU training path) against candle's autograd on the trainable model: for row weights c chosen
//! from the energies (as contrastive divergence's ∂L/∂Eᵢ are), every weight's and bias's gradient
//! of Σᵢ cᵢ·E(xᵢ) agrees in f64 to 1e-10 relative, with strides, padding, odd shapes, every
//! activation, both pools, skip convs, and spectral norm (its power iteration included: two
//! models from one seed take the same step), and in f32 to ~1e-4 through the `Model` trait.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{images, relative_error};
use ebm_core::{rng, Model};
use ebm_models::{Activation, ConvConfig, ConvLayerConfig, ConvNet, Pool, ResNet, ResNetConfig};

/// Row weights that depend on E: ±1/n + 0.3·Eᵢ/n.
fn row_weights<T: Copy + Into<f64>>(e: &[T]) -> Vec<f64> {
    let n = e.len() as f64;
    e.iter()
        .enumerate()
        .map(|(i, &ei)| (if i % 2 == 0 { 1.0 } else { -1.0 }) / n + 0.3 * ei.into() / n)
        .collect()
}

/// Σᵢ cᵢ·E(xᵢ) by the model's (training) forward, with c from the detached energies; its
/// autograd gradients in `params()` order.
fn autograd_grads(model: &dyn Model, x: &Tensor) -> (Vec<f64>, Vec<Tensor>) {
    let e = model.energy(x).unwrap();
    let ev: Vec<f64> = common::values(&e);
    let c = row_weights(&ev);
    let c = Tensor::new(c.as_slice(), &Device::Cpu)
        .unwrap()
        .to_dtype(e.dtype())
        .unwrap();
    let grads = (&e * &c).unwrap().sum_all().unwrap().backward().unwrap();
    let g = model
        .params()
        .iter()
        .map(|p| grads.get(p.var.as_tensor()).expect("a gradient").clone())
        .collect();
    (ev, g)
}

fn compare(name: &str, names: &[String], fused: &[Tensor], reference: &[Tensor], tol: f64) {
    assert_eq!(fused.len(), reference.len(), "{name}: number of gradients");
    for ((p, f), r) in names.iter().zip(fused).zip(reference) {
        assert_eq!(f.dims(), r.dims(), "{name}: {p} shape");
        let err = relative_error(f, r);
        assert!(err < tol, "{name}: {p} differs by {err:e} (relative)");
    }
}

fn conv(channels: usize, kernel: usize, stride: usize, padding: usize) -> ConvLayerConfig {
    ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding,
    }
}

/// The trainable model's fused gradients (`fused`) against autograd on a twin from the same
/// seed, on `shape` images.
fn check<M: Model>(
    name: &str,
    build: impl Fn() -> M,
    fused: impl Fn(&M, &Tensor) -> (Vec<f64>, Vec<Tensor>),
    shape: &[usize],
) {
    let (fused_model, autograd_model) = (build(), build());
    let x = images(21, shape, DType::F64);
    let (e_ref, g_ref) = autograd_grads(&autograd_model, &x);
    let (e, g) = fused(&fused_model, &x);
    let de = e
        .iter()
        .zip(&e_ref)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(de < 1e-10, "{name}: energies differ by {de:e}");
    let names: Vec<String> = fused_model.params().into_iter().map(|p| p.name).collect();
    compare(name, &names, &g, &g_ref, 1e-10);
}

fn check_conv(name: &str, config: &ConvConfig, shape: &[usize]) {
    let build = || {
        let mut r = rng::stream(4, "init", 0);
        ConvNet::new_with_dtype(config, &shape[1..], &mut r, &Device::Cpu, DType::F64).unwrap()
    };
    let fused = |m: &ConvNet, x: &Tensor| {
        m.fused_param_grads::<f64>(x, &mut |e| Ok(row_weights(e)))
            .unwrap()
    };
    check(name, build, fused, shape);
}

#[test]
fn conv_param_grads_match_autograd_f64() {
    use Activation::*;
    // (layers, activation, spectral norm, pool, input [B, C, H, W]). Every stride divides
    // H + 2p − k: candle's conv backward (the reference) has no output padding for the rest.
    let cases = [
        (
            vec![conv(4, 3, 1, 1), conv(6, 4, 2, 1)],
            Silu,
            false,
            Pool::Mean,
            [3, 2, 8, 8],
        ),
        (
            vec![conv(3, 3, 2, 0), conv(5, 2, 1, 1)],
            Swish,
            true,
            Pool::Sum,
            [5, 1, 9, 7],
        ),
        (vec![conv(5, 5, 1, 2)], Elu, true, Pool::Mean, [1, 3, 6, 6]),
        (
            vec![conv(2, 1, 1, 0), conv(4, 3, 3, 2), conv(3, 3, 1, 1)],
            Tanh,
            false,
            Pool::Sum,
            [4, 2, 11, 8],
        ),
        (
            vec![conv(4, 4, 2, 1), conv(4, 4, 2, 1)],
            Softplus,
            true,
            Pool::Mean,
            [7, 1, 12, 12],
        ),
    ];
    for (i, (layers, activation, spectral_norm, pool, shape)) in cases.into_iter().enumerate() {
        let config = ConvConfig {
            layers,
            activation,
            swish_beta: 1.4,
            spectral_norm,
            pool,
        };
        check_conv(
            &format!("conv case {i} ({activation:?}, sn={spectral_norm})"),
            &config,
            &shape,
        );
    }
}

fn check_resnet(name: &str, config: &ResNetConfig, shape: &[usize]) {
    let build = || {
        let mut r = rng::stream(5, "init", 0);
        ResNet::new_with_dtype(config, &shape[1..], &mut r, &Device::Cpu, DType::F64).unwrap()
    };
    let fused = |m: &ResNet, x: &Tensor| {
        m.fused_param_grads::<f64>(x, &mut |e| Ok(row_weights(e)))
            .unwrap()
    };
    check(name, build, fused, shape);
}

#[test]
fn resnet_param_grads_match_autograd_f64() {
    use Activation::*;
    // (channels, blocks, activation, spectral norm, pool, input [B, C, H, W])
    let cases = [
        (vec![4, 6], vec![1, 2], Elu, false, Pool::Sum, [2, 3, 8, 8]),
        (
            vec![4, 4],
            vec![2, 1],
            Swish,
            true,
            Pool::Mean,
            [3, 1, 6, 10],
        ),
        (
            vec![3, 5, 5],
            vec![1, 1, 1],
            Silu,
            true,
            Pool::Mean,
            [1, 2, 8, 12],
        ),
        (vec![5], vec![2], Tanh, false, Pool::Sum, [5, 3, 7, 5]),
        (
            vec![2, 3],
            vec![0, 1],
            Softplus,
            true,
            Pool::Sum,
            [4, 2, 4, 6],
        ),
    ];
    for (i, (channels, blocks, activation, spectral_norm, pool, shape)) in
        cases.into_iter().enumerate()
    {
        let config = ResNetConfig {
            channels,
            blocks,
            activation,
            swish_beta: 1.3,
            spectral_norm,
            pool,
        };
        check_resnet(
            &format!("resnet case {i} ({activation:?}, sn={spectral_norm})"),
            &config,
            &shape,
        );
    }
}

/// Through the `Model` trait in f32, as the CD loss calls it: the gradient store is keyed by the
/// parameters and agrees with autograd to f32 rounding; the spectral-norm state after the call
/// equals the autograd model's (one power iteration each).
#[test]
fn model_trait_param_grads_f32_with_spectral_norm() {
    let config = ResNetConfig {
        channels: vec![8, 16],
        blocks: vec![1, 1],
        spectral_norm: true,
        ..ResNetConfig::default()
    };
    let shape = [6, 1, 12, 12];
    let build = || {
        let mut r = rng::stream(6, "init", 0);
        ResNet::new(&config, &shape[1..], &mut r, &Device::Cpu).unwrap()
    };
    let (fused_model, autograd_model) = (build(), build());
    let x = images(23, &shape, DType::F32);
    let (_, g_ref) = autograd_grads(&autograd_model, &x);
    let (_, store) = fused_model
        .energy_param_grads(&x, &mut |e| {
            Ok(row_weights(e).into_iter().map(|v| v as f32).collect())
        })
        .unwrap()
        .expect("the trainable model on CPU f32 has the fused path");
    let params = fused_model.params();
    let names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let g: Vec<Tensor> = params
        .iter()
        .map(|p| {
            store
                .get(p.var.as_tensor())
                .expect("every parameter")
                .clone()
        })
        .collect();
    compare("resnet f32", &names, &g, &g_ref, 2e-4);
    let (b1, b2) = (
        fused_model.buffers().unwrap(),
        autograd_model.buffers().unwrap(),
    );
    for ((n, a), (_, b)) in b1.iter().zip(&b2) {
        assert!(relative_error(a, b) < 1e-5, "spectral-norm vector {n}");
    }
    // A sampling view has no trainable parameters: no fused path, autograd decides.
    let view = ConvNet::new(
        &ConvConfig::default(),
        &[3, 8, 8],
        &mut rng::stream(1, "i", 0),
        &Device::Cpu,
    )
    .unwrap()
    .detached_autograd();
    assert!(view
        .energy_param_grads(&images(1, &[2, 3, 8, 8], DType::F32), &mut |e| Ok(
            e.to_vec()
        ))
        .unwrap()
        .is_none());
}
