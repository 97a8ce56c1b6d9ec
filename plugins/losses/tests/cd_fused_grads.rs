//! Contrastive divergence through the MLP's fused parameter gradients (`forward_with_grads`)
//! against the op loss and autograd: the same loss, metrics and gradients to f32 rounding, and a
//! few AdamW steps later the same weights.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{loss_from, points, AutogradOnly, FixedNegatives};
use ebm_core::{rng, Loss, LossOut, Model, TrainCtx};
use ebm_models::{Activation, Mlp, MlpConfig};
use ebm_train::{AdamW, OptimConfig};

fn mlp(activation: Activation) -> Mlp {
    let config = MlpConfig {
        hidden: vec![64, 64],
        activation,
        ..MlpConfig::default()
    };
    let mut r = rng::stream(3, "init", 0);
    Mlp::new(&config, 2, &mut r, &Device::Cpu).unwrap()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn step(
    loss: &mut dyn Loss,
    model: &dyn Model,
    batch: &Tensor,
    neg: &Tensor,
    seed: u64,
) -> (LossOut, candle_core::backprop::GradStore) {
    let mut sampler = FixedNegatives(neg.clone());
    let mut r = rng::stream(seed, "loss-draws", 0);
    let mut ctx = TrainCtx {
        step: seed,
        sampler: &mut sampler,
        rng: &mut r,
    };
    loss.forward_with_grads(model, batch, &mut ctx)
        .unwrap()
        .expect("contrastive divergence gives its gradients")
}

fn close(what: &str, a: f64, b: f64, rel: f64) {
    assert!(
        (a - b).abs() <= rel * (a.abs().max(b.abs()) + 1e-3),
        "{what}: fused {a}, autograd {b}"
    );
}

#[test]
fn cd_with_fused_gradients_matches_autograd_over_several_steps() {
    for activation in [Activation::Silu, Activation::Tanh, Activation::Softplus] {
        let (fused, reference) = (mlp(activation), AutogradOnly(mlp(activation)));
        let spec = "kind = \"contrastive_divergence\"\npersistent = false\nk = 1\nenergy_reg = 0.1";
        let (mut loss_a, mut loss_b) = (loss_from(spec), loss_from(spec));
        // Adam's update g/(√v + ε) turns a gradient at rounding level (a saturated tanh unit's
        // 1e-8) into a full step of either sign; an ε above that level keeps the comparison about
        // the gradients, not about how Adam amplifies their last bits.
        let config = OptimConfig {
            eps: 1e-4,
            ..OptimConfig::default()
        };
        let mut opt_a = AdamW::new(fused.params(), config.clone()).unwrap();
        let mut opt_b = AdamW::new(reference.params(), config).unwrap();
        for s in 0..5u64 {
            let batch = points(s, 300, 2).to_dtype(DType::F32).unwrap();
            let neg = (points(100 + s, 300, 2).to_dtype(DType::F32).unwrap() * 2.0).unwrap();
            let (out_a, grads_a) = step(loss_a.as_mut(), &fused, &batch, &neg, s);
            let (out_b, grads_b) = step(loss_b.as_mut(), &reference, &batch, &neg, s);
            let what = format!("{activation:?} step {s}");
            let scalar = |t: &Tensor| t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
            close(
                &format!("{what} loss"),
                scalar(&out_a.loss),
                scalar(&out_b.loss),
                1e-5,
            );
            for ((ka, va), (kb, vb)) in out_a.metrics.iter().zip(&out_b.metrics) {
                assert_eq!(ka, kb);
                close(&format!("{what} {ka}"), *va, *vb, 1e-5);
            }
            for p in fused.params() {
                let q = reference
                    .params()
                    .into_iter()
                    .find(|q| q.name == p.name)
                    .unwrap();
                let (ga, gb) = (
                    f32s(grads_a.get(p.var.as_tensor()).unwrap()),
                    f32s(grads_b.get(q.var.as_tensor()).unwrap()),
                );
                let scale = gb.iter().map(|v| v.abs()).sum::<f32>() / gb.len() as f32;
                for (i, (a, b)) in ga.iter().zip(&gb).enumerate() {
                    assert!(
                        (a - b).abs() <= 2e-5 * (b.abs() + scale) + 1e-6,
                        "{what} {}[{i}]: fused {a}, autograd {b}",
                        p.name
                    );
                }
            }
            let (na, nb) = (
                opt_a.grad_norm(&grads_a).unwrap(),
                opt_b.grad_norm(&grads_b).unwrap(),
            );
            close(&format!("{what} grad norm"), na, nb, 1e-5);
            opt_a.step(&grads_a, 1e-3, na).unwrap();
            opt_b.step(&grads_b, 1e-3, nb).unwrap();
            for (p, q) in fused.params().iter().zip(reference.params()) {
                let (ga, gb) = (
                    f32s(grads_a.get(p.var.as_tensor()).unwrap()),
                    f32s(grads_b.get(q.var.as_tensor()).unwrap()),
                );
                let (wa, wb) = (f32s(p.var.as_tensor()), f32s(q.var.as_tensor()));
                for i in 0..wa.len() {
                    // A small fraction of one step (lr = 1e-3).
                    assert!(
                        (wa[i] - wb[i]).abs() <= 1e-5,
                        "{what} {}[{i}]: {} vs {}, gradients {} vs {}",
                        p.name,
                        wa[i],
                        wb[i],
                        ga[i],
                        gb[i]
                    );
                }
            }
        }
    }
}
