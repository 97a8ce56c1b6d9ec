//! Langevin samples a full-covariance Gaussian: sample mean and covariance match within a few
//! standard errors (plus the known O(η) bias of the unadjusted scheme, which is ≈ η/2 here).

use candle_core::Device;
use ebm_core::{rng, run_chains, Chains, Sampler};
use ebm_models::analytic::Gaussian;
use ebm_samplers::{Langevin, LangevinParams};

#[test]
fn langevin_matches_a_correlated_gaussian() {
    let (mean, cov) = ([1.0, -2.0], [1.0, 0.8, 0.8, 1.0]);
    let target = Gaussian::new(mean.to_vec(), cov.to_vec()).unwrap();
    let mut r = rng::stream(11, "test", 0);
    let n = 4000;
    let mut chains = Chains::new(rng::randn(&mut r, &[n, 2], &Device::Cpu).unwrap());
    let mut sampler = Langevin::new(LangevinParams {
        step_size: 0.01.into(),
        ..Default::default()
    })
    .unwrap();
    run_chains(&mut sampler, &target, &mut chains, 1500, &mut r).unwrap();
    let x = chains.x().to_vec2::<f32>().unwrap();

    let m: Vec<f64> = (0..2)
        .map(|j| x.iter().map(|r| r[j] as f64).sum::<f64>() / n as f64)
        .collect();
    let c = |a: usize, b: usize| {
        x.iter()
            .map(|r| (r[a] as f64 - m[a]) * (r[b] as f64 - m[b]))
            .sum::<f64>()
            / (n - 1) as f64
    };
    // Standard errors: mean √(σ²/n) = 0.016; variance σ²√(2/n) = 0.022; covariance ≈ 0.019.
    for j in 0..2 {
        assert!((m[j] - mean[j]).abs() < 0.06, "mean[{j}] = {}", m[j]);
        assert!(
            (c(j, j) - cov[3 * j]).abs() < 0.08,
            "var[{j}] = {}",
            c(j, j)
        );
    }
    assert!((c(0, 1) - 0.8).abs() < 0.07, "cov = {}", c(0, 1));
    assert_eq!(sampler.name(), "langevin");
}

#[test]
fn clamp_keeps_chains_in_the_box() {
    let target = Gaussian::new(vec![3.0, 3.0], vec![1.0, 0.0, 0.0, 1.0]).unwrap();
    let mut r = rng::stream(12, "test", 0);
    let mut chains = Chains::new(rng::randn(&mut r, &[500, 2], &Device::Cpu).unwrap());
    let mut sampler = Langevin::new(LangevinParams {
        clamp: Some([-1.0, 1.0]),
        ..Default::default()
    })
    .unwrap();
    run_chains(&mut sampler, &target, &mut chains, 50, &mut r).unwrap();
    let flat = chains.x().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(flat.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert!(
        flat.iter().filter(|v| **v == 1.0).count() > 100,
        "the target pulls chains to the edge"
    );
}

#[test]
fn scheduled_step_size_is_followed() {
    // With zero noise and E = ½‖x‖², one step scales x by (1 − η): the schedule's η per step shows.
    let target = ebm_models::analytic::Harmonic::new(1.0).unwrap();
    let params: LangevinParams = toml::from_str(
        "step_size = { kind = \"linear\", start = 0.5, end = 0.1, steps = 4 }\nnoise_scale = 0.0",
    )
    .unwrap();
    let mut sampler = Langevin::new(params).unwrap();
    let mut r = rng::stream(1, "t", 0);
    let mut chains = Chains::new(candle_core::Tensor::new(&[[1.0f32, 1.0]], &Device::Cpu).unwrap());
    run_chains(&mut sampler, &target, &mut chains, 2, &mut r).unwrap();
    let v = chains.x().to_vec2::<f32>().unwrap()[0][0];
    assert!((v - 0.5 * 0.6).abs() < 1e-6, "{v}");
}

#[test]
fn grad_clip_bounds_each_chains_gradient() {
    // E = ½‖x‖², ∇E = x; no noise, η = 1: one step moves x to x − min(1, c/‖x‖)·x. A chain at
    // norm 10 moves by exactly c = 2 towards 0, a chain at norm 0.5 (below c) reaches 0.
    let target = ebm_models::analytic::Harmonic::new(1.0).unwrap();
    let params: LangevinParams =
        toml::from_str("step_size = 1.0\nnoise_scale = 0.0\ngrad_clip = 2.0").unwrap();
    let mut sampler = Langevin::new(params).unwrap();
    let mut r = rng::stream(1, "t", 0);
    let x = candle_core::Tensor::new(&[[6.0f32, 8.0], [0.3, -0.4]], &Device::Cpu).unwrap();
    let mut chains = Chains::new(x);
    run_chains(&mut sampler, &target, &mut chains, 1, &mut r).unwrap();
    let v = chains.x().to_vec2::<f32>().unwrap();
    assert!(
        (v[0][0] - 4.8).abs() < 1e-5 && (v[0][1] - 6.4).abs() < 1e-5,
        "{v:?}"
    );
    assert!(v[1][0].abs() < 1e-6 && v[1][1].abs() < 1e-6, "{v:?}");

    // The annealed sampler takes the same key.
    let annealed: ebm_samplers::AnnealedLangevinParams =
        toml::from_str("step_size = 1.0\ntemperature = 1e-30\ngrad_clip = 2.0").unwrap();
    let mut annealed = ebm_samplers::AnnealedLangevin::new(annealed).unwrap();
    let x = candle_core::Tensor::new(&[[6.0f32, 8.0]], &Device::Cpu).unwrap();
    let mut chains = Chains::new(x);
    run_chains(&mut annealed, &target, &mut chains, 1, &mut r).unwrap();
    let v = chains.x().to_vec2::<f32>().unwrap();
    assert!((v[0][0] - 4.8).abs() < 1e-5, "{v:?}");

    for bad in ["0.0", "-1.0", "inf", "nan"] {
        let params: LangevinParams = toml::from_str(&format!("grad_clip = {bad}")).unwrap();
        let e = Langevin::new(params).err().expect("refused");
        assert!(e.to_string().contains("sampler.grad_clip"), "{e}");
    }
}
