//! The fused sampling view of the MLP (`Model::detached()` on CPU f32) against candle's autograd
//! through the op forward: E and ∇ₓE agree to ~1e-5 relative for every activation, several
//! widths and depths, and batches of one row, an odd number of rows and more rows than a tile
//! (which also takes the parallel path).

use candle_core::{DType, Device, Tensor};
use ebm_core::{autograd_energy_and_grad, rng, Model};
use ebm_models::{Activation, Mlp, MlpConfig};

const ACTIVATIONS: [Activation; 5] = [
    Activation::Silu,
    Activation::Swish,
    Activation::Elu,
    Activation::Tanh,
    Activation::Softplus,
];

fn mlp(activation: Activation, hidden: &[usize], input_dim: usize, seed: u64) -> Mlp {
    let config = MlpConfig {
        hidden: hidden.to_vec(),
        activation,
        swish_beta: 0.7,
        ..MlpConfig::default()
    };
    let mut r = rng::stream(seed, "init", 0);
    Mlp::new(&config, input_dim, &mut r, &Device::Cpu).expect("valid MLP")
}

fn x(batch: usize, dim: usize, seed: u64) -> Tensor {
    // Spread 2.5: inputs reach both tails of every activation.
    let x = rng::randn(&mut rng::stream(seed, "x", 0), &[batch, dim], &Device::Cpu).expect("x");
    (x * 2.5).expect("scale")
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("f32")
}

/// |a − b| ≤ rel·(|b| + mean |b|): relative, with the mean as the scale of entries that cancel.
fn assert_close(what: &str, got: &Tensor, want: &Tensor, rel: f32) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let (got, want) = (values(got), values(want));
    let scale = want.iter().map(|v| v.abs()).sum::<f32>() / want.len().max(1) as f32;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= rel * (w.abs() + scale),
            "{what}[{i}]: fused {g}, autograd {w}"
        );
    }
}

#[test]
fn fused_energy_and_grad_match_autograd_for_every_activation_width_and_batch() {
    // Input widths ≤ 8 take the thin first layer, wider ones the GEMM.
    let shapes: [(&[usize], usize); 5] = [
        (&[128, 128], 2),
        (&[7], 3),
        (&[33, 17, 5], 5),
        (&[64, 48], 1),
        (&[40, 24], 11),
    ];
    for act in ACTIVATIONS {
        for (k, (hidden, dim)) in shapes.iter().enumerate() {
            let model = mlp(act, hidden, *dim, k as u64);
            let view = model.detached();
            for batch in [1usize, 13, 300] {
                let xs = x(batch, *dim, batch as u64);
                let (e_ref, g_ref) = autograd_energy_and_grad(&model, &xs).expect("autograd");
                let (e, g) = view.energy_and_grad(&xs).expect("fused");
                let what = format!("{act:?} {hidden:?} d={dim} batch={batch}");
                assert_close(&format!("{what} E"), &e, &e_ref, 1e-5);
                assert_close(&format!("{what} ∇E"), &g, &g_ref, 1e-5);
                assert_close(
                    &format!("{what} energy()"),
                    &view.energy(&xs).expect("E"),
                    &e_ref,
                    1e-5,
                );
                assert_close(
                    &format!("{what} grad()"),
                    &view.grad(&xs).expect("g"),
                    &g_ref,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn fused_view_sees_the_optimisers_in_place_updates() {
    let model = mlp(Activation::Silu, &[16, 16], 2, 3);
    let view = model.detached();
    let xs = x(5, 2, 1);
    let before = values(&view.energy(&xs).expect("E"));
    // What an optimiser step does: write new values into the trainable Vars.
    for p in model.params() {
        let t = p.var.as_tensor();
        p.var.set(&(t * 0.5).expect("scale")).expect("set");
    }
    let after = view.energy(&xs).expect("E");
    let (want, _) = autograd_energy_and_grad(&model, &xs).expect("autograd");
    assert_close("after the update", &after, &want, 1e-5);
    assert_ne!(before, values(&after));
}

#[test]
fn fused_view_falls_back_on_inputs_it_does_not_cover() {
    let model = mlp(Activation::Tanh, &[8, 8], 2, 4);
    let view = model.detached();
    // A non-contiguous x (a transposed view) and an f64 x take the op path.
    let xt = x(2, 7, 5).t().expect("transpose");
    let (e, g) = view.energy_and_grad(&xt).expect("non-contiguous");
    let (e_ref, g_ref) =
        autograd_energy_and_grad(&model, &xt.contiguous().expect("c")).expect("autograd");
    assert_close("non-contiguous E", &e, &e_ref, 1e-5);
    assert_close("non-contiguous ∇E", &g, &g_ref, 1e-5);
    let x64 = x(3, 2, 6).to_dtype(DType::F64).expect("f64");
    assert!(view.grad(&x64).is_err() || view.grad(&x64).is_ok_and(|g| g.dtype() == DType::F64));
}

#[test]
fn fused_view_gives_the_same_bits_on_one_thread_and_on_several() {
    // Tiles are fixed-size whatever the thread count, so a seeded run is reproducible anywhere.
    let model = mlp(Activation::Silu, &[128, 128], 2, 7);
    let view = model.detached();
    let xs = x(1000, 2, 8);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let (e, g) = pool.install(|| view.energy_and_grad(&xs)).expect("fused");
        (values(&e), values(&g))
    };
    assert_eq!(run(1), run(3));
}
