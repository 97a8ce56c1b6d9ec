//! Every closed-form or explicit gradient must equal autograd, and the MLP's must equal central
//! finite differences in f64.

use candle_core::{DType, Device, Tensor};
use ebm_core::{autograd_energy_and_grad, rng, Energy, Model};
use ebm_models::analytic::{DoubleWell, Gaussian, GaussianMixture, Harmonic, Rosenbrock};
use ebm_models::{Activation, Mlp, MlpConfig, Output};

fn points(seed: u64, n: usize, d: usize) -> Tensor {
    let mut r = rng::stream(seed, "test-points", 0);
    rng::randn(&mut r, &[n, d], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
}

fn max_abs(t: &Tensor) -> f64 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    max_abs(&(a - b).unwrap())
}

fn assert_matches_autograd(name: &str, e: &dyn Energy, x: &Tensor) {
    let (e1, g1) = e.energy_and_grad(x).unwrap();
    let (e2, g2) = autograd_energy_and_grad(e, x).unwrap();
    assert_eq!(g1.dims(), x.dims(), "{name}: gradient shape");
    assert!(max_abs_diff(&e1, &e2) < 1e-10, "{name}: energy differs");
    let scale = 1.0 + max_abs(&g2);
    let d = max_abs_diff(&g1, &g2);
    assert!(
        d < 1e-9 * scale,
        "{name}: closed-form grad differs from autograd by {d}"
    );
    assert!(
        max_abs_diff(&e.grad(x).unwrap(), &g1) == 0.0,
        "{name}: grad != energy_and_grad"
    );
}

#[test]
fn analytic_gradients_equal_autograd() {
    let x2 = points(1, 64, 2);
    let x3 = points(2, 64, 3);
    let gauss = Gaussian::new(
        vec![0.5, -1.0, 2.0],
        vec![2.0, 0.6, 0.1, 0.6, 1.0, -0.3, 0.1, -0.3, 0.5],
    )
    .unwrap();
    assert_matches_autograd("gaussian", &gauss, &x3);
    assert_matches_autograd("double_well", &DoubleWell::new(2.5).unwrap(), &x3);
    assert_matches_autograd("harmonic", &Harmonic::new(3.0).unwrap(), &x3);
    assert_matches_autograd("rosenbrock-2d", &Rosenbrock::new(1.0, 5.0).unwrap(), &x2);
    assert_matches_autograd("rosenbrock-3d", &Rosenbrock::new(0.5, 2.0).unwrap(), &x3);
    let gmm = GaussianMixture::new(
        vec![vec![-1.0, 0.0], vec![1.5, 1.0], vec![0.0, -2.0]],
        vec![0.5, 0.8, 1.2],
        vec![1.0, 2.0, 1.0],
    )
    .unwrap();
    assert_matches_autograd("gaussian_mixture", &gmm, &x2);
}

