//! Dual-averaging step-size adaptation reaches its target acceptance: after warm-up, with the
//! step frozen, the mean acceptance on a 2-D correlated Gaussian is within ±0.05 of the target for
//! both MALA (0.574) and HMC (0.8), from a badly chosen initial step.

use candle_core::Device;
use ebm_core::{build_sampler, rng, run_chains, Chains, PluginSpec, Sampler};
use ebm_models::analytic::Gaussian;
use ebm_samplers::adaptation::AdaptParams;
use ebm_samplers::{Hmc, HmcParams, Mala, MalaParams, HMC_TARGET_ACCEPT, MALA_TARGET_ACCEPT};

fn target() -> Gaussian {
    Gaussian::new(vec![1.0, -2.0], vec![1.0, 0.8, 0.8, 1.0]).unwrap()
}

/// Runs warm-up then two more runs; returns the acceptance of each post-warm-up run.
fn after_warmup(sampler: &mut dyn Sampler, warmup: u64) -> [f64; 2] {
    let mut r = rng::stream(21, "adapt", 0);
    let mut chains = Chains::new(rng::randn(&mut r, &[1000, 2], &Device::Cpu).unwrap());
    run_chains(sampler, &target(), &mut chains, warmup, &mut r).unwrap();
    [0, 1].map(|_| {
        let s = run_chains(sampler, &target(), &mut chains, 100, &mut r).unwrap();
        s.mean_acceptance.unwrap()
    })
}

fn adapt(warmup: u64) -> Option<AdaptParams> {
    Some(AdaptParams {
        warmup,
        target_accept: None,
    })
}

#[test]
fn mala_reaches_its_target_acceptance() {
    let mut mala = Mala::new(MalaParams {
        step_size: 0.001.into(),
        adapt: adapt(500),
    })
    .unwrap();
    assert_eq!(mala.adapted_step_size(), None);
    let acc = after_warmup(&mut mala, 500);
    let frozen = mala.adapted_step_size().expect("warm-up is over");
    for a in acc {
        assert!(
            (a - MALA_TARGET_ACCEPT).abs() < 0.05,
            "acceptance {a} at step {frozen}"
        );
    }
    assert_eq!(
        mala.adapted_step_size(),
        Some(frozen),
        "the step stays frozen"
    );
}

#[test]
fn hmc_reaches_its_target_acceptance() {
    let mut hmc = Hmc::new(HmcParams {
        step_size: 1.0.into(),
        adapt: adapt(300),
        ..Default::default()
    })
    .unwrap();
    let acc = after_warmup(&mut hmc, 300);
    let frozen = hmc.adapted_step_size().expect("warm-up is over");
    for a in acc {
        assert!(
            (a - HMC_TARGET_ACCEPT).abs() < 0.05,
            "acceptance {a} at step {frozen}"
        );
    }
}

#[test]
fn adapt_config_is_parsed_and_checked() {
    let spec: PluginSpec =
        toml::from_str("kind = \"mala\"\nadapt = { warmup = 10, target_accept = 0.6 }").unwrap();
    assert!(build_sampler("sampler", &spec).is_ok());
    for (bad, key) in [
        (
            "adapt = { warmup = 10, target = 0.6 }",
            "sampler.adapt.target",
        ),
        (
            "adapt = { target_accept = 1.5 }",
            "sampler.adapt.target_accept",
        ),
        ("adapt = { warmup = 0 }", "sampler.adapt.warmup"),
        (
            "adapt = {}\nstep_size = { kind = \"linear\", start = 0.1, end = 0.01, steps = 5 }",
            "sampler.step_size",
        ),
    ] {
        for kind in ["mala", "hmc"] {
            let spec: PluginSpec = toml::from_str(&format!("kind = \"{kind}\"\n{bad}")).unwrap();
            let e = build_sampler("sampler", &spec).err().unwrap();
            assert!(e.is_config() && e.to_string().contains(key), "{kind}: {e}");
        }
    }
}
