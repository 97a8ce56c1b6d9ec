//! Without `CANDLE_GRAD_DO_NOT_DETACH` (no test in this binary calls `ensure_double_backward`):
//! denoising score matching on the MLP is still exact, because its ∇ₓE is explicit ops, and every
//! loss that would need autograd's ∇ₓE or a Hessian term stops with a clear error instead of
//! returning silently wrong gradients.

mod common;

use common::{forward, loss_from, mlp_f64, points, scalar, Quadratic};
use ebm_core::{double_backward_active, Energy, Model, TrainCtx};
use ebm_models::Activation;

fn env_set() -> bool {
    std::env::var_os(ebm_core::DOUBLE_BACKWARD_ENV).is_some()
}

#[test]
fn mlp_dsm_is_exact_with_plain_backward() {
    if env_set() {
        eprintln!("skipped: {} is set", ebm_core::DOUBLE_BACKWARD_ENV);
        return;
    }
    let model = mlp_f64(Activation::Silu, 2);
    assert!(model.grad_is_differentiable() && !double_backward_active().unwrap());
    let batch = points(5, 12, 2);
    let mut loss = loss_from("kind = \"denoising_score_matching\"\nsigma = 0.2");
    let grads = forward(loss.as_mut(), &model, &batch, 3)
        .loss
        .backward()
        .unwrap();
    let param = &model.params()[2]; // layers.1.weight
    let g = grads.get(param.var.as_tensor()).unwrap();
    let g = g.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let base = param.var.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let h = 1e-5;
    for i in [0, 9, 27, 63] {
        let mut at = |delta: f64| {
            let mut v = base.clone();
            v[i] += delta;
            let t = candle_core::Tensor::from_vec(v, param.var.dims(), param.var.device());
            param.var.set(&t.unwrap()).unwrap();
            scalar(&forward(loss.as_mut(), &model, &batch, 3).loss)
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        at(0.0);
        assert!(
            (fd - g[i]).abs() < 1e-5 * fd.abs().max(g[i].abs()) + 1e-8,
            "[{i}] backward {} vs fd {fd}",
            g[i]
        );
    }
}

#[test]
fn losses_that_need_double_backward_refuse_without_it() {
    if env_set() {
        eprintln!("skipped: {} is set", ebm_core::DOUBLE_BACKWARD_ENV);
        return;
    }
    let mlp = mlp_f64(Activation::Tanh, 2);
    let quad = Quadratic::new(vec![1.0, 0.0, 0.0, 1.0], 2);
    let batch = points(5, 8, 2);
    let cases: [(&str, &dyn Model); 3] = [
        ("kind = \"score_matching\"", &mlp),
        ("kind = \"sliced_score_matching\"", &mlp),
        ("kind = \"denoising_score_matching\"", &quad),
    ];
    for (spec, model) in cases {
        let mut loss = loss_from(spec);
        let mut sampler = common::FixedNegatives(batch.clone());
        let mut r = ebm_core::rng::stream(0, "x", 0);
        let mut ctx = TrainCtx {
            step: 0,
            sampler: &mut sampler,
            rng: &mut r,
        };
        let err = match loss.forward(model, &batch, &mut ctx) {
            Ok(_) => panic!("{spec}: expected an error without double backward"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("ensure_double_backward") && err.contains(loss.name()),
            "{spec}: {err}"
        );
    }
    // The raw autograd path refuses too.
    assert!(ebm_core::differentiable_grad(&quad as &dyn Energy, &batch).is_err());
}