#[test]
fn analytic_energies_have_their_known_values() {
    let x = Tensor::new(&[[1.0f64, 1.0], [0.0, 0.0]], &Device::Cpu).unwrap();
    let dw = DoubleWell::new(1.0)
        .unwrap()
        .energy(&x)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert_eq!(dw, vec![0.0, 2.0]);
    let rb = Rosenbrock::new(1.0, 100.0)
        .unwrap()
        .energy(&x)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert_eq!(rb, vec![0.0, 1.0]);
    // Σ = diag(4, 1): E(2, 1) = ½(4/4 + 1) = 1.
    let g = Gaussian::new(vec![0.0, 0.0], vec![4.0, 0.0, 0.0, 1.0]).unwrap();
    let e = g
        .energy(&Tensor::new(&[[2.0f64, 1.0]], &Device::Cpu).unwrap())
        .unwrap();
    assert!((e.to_vec1::<f64>().unwrap()[0] - 1.0).abs() < 1e-12);
    // A one-component mixture is a Gaussian plus its log-normaliser.
    let gmm = GaussianMixture::new(vec![vec![0.0, 0.0]], vec![1.0], vec![1.0]).unwrap();
    let e = gmm
        .energy(&Tensor::new(&[[0.0f64, 0.0]], &Device::Cpu).unwrap())
        .unwrap();
    assert!((e.to_vec1::<f64>().unwrap()[0] - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
}

#[test]
fn invalid_parameters_are_errors() {
    assert!(
        Gaussian::new(vec![0.0, 0.0], vec![1.0, 2.0, 2.0, 1.0]).is_err(),
        "not PD"
    );
    assert!(
        Gaussian::new(vec![0.0, 0.0], vec![1.0, 0.5, 0.0, 1.0]).is_err(),
        "not symmetric"
    );
    assert!(
        Gaussian::new(vec![0.0], vec![1.0, 0.0]).is_err(),
        "wrong size"
    );
    assert!(Harmonic::new(-1.0).is_err());
    assert!(DoubleWell::new(0.0).is_err());
    assert!(GaussianMixture::new(vec![vec![0.0]], vec![1.0, 2.0], vec![1.0]).is_err());
}

fn mlp(activation: Activation) -> Mlp {
    let config = MlpConfig {
        hidden: vec![16, 8],
        activation,
        swish_beta: 1.7,
        ..MlpConfig::default()
    };
    let mut r = rng::stream(5, "init", 0);
    Mlp::new(&config, 3, &mut r, &Device::Cpu).unwrap()
}

/// `g` `[n, d]` equals the central differences of the per-row `energy` at `x`.
fn assert_equals_finite_differences(
    what: &str,
    g: &Tensor,
    x: &Tensor,
    energy: impl Fn(&Tensor) -> Tensor,
) {
    let g = g.to_vec2::<f64>().unwrap();
    let base = x.to_vec2::<f64>().unwrap();
    let h = 1e-6;
    for i in 0..base.len() {
        for j in 0..base[0].len() {
            let shifted = |delta: f64| {
                let mut v = base.clone();
                v[i][j] += delta;
                let t = Tensor::new(v, &Device::Cpu).unwrap();
                energy(&t).to_vec1::<f64>().unwrap()[i]
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!(
                (fd - g[i][j]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{what} [{i},{j}]: fd {fd} vs grad {}",
                g[i][j]
            );
        }
    }
}

fn time_mlp(output: Output) -> Mlp {
    let config = MlpConfig {
        hidden: vec![16, 8],
        time: true,
        time_frequencies: 3,
        output,
        ..MlpConfig::default()
    };
    let mut r = rng::stream(5, "init", 0);
    Mlp::new(&config, 3, &mut r, &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
}

#[test]
fn time_conditioned_mlp_gradient_equals_finite_differences_at_every_time() {
    let model = time_mlp(Output::Energy);
    assert!(model.time_conditioned() && model.has_energy_values());
    let x = points(3, 8, 3);
    let t = Tensor::new(&[0.0f64, 0.1, 0.3, 0.45, 0.5, 0.7, 0.9, 1.0], &Device::Cpu).unwrap();
    let g = model.grad_at(&x, &t).unwrap();
    assert_equals_finite_differences("E(x, t)", &g, &x, |x| model.energy_at(x, &t).unwrap());
    // Time is an input, not ignored; without one it means t = 1.
    let other = model.grad_at(&x, &(1.0 - &t).unwrap()).unwrap();
    assert!(max_abs_diff(&g, &other) > 1e-3);
    let ones = t.ones_like().unwrap();
    assert!(
        max_abs_diff(
            &model.energy(&x).unwrap(),
            &model.energy_at(&x, &ones).unwrap()
        ) < 1e-12
    );
    assert!(max_abs_diff(&model.grad(&x).unwrap(), &model.grad_at(&x, &ones).unwrap()) < 1e-12);
}

#[test]
fn field_mlp_outputs_a_vector_like_x_and_no_energy_values() {
    let model = time_mlp(Output::Field);
    assert!(!model.has_energy_values());
    let x = points(3, 8, 3);
    let t = Tensor::new(&[0.2f64; 8], &Device::Cpu).unwrap();
    assert_eq!(model.grad_at(&x, &t).unwrap().dims(), x.dims());
    assert!(max_abs_diff(&model.grad_at(&x, &t).unwrap(), &model.grad(&x).unwrap()) > 1e-4);
    for err in [
        model.energy(&x).unwrap_err(),
        model.energy_and_grad(&x).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(
            msg.contains("gradient field") && msg.contains("Metropolis"),
            "{msg}"
        );
    }
    // Saved weights of an energy head do not load into a field head: the shapes are named.
    let config = |output| MlpConfig {
        hidden: vec![16, 8],
        time: true,
        time_frequencies: 3,
        output,
        ..MlpConfig::default()
    };
    let build = |output| {
        Mlp::new(
            &config(output),
            3,
            &mut rng::stream(5, "init", 0),
            &Device::Cpu,
        )
        .unwrap()
    };
    let params = build(Output::Energy).params();
    let err = build(Output::Field)
        .load_params(&|name| {
            params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.var.as_tensor().clone())
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layers.2.weight") && err.contains("[3, 8]"),
        "{err}"
    );
}

#[test]
fn mlp_gradient_equals_finite_differences_for_every_activation() {
    let x = points(3, 8, 3);
    for act in [
        Activation::Silu,
        Activation::Elu,
        Activation::Swish,
        Activation::Tanh,
        Activation::Softplus,
    ] {
        let model = mlp(act).to_dtype(DType::F64).unwrap();
        let g = model.grad(&x).unwrap();
        assert_equals_finite_differences(&format!("{act:?}"), &g, &x, |x| model.energy(x).unwrap());
        assert_matches_autograd(&format!("mlp {act:?}"), &model, &x);
    }
}

#[test]
fn mlp_is_seeded_and_detached_view_shares_weights() {
    let a = mlp(Activation::Silu);
    let b = mlp(Activation::Silu);
    let x = points(4, 5, 3).to_dtype(DType::F32).unwrap();
    assert_eq!(
        a.energy(&x).unwrap().to_vec1::<f32>().unwrap(),
        b.energy(&x).unwrap().to_vec1::<f32>().unwrap()
    );
    let view = a.detached();
    let before = view.energy(&x).unwrap().to_vec1::<f32>().unwrap();
    // Moving the trainable weights moves the view too (shared storage) ...
    let p = &a.params()[0];
    p.var.set(&(p.var.as_tensor() + 0.5).unwrap()).unwrap();
    let after = view.energy(&x).unwrap().to_vec1::<f32>().unwrap();
    assert_ne!(before, after);
    // ... but the view's output is not connected to any parameter.
    let grads = view
        .energy(&x)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for p in a.params() {
        assert!(
            grads.get(p.var.as_tensor()).is_none(),
            "{} got a gradient through the view",
            p.name
        );
    }
    let grads = a.energy(&x).unwrap().sum_all().unwrap().backward().unwrap();
    assert!(a
        .params()
        .iter()
        .all(|p| grads.get(p.var.as_tensor()).is_some()));
}

#[test]
fn fourier_feature_mlp_gradient_equals_finite_differences() {
    for time in [false, true] {
        let config = MlpConfig {
            hidden: vec![16, 8],
            fourier_features: 5,
            fourier_scale: 1.5,
            time,
            ..MlpConfig::default()
        };
        let mut r = rng::stream(5, "init", 0);
        let model = Mlp::new(&config, 3, &mut r, &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        let x = points(3, 8, 3);
        let g = model.grad(&x).unwrap();
        assert_equals_finite_differences("E(x) with Fourier features", &g, &x, |x| {
            model.energy(x).unwrap()
        });
        // The features change the function: the same weights' stream without them differs.
        let plain = Mlp::new(
            &MlpConfig {
                fourier_features: 0,
                ..config.clone()
            },
            3,
            &mut rng::stream(5, "init", 0),
            &Device::Cpu,
        )
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
        assert!(max_abs_diff(&plain.energy(&x).unwrap(), &model.energy(&x).unwrap()) > 1e-3);
        // The same seed gives the same frequencies (a resumed or evaluated run's model).
        let again = Mlp::new(&config, 3, &mut rng::stream(5, "init", 0), &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        assert_eq!(
            max_abs_diff(&again.energy(&x).unwrap(), &model.energy(&x).unwrap()),
            0.0
        );
    }
    for bad in ["fourier_scale = 0.0", "fourier_scale = inf"] {
        let config: MlpConfig = toml::from_str(bad).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("model.fourier_scale"), "{err}");
    }
}

#[test]
fn input_gain_scales_only_the_first_layers_initial_weights() {
    let build = |gain: f64| {
        let config = MlpConfig {
            hidden: vec![16, 8],
            input_gain: gain,
            ..MlpConfig::default()
        };
        Mlp::new(&config, 2, &mut rng::stream(9, "init", 0), &Device::Cpu).unwrap()
    };
    let (plain, gained) = (build(1.0), build(4.0));
    for (p, g) in plain.params().iter().zip(gained.params()) {
        assert_eq!(p.name, g.name);
        let (a, b) = (
            p.var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            g.var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
        );
        let factor = if p.name == "layers.0.weight" {
            4.0
        } else {
            1.0
        };
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x * factor, *y, "{}", p.name);
        }
    }
    // The gradient stays exact with the gain.
    let x = points(3, 8, 2);
    let model = gained.to_dtype(DType::F64).unwrap();
    let g = model.grad(&x).unwrap();
    assert_equals_finite_differences("E(x) with input_gain 4", &g, &x, |x| {
        model.energy(x).unwrap()
    });
    let bad = MlpConfig {
        input_gain: f64::NAN,
        ..MlpConfig::default()
    };
    let err = bad.validate().unwrap_err().to_string();
    assert!(err.contains("model.input_gain"), "{err}");
}
