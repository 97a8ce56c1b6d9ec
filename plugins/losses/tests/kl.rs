//! The KL term of Improved CD (`kl_weight`): its parameter gradient against central finite
//! differences of mean E_θ₀(x_next − η·(∇ₓE_θ(x_prev) − ∇ₓE_θ₀(x_prev))) in f64, for a quadratic
//! energy (∇ₓE by autograd) and a strided conv energy; CD with the term through the fused
//! gradients agrees with autograd; a sampler without a drift step is a config error.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{loss_from, points, scalar, AutogradOnly, Quadratic};
use ebm_core::{rng, Model, Rng, TrainCtx};
use ebm_losses::kl::kl_term;
use ebm_models::{Activation, ConvConfig, ConvLayerConfig, ConvNet, Mlp, MlpConfig, Pool};
use ebm_samplers::{Langevin, LangevinParams, Mala, MalaParams};

/// Autograd's gradient of `kl_term` for every parameter, flattened.
fn kl_grads(model: &dyn Model, x_prev: &Tensor, x_next: &Tensor, eta: f64) -> Vec<Vec<f64>> {
    let kl = kl_term(model, x_prev, x_next, eta).unwrap();
    let grads = kl.backward().unwrap();
    model
        .params()
        .iter()
        .map(|p| match grads.get(p.var.as_tensor()) {
            Some(g) => common::values(g),
            None => vec![0.0; p.var.elem_count()],
        })
        .collect()
}

/// The KL objective with the drift taken at `moved` (whose weights are perturbed) and the energy
/// at `frozen` (θ₀): mean E_θ₀(x_next − η·(∇ₓE_moved(x_prev) − ∇ₓE_θ₀(x_prev))).
fn objective(
    frozen: &dyn Model,
    moved: &dyn Model,
    x_prev: &Tensor,
    x_next: &Tensor,
    eta: f64,
) -> f64 {
    let g_moved = moved.grad(x_prev).unwrap();
    let g_frozen = frozen.grad(x_prev).unwrap();
    let x = (x_next - ((g_moved - g_frozen).unwrap() * eta).unwrap()).unwrap();
    scalar(&frozen.energy(&x).unwrap().mean_all().unwrap())
}

