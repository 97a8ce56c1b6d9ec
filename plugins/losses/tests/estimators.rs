//! On a Gaussian energy E = ½xᵀAx (∇ₓE by autograd, so through `differentiable_grad`) and data
//! x ~ N(0, Σ): exact score matching equals its closed form ½xᵀA²x − tr(A) on the batch and
//! ½tr(A²Σ) − tr(A) in expectation; Hutchinson and sliced estimates average to the exact value.

mod common;

use candle_core::{Device, Tensor};
use common::{forward, loss_from, scalar, Quadratic};
use ebm_core::{ensure_double_backward, rng};

// A symmetric positive-definite A and a correlated Σ = LLᵀ, D = 3.
const A: [f64; 9] = [2.0, 0.6, -0.4, 0.6, 1.0, 0.3, -0.4, 0.3, 1.5];
const L: [f64; 9] = [1.0, 0.0, 0.0, 0.5, 0.8, 0.0, -0.3, 0.2, 0.6];

fn data(n: usize, seed: u64) -> Tensor {
    let mut r = rng::stream(seed, "gaussian-data", 0);
    let z = rng::randn(&mut r, &[n, 3], &Device::Cpu).unwrap();
    let l = Tensor::from_vec(L.to_vec(), (3, 3), &Device::Cpu).unwrap();
    z.to_dtype(candle_core::DType::F64)
        .unwrap()
        .matmul(&l.t().unwrap())
        .unwrap()
}

fn mat(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), (3, 3), &Device::Cpu).unwrap()
}

fn trace(m: &Tensor) -> f64 {
    let v = m.to_vec2::<f64>().unwrap();
    (0..3).map(|i| v[i][i]).sum()
}

/// ½ mean xᵀA²x − tr(A) over the batch, and the standard error of the mean.
fn batch_objective(x: &Tensor) -> (f64, f64) {
    let a2 = mat(&A).matmul(&mat(&A)).unwrap();
    let q = (x.matmul(&a2).unwrap() * x).unwrap().sum(1).unwrap();
    let q: Vec<f64> = q.to_vec1::<f64>().unwrap();
    let n = q.len() as f64;
    let mean = q.iter().sum::<f64>() / n;
    let var = q.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (0.5 * mean - trace(&mat(&A)), 0.5 * (var / n).sqrt())
}

#[test]
fn exact_score_matching_equals_the_closed_form() {
    ensure_double_backward();
    let model = Quadratic::new(A.to_vec(), 3);
    let x = data(4000, 1);
    let out = forward(
        loss_from("kind = \"score_matching\"").as_mut(),
        &model,
        &x,
        0,
    );
    let (on_batch, se) = batch_objective(&x);
    let j = scalar(&out.loss);
    assert!(
        (j - on_batch).abs() < 1e-9 * on_batch.abs().max(1.0),
        "{j} vs {on_batch}"
    );
    let hessian_trace = out
        .metrics
        .iter()
        .find(|(k, _)| *k == "hessian_trace")
        .unwrap()
        .1;
    assert!((hessian_trace - trace(&mat(&A))).abs() < 1e-12);
    // Population value ½tr(A²Σ) − tr(A).
    let sigma = mat(&L).matmul(&mat(&L).t().unwrap()).unwrap();
    let a2s = mat(&A).matmul(&mat(&A)).unwrap().matmul(&sigma).unwrap();
    let population = 0.5 * trace(&a2s) - trace(&mat(&A));
    assert!(
        (on_batch - population).abs() < 4.0 * se,
        "{on_batch} vs {population} (SE {se})"
    );
}

/// Mean and standard error over `n` draws of the loss on one batch.
fn draws(spec: &str, n: u64) -> (f64, f64, f64) {
    let model = Quadratic::new(A.to_vec(), 3);
    let x = data(64, 2);
    let exact = scalar(
        &forward(
            loss_from("kind = \"score_matching\"").as_mut(),
            &model,
            &x,
            0,
        )
        .loss,
    );
    let mut loss = loss_from(spec);
    let v: Vec<f64> = (0..n)
        .map(|s| scalar(&forward(loss.as_mut(), &model, &x, 100 + s).loss))
        .collect();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    (exact, mean, (var / n as f64).sqrt())
}

#[test]
fn hutchinson_and_sliced_estimators_are_unbiased() {
    ensure_double_backward();
    for spec in [
        "kind = \"score_matching\"\nhessian = \"hutchinson\"",
        "kind = \"sliced_score_matching\"",
        "kind = \"sliced_score_matching\"\nprojection = \"gaussian\"\nn_projections = 2",
    ] {
        let (exact, mean, se) = draws(spec, 400);
        assert!(se > 0.0, "{spec}: the estimate should vary between draws");
        assert!(
            (mean - exact).abs() < 4.0 * se,
            "{spec}: mean {mean} ± {se} vs exact {exact}"
        );
    }
}
