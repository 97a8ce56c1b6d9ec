//! Gradient descent and Nesterov without noise find minima (a shifted Gaussian, Rosenbrock's
//! curved valley) from random starts; Nesterov beats plain descent on an ill-conditioned
//! quadratic; bad parameters are config errors naming the key.

use candle_core::{Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, Energy, PluginSpec, Sampler};
use ebm_models::analytic::{Gaussian, Rosenbrock};
use ebm_samplers::{GradientDescent, GradientDescentParams, Nesterov, NesterovParams};

fn gd(step: f64) -> Box<dyn Sampler> {
    Box::new(
        GradientDescent::new(GradientDescentParams {
            step_size: step.into(),
            ..Default::default()
        })
        .unwrap(),
    )
}

fn nesterov(step: f64) -> Box<dyn Sampler> {
    Box::new(
        Nesterov::new(NesterovParams {
            step_size: step.into(),
            ..Default::default()
        })
        .unwrap(),
    )
}

/// Largest distance of any chain from `target` after `steps` from uniform starts in [−r, r]².
fn max_error(s: &mut dyn Sampler, e: &dyn Energy, r: f32, steps: u64, target: [f32; 2]) -> f32 {
    let mut g = rng::stream(5, "descent", 0);
    let start = rng::rand_uniform(&mut g, &[64, 2], -r, r, &Device::Cpu).unwrap();
    let mut chains = Chains::new(start);
    run_chains(s, e, &mut chains, steps, &mut g).unwrap();
    let x = chains.x().to_vec2::<f32>().unwrap();
    x.iter()
        .map(|p| (p[0] - target[0]).hypot(p[1] - target[1]))
        .fold(0.0, f32::max)
}

#[test]
fn both_find_the_mode_of_a_gaussian() {
    let g = Gaussian::new(vec![1.0, -2.0], vec![1.0, 0.5, 0.5, 2.0]).unwrap();
    let err = max_error(gd(0.1).as_mut(), &g, 5.0, 600, [1.0, -2.0]);
    assert!(err < 1e-3, "gradient descent: {err}");
    let err = max_error(nesterov(0.05).as_mut(), &g, 5.0, 300, [1.0, -2.0]);
    assert!(err < 1e-3, "nesterov: {err}");
}

#[test]
fn both_find_the_minimum_of_rosenbrock() {
    let r = Rosenbrock::new(1.0, 5.0).unwrap();
    let err = max_error(gd(0.005).as_mut(), &r, 1.5, 6000, [1.0, 1.0]);
    assert!(err < 1e-3, "gradient descent: {err}");
    let err = max_error(nesterov(0.002).as_mut(), &r, 1.5, 2000, [1.0, 1.0]);
    assert!(err < 1e-3, "nesterov: {err}");
}

/// Steps until every chain is within `tol` of the mode at 0 (None within `max` steps).
fn steps_to(s: &mut dyn Sampler, e: &dyn Energy, tol: f32, max: u64) -> Option<u64> {
    let mut g = rng::stream(6, "descent", 0);
    let mut chains = Chains::new(Tensor::new(&[[1.0f32, 1.0], [-1.0, 0.5]], &Device::Cpu).unwrap());
    for step in 0..max {
        let mut ctx = ebm_core::StepCtx {
            rng: &mut g,
            step,
            n_steps: max,
        };
        s.step(e, &mut chains, &mut ctx).unwrap();
        let worst = chains.x().abs().unwrap().max_all().unwrap();
        if worst.to_scalar::<f32>().unwrap() < tol {
            return Some(step + 1);
        }
    }
    None
}

#[test]
fn nesterov_is_faster_on_an_ill_conditioned_quadratic() {
    // Variances 1 and 0.01: curvatures 1 and 100, condition number 100. Both use η = 1/L.
    let q = Gaussian::new(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 0.01]).unwrap();
    let plain = steps_to(gd(0.01).as_mut(), &q, 1e-3, 5000).expect("descent converges");
    let fast = steps_to(nesterov(0.01).as_mut(), &q, 1e-3, 5000).expect("nesterov converges");
    // Theory: ≈ κ·ln(1/tol) ≈ 690 steps against ≈ √κ·ln(1/tol) (62 here).
    assert!(plain > 600, "plain {plain}");
    assert!(2 * fast < plain, "nesterov {fast} vs descent {plain}");
}

fn config_error(text: &str) -> String {
    let spec: PluginSpec = toml::from_str(text).unwrap();
    let e = build_sampler("sampler", &spec).err().expect("an error");
    assert!(e.is_config(), "{e}");
    e.to_string()
}

#[test]
fn bad_parameters_name_the_key() {
    let e = config_error("kind = \"gradient_descent\"\nstep_size = -0.1");
    assert!(e.contains("sampler.step_size"), "{e}");
    let e = config_error("kind = \"nesterov\"\nstep_size = -0.1");
    assert!(e.contains("sampler.step_size"), "{e}");
    let e = config_error("kind = \"nesterov\"\nmomentum = 1.0");
    assert!(e.contains("sampler.momentum"), "{e}");
    let e = config_error("kind = \"nesterov\"\nmomentum = -0.1");
    assert!(e.contains("sampler.momentum"), "{e}");
    let e = config_error("kind = \"gradient_descent\"\nnoise_scale = -1.0");
    assert!(e.contains("sampler.noise_scale"), "{e}");
    let e = config_error("kind = \"nesterov\"\nmomentun = 0.5");
    assert!(e.contains("sampler.momentun"), "{e}");
}

#[test]
fn momentum_restarts_with_each_run() {
    // Two runs of 3 steps from the same start must agree: the velocity is reset at step 0.
    let q = Gaussian::new(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 0.01]).unwrap();
    let mut s = nesterov(0.01);
    let start = Tensor::new(&[[1.0f32, 1.0]], &Device::Cpu).unwrap();
    let mut g = rng::stream(1, "t", 0);
    let mut out = Vec::new();
    for _ in 0..2 {
        let mut chains = Chains::new(start.clone());
        run_chains(s.as_mut(), &q, &mut chains, 3, &mut g).unwrap();
        out.push(chains.x().to_vec2::<f32>().unwrap());
    }
    assert_eq!(out[0], out[1]);
    // A different number of chains also restarts it instead of failing on a shape mismatch.
    let mut chains =
        Chains::new(Tensor::zeros((5, 2), candle_core::DType::F32, &Device::Cpu).unwrap());
    let mut ctx = ebm_core::StepCtx {
        rng: &mut g,
        step: 7,
        n_steps: 8,
    };
    s.step(&q, &mut chains, &mut ctx).unwrap();
    assert_eq!(chains.x().dims(), &[5, 2]);
}
