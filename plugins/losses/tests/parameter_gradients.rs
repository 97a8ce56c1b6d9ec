//! Every loss's parameter gradient from one `backward()` equals central finite differences in f64,
//! with the loss's random draws reseeded identically for every evaluation: on the MLP (SiLU and
//! tanh; its explicit ∇ₓE) and on a quadratic energy whose ∇ₓE is autograd's (double backward).

mod common;

use candle_core::Tensor;
use common::{forward, loss_from, mlp_f64, mlp_f64_with, points, scalar, Quadratic};
use ebm_core::{ensure_double_backward, Model};
use ebm_models::{Activation, MlpConfig, Output};

const LOSSES: &[&str] = &[
    "kind = \"contrastive_divergence\"\npersistent = false\nk = 1\nenergy_reg = 0.1",
    "kind = \"score_matching\"",
    "kind = \"score_matching\"\nhessian = \"hutchinson\"\nn_probes = 2",
    "kind = \"sliced_score_matching\"",
    "kind = \"sliced_score_matching\"\nprojection = \"gaussian\"\nn_projections = 3",
    "kind = \"score_matching\"\ndata_noise = 0.1",
    "kind = \"sliced_score_matching\"\ndata_noise = 0.1",
    "kind = \"denoising_score_matching\"",
    "kind = \"denoising_score_matching\"\nsigmas = { max = 1.0, min = 0.05, n = 4 }",
    "kind = \"equilibrium_matching\"",
    "kind = \"equilibrium_matching\"\nct = \"linear\"\nsource_std = 2.0\ntime = { kind = \"logit_normal\", mean = 1.0 }",
    "kind = \"equilibrium_matching\"\nct = \"constant\"\ninterpolant = { kind = \"cosine\" }",
];

/// Losses of a velocity/gradient field over (x, t), for time-conditioned networks.
const TIME_LOSSES: &[&str] = &[
    "kind = \"flow_matching\"",
    "kind = \"flow_matching\"\ninterpolant = { kind = \"cosine\" }\ntime = { kind = \"logit_normal\" }",
    "kind = \"flow_matching\"\ninterpolant = { kind = \"variance_preserving\" }\nsource_std = 0.5",
    "kind = \"equilibrium_matching\"",
];

fn set_entry(model: &dyn Model, p: usize, i: usize, value: f64) {
    let var = &model.params()[p].var;
    let mut v = var.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    v[i] = value;
    var.set(&Tensor::from_vec(v, var.dims(), var.device()).unwrap())
        .unwrap();
}

fn check(model: &dyn Model, spec: &str, what: &str) {
    let batch = points(5, 12, model.input_shape()[0]);
    let mut loss = loss_from(spec);
    let eval = |loss: &mut dyn ebm_core::Loss| scalar(&forward(loss, model, &batch, 7).loss);
    let grads = forward(loss.as_mut(), model, &batch, 7)
        .loss
        .backward()
        .unwrap();
    let h = 1e-5;
    let mut checked = 0;
    for (p, param) in model.params().iter().enumerate() {
        let g = grads
            .get(param.var.as_tensor())
            .map(|g| g.flatten_all().unwrap().to_vec1::<f64>().unwrap())
            .unwrap_or_else(|| vec![0.0; param.var.elem_count()]);
        let base = param.var.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        // A spread sample of entries (every one for small tensors).
        let stride = (base.len() / 5).max(1);
        for i in (0..base.len()).step_by(stride) {
            set_entry(model, p, i, base[i] + h);
            let up = eval(loss.as_mut());
            set_entry(model, p, i, base[i] - h);
            let down = eval(loss.as_mut());
            set_entry(model, p, i, base[i]);
            let fd = (up - down) / (2.0 * h);
            let err = (fd - g[i]).abs();
            assert!(
                err < 1e-5 * fd.abs().max(g[i].abs()) + 1e-8,
                "{what} [{spec}] {}[{i}]: backward {} vs finite differences {fd}",
                param.name,
                g[i]
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn mlp_parameter_gradients_equal_finite_differences() {
    ensure_double_backward();
    for act in [Activation::Silu, Activation::Tanh] {
        let model = mlp_f64(act, 2);
        for spec in LOSSES {
            check(&model, spec, &format!("mlp {act:?}"));
        }
    }
}

#[test]
fn autograd_energy_parameter_gradients_equal_finite_differences() {
    ensure_double_backward();
    let model = Quadratic::new(vec![1.5, 0.3, -0.2, 0.4, 0.8, 0.1, 0.0, -0.5, 2.0], 3);
    for spec in &LOSSES[1..] {
        check(&model, spec, "quadratic (autograd ∇ₓE)");
    }
}

#[test]
fn time_conditioned_mlp_parameter_gradients_equal_finite_differences() {
    for output in [Output::Energy, Output::Field] {
        let config = MlpConfig {
            hidden: vec![8, 8],
            time: true,
            time_frequencies: 2,
            output,
            ..MlpConfig::default()
        };
        let model = mlp_f64_with(&config, 2);
        for spec in TIME_LOSSES {
            check(
                &model,
                spec,
                &format!("time-conditioned mlp, {output:?} head"),
            );
        }
    }
}

#[test]
fn field_mlp_parameter_gradients_equal_finite_differences() {
    let config = MlpConfig {
        hidden: vec![8, 8],
        output: Output::Field,
        ..MlpConfig::default()
    };
    let model = mlp_f64_with(&config, 2);
    for spec in &LOSSES[7..] {
        check(&model, spec, "field mlp");
    }
}
