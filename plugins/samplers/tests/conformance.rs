//! Every built-in sampler passes the conformance kit (`ebm-testing`), the same one a user's
//! sampler crate runs: config errors naming the key, chains of any shape, seeded
//! reproducibility, relaxation on a Gaussian and, for the MCMC samplers, exp(−E) invariant.

use candle_core::Device;
use ebm_core::{build_sampler, rng, run_chains, sampler_names, Chains, PluginSpec, RunSummary};
use ebm_testing::fixtures::DiagonalGaussian;
use ebm_testing::SamplerCheck;

/// The check of each built-in: its own bad values, and exactness where it is an MCMC sampler
/// (the unadjusted ones have an O(η) bias far below the kit's tolerance at the default η).
fn check_of(name: &str) -> Option<SamplerCheck> {
    let check = SamplerCheck::new(name);
    Some(match name {
        "langevin" => check
            .rejects("step_size = -0.1", "step_size")
            .rejects("noise_scale = -1.0", "noise_scale")
            .rejects("clamp = [1.0, -1.0]", "clamp")
            .exact(),
        "annealed_langevin" => check
            .rejects("temperature = -1.0", "temperature")
            .rejects("step_size = 0.0", "step_size")
            .exact(),
        "gradient_descent" => check.rejects("step_size = -0.1", "step_size"),
        "nesterov" => check
            .rejects("momentum = 1.5", "momentum")
            .rejects("clamp = [0.0, 0.0]", "clamp"),
        "parallel_tempering" => check
            .rejects("temperatures = [2.0, 4.0]", "temperatures")
            .rejects("temperatures = [1.0, 1.0]", "temperatures")
            .exact(),
        "mala" => check
            .rejects("step_size = -0.1", "step_size")
            .rejects("adapt = { warmup = 0 }", "adapt.warmup")
            .rejects(
                "step_size = { kind = \"linear\", start = 0.1, end = 0.01, steps = 10 }\nadapt = {}",
                "step_size",
            )
            .exact(),
        "hmc" => check
            .rejects("n_leapfrog = 0", "n_leapfrog")
            .rejects("mass = -1.0", "mass")
            .rejects("adapt = { target_accept = 1.5 }", "adapt.target_accept")
            .exact(),
        "flow" => check
            .rejects("diffusion = -1.0", "diffusion")
            .rejects("integrator = { kind = \"leapfrog\" }", "integrator.kind"),
        _ => return None,
    })
}

#[test]
fn every_registered_sampler_conforms() {
    ebm_samplers::link();
    let names = sampler_names();
    assert!(names.contains(&"langevin"), "{names:?}");
    for name in names {
        let check = check_of(name)
            .unwrap_or_else(|| panic!("built-in sampler `{name}` has no conformance entry here"));
        let report = check.run().unwrap();
        assert_eq!(report.shapes.len(), ebm_testing::CHAIN_SHAPES.len());
    }
}

/// HMC's summary after 20 transitions of 64 chains on the kit's Gaussian, from `params`.
fn hmc_summary(params: &str) -> RunSummary {
    ebm_samplers::link();
    let spec: PluginSpec = toml::from_str(&format!("kind = \"hmc\"\n{params}")).unwrap();
    let mut hmc = build_sampler("sampler", &spec).unwrap();
    let target = DiagonalGaussian::new(&[2, 3], &Device::Cpu).unwrap();
    let mut r = rng::stream(3, "hmc-diagnostics", 0);
    let mut chains = Chains::new(rng::randn(&mut r, &[64, 2, 3], &Device::Cpu).unwrap());
    run_chains(hmc.as_mut(), &target, &mut chains, 20, &mut r).unwrap()
}

#[test]
fn hmc_reports_divergences_and_energy_error() {
    // The default ε = 0.1 is well inside leapfrog's stability limit (2·√v_min ≈ 1.41): no
    // divergence, a small energy error.
    let s = hmc_summary("");
    assert_eq!(s.get("divergences"), Some(0.0), "{s:?}");
    let err = s.get("energy_error").unwrap();
    assert!(err > 0.0 && err < 0.5, "{s:?}");
    // ε = 3 is past it: the trajectories blow up and are counted, and none is accepted.
    let s = hmc_summary("step_size = 3.0\nn_leapfrog = 20");
    assert!(s.get("divergences").unwrap() > 10.0, "{s:?}");
    assert!(s.mean_acceptance.unwrap() < 0.05, "{s:?}");
}
