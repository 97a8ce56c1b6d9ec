//! The suite every registered sampler must pass with its default parameters: shapes kept,
//! reproducible under a seed, finite on a Gaussian, and moving towards low energy.

use candle_core::Device;
use ebm_core::{build_sampler, rng, run_chains, sampler_names, Chains, PluginSpec};
use ebm_models::analytic::Gaussian;

fn run(name: &str, seed: u64) -> Vec<Vec<f32>> {
    let target = Gaussian::new(
        vec![0.0, 0.0, 0.0],
        vec![1.0, 0.3, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0, 2.0],
    )
    .unwrap();
    let mut sampler = build_sampler("sampler", &PluginSpec::new(name)).unwrap();
    let mut r = rng::stream(seed, "conformance", 0);
    let start = (rng::randn(&mut r, &[64, 3], &Device::Cpu).unwrap() * 4.0).unwrap();
    let mut chains = Chains::new(start);
    run_chains(sampler.as_mut(), &target, &mut chains, 300, &mut r).unwrap();
    assert_eq!(chains.x().dims(), &[64, 3], "{name}: shape");
    chains.x().to_vec2::<f32>().unwrap()
}

#[test]
fn every_registered_sampler_conforms() {
    ebm_samplers::link();
    let names = sampler_names();
    assert!(names.contains(&"langevin"), "{names:?}");
    for name in names {
        let a = run(name, 1);
        assert_eq!(a, run(name, 1), "{name}: same seed, same chains");
        assert_ne!(a, run(name, 2), "{name}: different seed, different chains");
        assert!(
            a.iter().flatten().all(|v| v.is_finite()),
            "{name}: non-finite values"
        );
        // Started at 4·N(0, I) (mean square 48), chains should end near the target's (4).
        let ms: f32 = a
            .iter()
            .map(|r| r.iter().map(|v| v * v).sum::<f32>())
            .sum::<f32>()
            / 64.0;
        // The flow sampler is a transport over t ∈ [0, 1], not a chain with exp(−E) stationary:
        // on a time-invariant energy it is the gradient flow for unit time (e^{−A}·x₀), which
        // only has to have pulled the chains in.
        let bound = if name == "flow" { 24.0 } else { 10.0 };
        assert!(
            ms < bound,
            "{name}: mean square norm {ms}, chains did not relax"
        );
    }
}

#[test]
fn bad_parameters_are_config_errors_naming_the_key() {
    let spec: PluginSpec = toml::from_str("kind = \"langevin\"\nstep_size = -0.1").unwrap();
    let e = build_sampler("sampler", &spec).err().unwrap();
    assert!(
        e.is_config() && e.to_string().contains("sampler.step_size"),
        "{e}"
    );
    let spec: PluginSpec = toml::from_str("kind = \"langevin\"\nstep = 0.1").unwrap();
    let e = build_sampler("sampler", &spec).err().unwrap();
    assert!(e.to_string().contains("sampler.step"), "{e}");
}
