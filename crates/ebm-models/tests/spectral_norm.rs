//! Spectral normalisation: the normalised weights have largest singular value 1 (against an SVD
//! by Jacobi eigenvalues in f64), training forwards update u and sampling views do not, and the
//! u/v state round-trips through `buffers` / `load_buffers`.

use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Energy, Model};
use ebm_models::{ConvConfig, ConvLayerConfig, ConvNet, ResNet, ResNetConfig};

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Eigenvalues of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off < 1e-28 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

/// The largest singular value of w reshaped to [out, rest]: √λ_max(W Wᵀ).
fn largest_singular_value(w: &Tensor) -> f64 {
    let out = w.dims()[0];
    let m = values(w);
    let rest = m.len() / out;
    let gram: Vec<f64> = (0..out * out)
        .map(|ij| {
            let (i, j) = (ij / out, ij % out);
            (0..rest).map(|k| m[i * rest + k] * m[j * rest + k]).sum()
        })
        .collect();
    symmetric_eigenvalues(gram, out)
        .into_iter()
        .fold(f64::MIN, f64::max)
        .sqrt()
}

fn sn_conv() -> ConvConfig {
    let l = |channels, kernel, stride| ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding: 1,
    };
    ConvConfig {
        layers: vec![l(6, 3, 1), l(8, 4, 2)],
        spectral_norm: true,
        ..ConvConfig::default()
    }
}

#[test]
fn jacobi_svd_is_right_on_a_known_matrix() {
    // [[3, 0], [4, 5]] has singular values √45 and √5.
    let w = Tensor::new(&[[3f64, 0.0], [4.0, 5.0]], &Device::Cpu).unwrap();
    assert!((largest_singular_value(&w) - 45f64.sqrt()).abs() < 1e-12);
}

#[test]
fn normalised_weights_have_unit_spectral_norm() {
    let dev = Device::Cpu;
    let mut r = rng::stream(11, "init", 0);
    let m = ConvNet::new_with_dtype(&sn_conv(), &[3, 8, 8], &mut r, &dev, DType::F64).unwrap();
    let raw: Vec<f64> = m
        .params()
        .iter()
        .filter(|p| p.name.ends_with(".weight"))
        .map(|p| largest_singular_value(p.var.as_tensor()))
        .collect();
    assert!(raw.iter().all(|s| (s - 1.0).abs() > 0.05), "raw σ {raw:?}");
    m.power_iterate(500).unwrap();
    for (name, w) in m.effective_weights().unwrap() {
        let s = largest_singular_value(&w);
        assert!((s - 1.0).abs() < 1e-8, "{name}: σ(W/σ̂) = {s}");
    }
    // A ResNet's 1×1 projections and head are normalised too.
    let config = ResNetConfig {
        channels: vec![4, 6],
        blocks: vec![1, 1],
        spectral_norm: true,
        ..ResNetConfig::default()
    };
    let m = ResNet::new_with_dtype(&config, &[3, 4, 4], &mut r, &dev, DType::F64).unwrap();
    m.power_iterate(500).unwrap();
    let weights = m.effective_weights().unwrap();
    assert!(weights.iter().any(|(n, _)| n == "stages.1.0.skip"));
    for (name, w) in weights {
        let s = largest_singular_value(&w);
        assert!((s - 1.0).abs() < 1e-8, "{name}: σ(W/σ̂) = {s}");
    }
}

#[test]
fn training_forwards_update_u_and_sampling_views_do_not() {
    let dev = Device::Cpu;
    let m = ConvNet::new(&sn_conv(), &[3, 8, 8], &mut rng::stream(1, "init", 0), &dev).unwrap();
    let x = rng::rand_uniform(&mut rng::stream(2, "x", 0), &[2, 3, 8, 8], -1.0, 1.0, &dev).unwrap();
    let snapshot = |m: &ConvNet| -> Vec<Vec<f64>> {
        m.buffers()
            .unwrap()
            .iter()
            .map(|(_, t)| values(t))
            .collect()
    };
    let before = snapshot(&m);
    assert_eq!(before.len(), 6, "u and v of two convs and the head");
    let view = m.detached();
    let _ = view.energy(&x).unwrap();
    let _ = view.grad(&x).unwrap();
    assert_eq!(snapshot(&m), before, "a sampling view must not update u");
    let _ = m.energy(&x).unwrap();
    assert_ne!(
        snapshot(&m),
        before,
        "a training forward runs one power iteration"
    );
    // The view shares the state: it now sees the updated σ.
    let e_view = values(&view.energy(&x).unwrap());
    let e_new_view = values(&m.detached().energy(&x).unwrap());
    assert_eq!(e_view, e_new_view);
}

