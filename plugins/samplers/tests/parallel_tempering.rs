//! Parallel tempering mixes a double well that Langevin alone cannot cross: chains all started in
//! the left well end up split evenly between the wells at T = 1, swaps are sometimes accepted, and
//! a seed fixes the output.

use candle_core::{Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, PluginSpec, RunSummary, Sampler};
use ebm_models::analytic::DoubleWell;
use ebm_samplers::{Langevin, LangevinParams, ParallelTempering, ParallelTemperingParams};

const BARRIER: f64 = 8.0;
const STEPS: u64 = 600;
const ETA: f64 = 0.005;

/// Runs `sampler` on 1-D chains started near x = −1; returns the final positions and the summary.
fn run(sampler: &mut dyn Sampler, n: usize, seed: u64) -> (Vec<f32>, RunSummary) {
    let well = DoubleWell::new(BARRIER).unwrap();
    let mut r = rng::stream(seed, "pt", 0);
    let start =
        ((rng::randn(&mut r, &[n, 1], &Device::Cpu).unwrap() * 0.1).unwrap() - 1.0).unwrap();
    let mut chains = Chains::new(start);
    let summary = run_chains(sampler, &well, &mut chains, STEPS, &mut r).unwrap();
    (
        chains.x().flatten_all().unwrap().to_vec1().unwrap(),
        summary,
    )
}

fn right_fraction(x: &[f32]) -> f64 {
    x.iter().filter(|v| **v > 0.0).count() as f64 / x.len() as f64
}

/// Mean of (|x| − 1)²: the spread within a well, which grows with the temperature.
fn spread(x: &[f32]) -> f64 {
    x.iter()
        .map(|v| (v.abs() as f64 - 1.0).powi(2))
        .sum::<f64>()
        / x.len() as f64
}

fn pt() -> ParallelTempering {
    ParallelTempering::new(ParallelTemperingParams {
        step_size: ETA.into(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn tempering_crosses_the_barrier_langevin_does_not() {
    let mut langevin = Langevin::new(LangevinParams {
        step_size: ETA.into(),
        ..Default::default()
    })
    .unwrap();
    let (x, summary) = run(&mut langevin, 1000, 1);
    let f = right_fraction(&x);
    assert!(f < 0.05, "langevin crossed: right-well fraction {f}");
    assert_eq!(summary.mean_acceptance, None);
    let local = spread(&x);

    let (x, summary) = run(&mut pt(), 1000, 1);
    let f = right_fraction(&x);
    assert!((f - 0.5).abs() < 0.1, "tempering: right-well fraction {f}");
    // The returned replica is the T = 1 one: within a well it is as tight as Langevin's chains
    // (SE ≈ 5%), not spread like the hot replicas it swapped with.
    let s = spread(&x);
    assert!(
        (s / local - 1.0).abs() < 0.2,
        "spread {s} vs langevin {local}"
    );
    let acc = summary
        .mean_acceptance
        .expect("swap acceptance is reported");
    assert!(acc > 0.0 && acc < 1.0, "swap acceptance {acc}");
}

#[test]
fn same_seed_same_output() {
    let (a, _) = run(&mut pt(), 50, 7);
    assert_eq!(a, run(&mut pt(), 50, 7).0);
    assert_ne!(a, run(&mut pt(), 50, 8).0);
}

#[test]
fn replicas_follow_the_number_of_chains_and_bad_ladders_are_errors() {
    // A mid-run change of the batch (as with fresh negative chains) restarts the hot replicas.
    let well = DoubleWell::new(BARRIER).unwrap();
    let mut s = pt();
    let mut r = rng::stream(2, "pt", 0);
    for (n, step) in [(8, 0), (8, 1), (3, 2), (5, 0)] {
        let mut chains =
            Chains::new(Tensor::zeros((n, 2), candle_core::DType::F32, &Device::Cpu).unwrap());
        let mut ctx = ebm_core::StepCtx {
            rng: &mut r,
            step,
            n_steps: 3,
        };
        s.step(&well, &mut chains, &mut ctx).unwrap();
        assert_eq!(chains.x().dims(), &[n, 2]);
        assert!(chains.energy.is_some() && chains.grad.is_some());
    }
    for ladder in ["[2.0, 4.0]", "[1.0]", "[1.0, 3.0, 2.0]"] {
        let text = format!("kind = \"parallel_tempering\"\ntemperatures = {ladder}");
        let spec: PluginSpec = toml::from_str(&text).unwrap();
        let e = build_sampler("sampler", &spec).err().unwrap();
        assert!(
            e.is_config() && e.to_string().contains("sampler.temperatures"),
            "{e}"
        );
    }
}
