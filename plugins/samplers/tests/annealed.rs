//! Annealed Langevin samples exp(−E/T): at a constant T the variance on a Gaussian is T·σ²; with a
//! schedule, each step uses the temperature (and step size) the schedule gives for that step.

use candle_core::{Device, Tensor};
use ebm_core::{rng, run_chains, Chains, Sampler};
use ebm_models::analytic::{Gaussian, Harmonic};
use ebm_samplers::{AnnealedLangevin, AnnealedLangevinParams};

/// Per-coordinate sample variances after `steps` at temperature `t`, from N(0, t·σ²) starts.
fn variances(t: f64, var: [f64; 2], eta: f64, steps: u64, seed: u64) -> [f64; 2] {
    let target = Gaussian::new(vec![0.0, 0.0], vec![var[0], 0.0, 0.0, var[1]]).unwrap();
    let n = 4000;
    let mut r = rng::stream(seed, "annealed", 0);
    let sd = Tensor::new(
        &[[(t * var[0]).sqrt() as f32, (t * var[1]).sqrt() as f32]],
        &Device::Cpu,
    )
    .unwrap();
    let start = rng::randn(&mut r, &[n, 2], &Device::Cpu)
        .unwrap()
        .broadcast_mul(&sd)
        .unwrap();
    let mut chains = Chains::new(start);
    let mut sampler = AnnealedLangevin::new(AnnealedLangevinParams {
        step_size: eta.into(),
        temperature: t.into(),
        ..Default::default()
    })
    .unwrap();
    run_chains(&mut sampler, &target, &mut chains, steps, &mut r).unwrap();
    let x = chains.x().to_vec2::<f32>().unwrap();
    [0, 1].map(|j| {
        let m = x.iter().map(|p| p[j] as f64).sum::<f64>() / n as f64;
        x.iter().map(|p| (p[j] as f64 - m).powi(2)).sum::<f64>() / (n - 1) as f64
    })
}

#[test]
fn constant_temperature_scales_the_variance() {
    let (var, eta) = ([1.0, 0.25], 0.01);
    for (t, seed) in [(1.0, 1), (4.0, 2)] {
        let got = variances(t, var, eta, 600, seed);
        for j in 0..2 {
            // The unadjusted scheme's stationary variance is T·σ² / (1 − η/(2σ²)).
            let expected = t * var[j] / (1.0 - eta / (2.0 * var[j]));
            let se = expected * (2.0 / 4000.0f64).sqrt();
            assert!(
                (got[j] - expected).abs() < 3.0 * se,
                "T = {t}, coordinate {j}: variance {} vs {expected} ± {se}",
                got[j]
            );
        }
    }
}

#[test]
fn each_step_uses_the_scheduled_temperature() {
    // E = ½‖x‖²: one step is x ← (1 − η)·x + √(2ηT)·ε. Replaying the same normals with the
    // schedule's T(step) by hand must give the sampler's chains exactly.
    let params: AnnealedLangevinParams = toml::from_str(
        "step_size = { kind = \"linear\", start = 0.2, end = 0.1, steps = 4 }\n\
         temperature = { kind = \"linear\", start = 5.0, end = 1.0, steps = 4 }",
    )
    .unwrap();
    let mut sampler = AnnealedLangevin::new(params).unwrap();
    assert_eq!(sampler.name(), "annealed_langevin");
    let target = Harmonic::new(1.0).unwrap();
    let start = [[1.0f32, -2.0], [0.5, 3.0]];
    let mut chains = Chains::new(Tensor::new(&start, &Device::Cpu).unwrap());
    run_chains(
        &mut sampler,
        &target,
        &mut chains,
        6,
        &mut rng::stream(3, "a", 0),
    )
    .unwrap();

    let mut replay = rng::stream(3, "a", 0);
    let mut x: Vec<f64> = start.iter().flatten().map(|v| *v as f64).collect();
    for step in 0..6u64 {
        let frac = (step as f64 / 4.0).min(1.0);
        let (eta, t) = (0.2 - 0.1 * frac, 5.0 - 4.0 * frac);
        let eps = rng::normal_vec(&mut replay, 4);
        for (xi, e) in x.iter_mut().zip(eps) {
            *xi = (1.0 - eta) * *xi + (2.0 * eta * t).sqrt() * e as f64;
        }
    }
    let got: Vec<f32> = chains.x().flatten_all().unwrap().to_vec1().unwrap();
    for (g, want) in got.iter().zip(&x) {
        assert!((*g as f64 - want).abs() < 1e-4, "{got:?} vs {x:?}");
    }
}

#[test]
fn default_temperature_is_one_and_bad_values_name_the_key() {
    let p = AnnealedLangevinParams::default();
    assert_eq!(p.temperature, 1.0.into());
    let spec: ebm_core::PluginSpec =
        toml::from_str("kind = \"annealed_langevin\"\ntemperature = -1.0").unwrap();
    let e = ebm_core::build_sampler("sampler", &spec).err().unwrap();
    assert!(
        e.is_config() && e.to_string().contains("sampler.temperature"),
        "{e}"
    );
}