#[test]
fn u_state_round_trips() {
    let dev = Device::Cpu;
    let config = ResNetConfig {
        channels: vec![4, 6],
        blocks: vec![1, 1],
        spectral_norm: true,
        ..ResNetConfig::default()
    };
    let a = ResNet::new(&config, &[3, 8, 8], &mut rng::stream(1, "init", 0), &dev).unwrap();
    let x = rng::rand_uniform(&mut rng::stream(2, "x", 0), &[2, 3, 8, 8], -1.0, 1.0, &dev).unwrap();
    for _ in 0..3 {
        let _ = a.energy(&x).unwrap();
    }
    // Another seed: other weights and other u; loading both must reproduce a exactly.
    let b = ResNet::new(&config, &[3, 8, 8], &mut rng::stream(9, "init", 0), &dev).unwrap();
    let params: std::collections::HashMap<String, Tensor> = a
        .params()
        .into_iter()
        .map(|p| (p.name, p.var.as_tensor().copy().unwrap()))
        .collect();
    b.load_params(&|n| params.get(n).cloned()).unwrap();
    let e_before = values(&b.detached().energy(&x).unwrap());
    let buffers: std::collections::HashMap<String, Tensor> =
        a.buffers().unwrap().into_iter().collect();
    assert!(buffers.contains_key("stem.weight_u") && buffers.contains_key("head.weight_v"));
    b.load_buffers(&|n| buffers.get(n).cloned()).unwrap();
    let sigmas = |m: &ResNet| -> Vec<Vec<f64>> {
        m.effective_weights()
            .unwrap()
            .iter()
            .map(|(_, w)| values(w))
            .collect()
    };
    assert_eq!(sigmas(&a), sigmas(&b));
    let e_a = values(&a.detached().energy(&x).unwrap());
    assert_eq!(e_a, values(&b.detached().energy(&x).unwrap()));
    assert_ne!(
        e_a, e_before,
        "u matters, so the test would catch a lost state"
    );
    // Training continues identically.
    assert_eq!(
        values(&a.energy(&x).unwrap()),
        values(&b.energy(&x).unwrap())
    );
    // A missing or misshapen vector is an error naming it.
    let err = b.load_buffers(&|n| (n != "head.weight_u").then(|| buffers[n].clone()));
    assert!(err.unwrap_err().to_string().contains("head.weight_u"));
    let bad = Tensor::zeros(3, DType::F32, &dev).unwrap();
    assert!(b.load_buffers(&|_| Some(bad.clone())).is_err());
}

/// The weight gradient goes through σ(W) = uᵀWv (u, v held fixed, as PyTorch): at a converged
/// estimate that is the gradient of W ↦ E with the exact σ(W), checked by central differences.
#[test]
fn weight_gradients_include_sigma() {
    let dev = Device::Cpu;
    let mut r = rng::stream(5, "init", 0);
    let m = ConvNet::new_with_dtype(&sn_conv(), &[3, 6, 6], &mut r, &dev, DType::F64).unwrap();
    let x = rng::rand_uniform(&mut rng::stream(6, "x", 0), &[2, 3, 6, 6], -1.0, 1.0, &dev)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let converged_energy = |m: &ConvNet| -> f64 {
        m.power_iterate(3000).unwrap();
        values(&m.detached().energy(&x).unwrap()).iter().sum()
    };
    m.power_iterate(3000).unwrap();
    let grads = m.energy(&x).unwrap().sum_all().unwrap().backward().unwrap();
    let h = 1e-6;
    for p in m.params().iter().filter(|p| p.name.ends_with(".weight")) {
        let g = values(grads.get(p.var.as_tensor()).unwrap());
        let w0 = values(p.var.as_tensor());
        for i in [0, w0.len() / 2, w0.len() - 1] {
            let shifted = |d: f64| {
                let mut w = w0.clone();
                w[i] += d;
                let t = Tensor::from_slice(&w, p.var.dims(), &dev).unwrap();
                p.var.set(&t).unwrap();
                converged_energy(&m)
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()),
                "{}[{i}]: autograd {} vs finite differences {fd}",
                p.name,
                g[i]
            );
        }
        let t = Tensor::from_slice(&w0, p.var.dims(), &dev).unwrap();
        p.var.set(&t).unwrap();
    }
}
