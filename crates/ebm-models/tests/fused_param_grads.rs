//! The MLP's fused parameter gradients (`Model::energy_param_grads`) against candle's autograd:
//! for row weights c chosen from the energies, every weight's and bias's gradient of Σᵢ cᵢ·E(xᵢ)
//! agrees with `backward()` to ~1e-5 relative, for every activation, several widths and depths,
//! and batches of one row, an odd number and several tiles (the parallel path).

use candle_core::{Device, Tensor};
use ebm_core::{rng, Energy, Model};
use ebm_models::{Activation, Mlp, MlpConfig, Output};

const ACTIVATIONS: [Activation; 5] = [
    Activation::Silu,
    Activation::Swish,
    Activation::Elu,
    Activation::Tanh,
    Activation::Softplus,
];

fn mlp(config: MlpConfig, input_dim: usize, seed: u64) -> Mlp {
    let mut r = rng::stream(seed, "init", 0);
    Mlp::new(&config, input_dim, &mut r, &Device::Cpu).expect("valid MLP")
}

fn config(activation: Activation, hidden: &[usize]) -> MlpConfig {
    MlpConfig {
        hidden: hidden.to_vec(),
        activation,
        swish_beta: 0.7,
        ..MlpConfig::default()
    }
}

fn x(batch: usize, dim: usize, seed: u64) -> Tensor {
    let x = rng::randn(&mut rng::stream(seed, "x", 0), &[batch, dim], &Device::Cpu).expect("x");
    (x * 2.5).expect("scale")
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("f32")
}

/// Row weights that depend on E, like contrastive divergence's ±1/n + 2αEᵢ/n.
fn row_weights(e: &[f32]) -> Vec<f32> {
    let n = e.len() as f32;
    e.iter()
        .enumerate()
        .map(|(i, ei)| if i % 2 == 0 { 1.0 } else { -1.0 } / n + 0.2 * ei / n)
        .collect()
}

/// |a − b| ≤ rel·(|b| + mean |b|) + 1e-6. The floor is for sums that cancel, like the output
/// bias's Σᵢ cᵢ with cᵢ ≈ ±1/n: their rounding is relative to Σ|cᵢ| ≈ 1, not to the result.
fn assert_close(what: &str, got: &[f32], want: &[f32], rel: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().map(|v| v.abs()).sum::<f32>() / want.len().max(1) as f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * (w.abs() + scale) + 1e-6,
            "{what}[{i}]: fused {g}, autograd {w}"
        );
    }
}

#[test]
fn fused_parameter_gradients_match_autograd() {
    let shapes: [(&[usize], usize); 4] = [
        (&[128, 128], 2),
        (&[7], 3),
        (&[33, 17, 5], 5),
        (&[40, 24], 12),
    ];
    for (s, activation) in ACTIVATIONS.into_iter().enumerate() {
        for (k, (hidden, dim)) in shapes.iter().enumerate() {
            for batch in [1, 37, 300] {
                let seed = (s * 100 + k * 10) as u64 + batch as u64;
                let model = mlp(config(activation, hidden), *dim, seed);
                let x = x(batch, *dim, seed);
                let what = format!("{activation:?} {hidden:?} d={dim} B={batch}");
                let mut seen = None;
                let (e, grads) = model
                    .energy_param_grads(&x, &mut |e| {
                        seen = Some(e.to_vec());
                        Ok(row_weights(e))
                    })
                    .expect("fused")
                    .expect("the fused path covers this MLP");
                assert_eq!(seen.as_deref(), Some(&e[..]), "{what}: weights see E");

                // Autograd: backward of Σ cᵢ Eᵢ with the same c (computed from autograd's E).
                let e_ops = model.energy(&x).expect("energy");
                assert_close(&format!("{what} E"), &e, &values(&e_ops), 1e-5);
                let c = Tensor::new(row_weights(&values(&e_ops)), &Device::Cpu).expect("c");
                let want = (e_ops * c)
                    .and_then(|t| t.sum_all())
                    .and_then(|t| t.backward());
                let want = want.expect("backward");
                for p in model.params() {
                    let got = grads.get(p.var.as_tensor()).expect("every parameter");
                    let exp = want.get(p.var.as_tensor()).expect("autograd");
                    assert_eq!(got.dims(), exp.dims(), "{what} {}", p.name);
                    assert_close(
                        &format!("{what} {}", p.name),
                        &values(got),
                        &values(exp),
                        2e-5,
                    );
                }
            }
        }
    }
}

#[test]
fn models_the_fused_path_does_not_cover_return_none_without_calling_weights() {
    let field = MlpConfig {
        output: Output::Field,
        ..config(Activation::Silu, &[16])
    };
    let timed = MlpConfig {
        time: true,
        ..config(Activation::Silu, &[16])
    };
    for cfg in [field, timed] {
        let model = mlp(cfg, 2, 1);
        let got = model
            .energy_param_grads(&x(4, 2, 1), &mut |_| panic!("weights must not be called"))
            .expect("no error");
        assert!(got.is_none());
    }
    // f64 input: not the f32 path.
    let model = mlp(config(Activation::Silu, &[16]), 2, 1);
    let x64 = x(4, 2, 1).to_dtype(candle_core::DType::F64).expect("f64");
    let got = model
        .energy_param_grads(&x64, &mut |_| panic!("weights must not be called"))
        .expect("no error");
    assert!(got.is_none());
}