/// Central differences of [`objective`] in up to `per_param` entries of every parameter of
/// `moved` (a copy of `frozen`), against autograd's gradient of the KL term.
fn check_fd(frozen: &dyn Model, moved: &dyn Model, x_prev: &Tensor, x_next: &Tensor, eta: f64) {
    ebm_core::ensure_double_backward();
    let analytic = kl_grads(frozen, x_prev, x_next, eta);
    let h = 1e-5;
    let mut checked = 0;
    for (p, grad) in moved.params().iter().zip(&analytic) {
        let base_v = common::values(p.var.as_tensor());
        let stride = (base_v.len() / 5).max(1);
        for j in (0..base_v.len()).step_by(stride) {
            let at = |delta: f64| {
                let mut v = base_v.clone();
                v[j] += delta;
                let t = Tensor::from_vec(v, p.var.dims(), &Device::Cpu).unwrap();
                p.var.set(&t).unwrap();
                objective(frozen, moved, x_prev, x_next, eta)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let base = Tensor::from_vec(base_v.clone(), p.var.dims(), &Device::Cpu).unwrap();
            p.var.set(&base).unwrap();
            let a = grad[j];
            assert!(
                (a - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "{}[{j}]: autograd {a}, finite differences {fd}",
                p.name
            );
            checked += 1;
        }
    }
    // The test must look at something, and the gradient must not be trivially zero.
    assert!(checked >= 5, "only {checked} entries checked");
    let norm: f64 = analytic.iter().flatten().map(|g| g * g).sum();
    assert!(norm > 1e-12, "the KL gradient is zero");
}

#[test]
fn kl_gradient_matches_finite_differences_for_a_quadratic() {
    let d = 3;
    let a: Vec<f64> = vec![1.2, 0.3, -0.1, 0.2, 0.9, 0.4, -0.3, 0.1, 1.5];
    let (frozen, moved) = (Quadratic::new(a.clone(), d), Quadratic::new(a, d));
    let (x_prev, x_next) = (points(1, 5, d), points(2, 5, d));
    check_fd(&frozen, &moved, &x_prev, &x_next, 0.3);
}

fn conv_f64() -> ConvNet {
    let layer = |channels, kernel, stride, padding| ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding,
    };
    let config = ConvConfig {
        layers: vec![layer(3, 3, 1, 1), layer(4, 4, 2, 1)],
        activation: Activation::Swish,
        spectral_norm: false,
        pool: Pool::Mean,
        ..ConvConfig::default()
    };
    let mut r = rng::stream(5, "init", 0);
    ConvNet::new_with_dtype(&config, &[1, 6, 6], &mut r, &Device::Cpu, DType::F64).unwrap()
}

fn images(seed: u64) -> Tensor {
    let mut r = rng::stream(seed, "test-images", 0);
    rng::randn(&mut r, &[3, 1, 6, 6], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
}

#[test]
fn kl_gradient_matches_finite_differences_for_a_strided_conv() {
    let (frozen, moved) = (conv_f64(), conv_f64());
    check_fd(&frozen, &moved, &images(1), &images(2), 0.7);
}

fn mlp() -> Mlp {
    let config = MlpConfig {
        hidden: vec![32, 32],
        activation: Activation::Silu,
        ..MlpConfig::default()
    };
    let mut r = rng::stream(3, "init", 0);
    Mlp::new(&config, 2, &mut r, &Device::Cpu).unwrap()
}

const CD_WITH_KL: &str = r#"
kind = "contrastive_divergence"
k = 3
persistent = false
energy_reg = 0.1
kl_weight = 0.5
"#;

fn langevin() -> Langevin {
    Langevin::new(LangevinParams {
        step_size: 0.05.into(),
        noise_scale: 0.5.into(),
        ..LangevinParams::default()
    })
    .unwrap()
}

fn cd_step(model: &dyn Model, batch: &Tensor, r: &mut Rng) -> (f64, Vec<(String, Vec<f64>)>) {
    let mut loss = loss_from(CD_WITH_KL);
    let mut sampler = langevin();
    let mut ctx = TrainCtx {
        step: 0,
        sampler: &mut sampler,
        rng: r,
    };
    let (out, grads) = loss
        .forward_with_grads(model, batch, &mut ctx)
        .unwrap()
        .expect("contrastive divergence gives its gradients");
    let grads = model
        .params()
        .into_iter()
        .map(|p| {
            (
                p.name.clone(),
                common::values(grads.get(p.var.as_tensor()).unwrap()),
            )
        })
        .collect();
    (scalar(&out.loss), grads)
}

#[test]
fn cd_with_kl_through_fused_gradients_matches_autograd() {
    ebm_core::ensure_double_backward();
    let batch = points(4, 16, 2).to_dtype(DType::F32).unwrap();
    let (fused, reference) = (mlp(), AutogradOnly(mlp()));
    let (loss_f, grads_f) = cd_step(&fused, &batch, &mut rng::stream(9, "draws", 0));
    let (loss_a, grads_a) = cd_step(&reference, &batch, &mut rng::stream(9, "draws", 0));
    assert!(
        (loss_f - loss_a).abs() < 1e-4 * (1.0 + loss_a.abs()),
        "{loss_f} vs {loss_a}"
    );
    for ((name, f), (_, a)) in grads_f.iter().zip(&grads_a) {
        let scale = a.iter().fold(0f64, |m, v| m.max(v.abs())) + 1e-6;
        let worst = f.iter().zip(a).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= 1e-4 * scale,
            "{name}: worst difference {worst} (scale {scale})"
        );
    }
    // And the term matters: without it the gradients differ.
    let mut plain = loss_from(&CD_WITH_KL.replace("kl_weight = 0.5", "kl_weight = 0.0"));
    let mut sampler = langevin();
    let mut r = rng::stream(9, "draws", 0);
    let mut ctx = TrainCtx {
        step: 0,
        sampler: &mut sampler,
        rng: &mut r,
    };
    let (_, g) = plain
        .forward_with_grads(&fused, &batch, &mut ctx)
        .unwrap()
        .unwrap();
    let p0 = &fused.params()[0];
    let plain0 = common::values(g.get(p0.var.as_tensor()).unwrap());
    let diff = plain0
        .iter()
        .zip(&grads_f[0].1)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        diff > 1e-6,
        "the KL term did not change {}'s gradient",
        p0.name
    );
}

#[test]
fn kl_term_needs_a_sampler_with_a_drift_step() {
    let mut loss = loss_from(CD_WITH_KL);
    let model = mlp();
    let batch = points(4, 8, 2).to_dtype(DType::F32).unwrap();
    let mut sampler = Mala::new(MalaParams::default()).unwrap();
    let mut r = rng::stream(1, "draws", 0);
    let mut ctx = TrainCtx {
        step: 0,
        sampler: &mut sampler,
        rng: &mut r,
    };
    let err = match loss.forward(&model, &batch, &mut ctx) {
        Ok(_) => panic!("CD's KL term ran with MALA"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("loss.kl_weight") && err.contains("mala"),
        "unclear error: {err}"
    );
}

#[test]
fn kl_weight_must_be_finite_and_non_negative() {
    ebm_losses::link();
    for bad in ["-1.0", "inf", "nan"] {
        let text = CD_WITH_KL.replace("kl_weight = 0.5", &format!("kl_weight = {bad}"));
        let spec: ebm_core::PluginSpec = toml::from_str(&text).unwrap();
        let err = match ebm_core::build_loss("loss", &spec) {
            Ok(_) => panic!("kl_weight = {bad} accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("loss.kl_weight"),
            "unclear error for {bad}: {err}"
        );
    }
}
