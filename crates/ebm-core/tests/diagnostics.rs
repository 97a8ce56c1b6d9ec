//! ESS and split-R̂ against processes whose answers are known, and the sampling driver on the
//! harmonic energy: thinning, cached energies, acceptance and agreement with `run_chains`.

use candle_core::{Device, Tensor};
use ebm_core::{
    effective_sample_size, rng, run_chains, sample, split_rhat, Chains, Energy, Result,
    SampleOptions, Sampler, StepCtx, StepInfo,
};
use ebm_models::analytic::Harmonic;

/// `chains` independent AR(1) chains x_t = φ·x_{t−1} + √(1−φ²)·ε (stationary N(0, 1)),
/// chain-major. φ = 0 gives i.i.d. normal draws.
fn ar1(phi: f64, chains: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng::stream(seed, "ar1", 0);
    let eps = rng::normal_vec(&mut r, chains * n);
    let scale = (1.0 - phi * phi).sqrt();
    let mut out = Vec::with_capacity(chains * n);
    for c in 0..chains {
        let mut x = f64::from(eps[c * n]);
        out.push(x);
        for t in 1..n {
            x = phi * x + scale * f64::from(eps[c * n + t]);
            out.push(x);
        }
    }
    out
}

#[test]
fn iid_draws_have_ess_close_to_n() {
    let (chains, n) = (4, 2000);
    let draws = ar1(0.0, chains, n, 1);
    let ess = effective_sample_size(&draws, chains);
    let total = (chains * n) as f64;
    assert!((ess / total - 1.0).abs() < 0.1, "ess {ess} of {total}");
}

#[test]
fn ar1_ess_matches_theory() {
    let (chains, n, phi) = (4, 5000, 0.9);
    let draws = ar1(phi, chains, n, 2);
    let ess = effective_sample_size(&draws, chains);
    let expected = (chains * n) as f64 * (1.0 - phi) / (1.0 + phi);
    assert!(
        (ess / expected - 1.0).abs() < 0.2,
        "ess {ess}, expected {expected}"
    );
}

#[test]
fn rhat_separates_stuck_chains_from_mixed_ones() {
    let (chains, n) = (4, 1000);
    let iid = ar1(0.0, chains, n, 3);
    let r = split_rhat(&iid, chains);
    assert!(r < 1.01, "i.i.d. R-hat {r}");
    // Each chain stuck near its own constant.
    let stuck: Vec<f64> = iid
        .iter()
        .enumerate()
        .map(|(i, e)| (i / n) as f64 * 3.0 + 0.01 * e)
        .collect();
    let r = split_rhat(&stuck, chains);
    assert!(r > 2.0, "stuck R-hat {r}");
}

/// Draws x ~ N(0, 1/k) afresh each step: the exact sampler of `Harmonic::new(k)`. Reports a
/// fixed acceptance and, if asked, caches a marker energy so the test can see it was used.
struct Exact {
    k: f64,
    cache_marker: Option<f32>,
}

impl Sampler for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }

    fn step(&mut self, _: &dyn Energy, chains: &mut Chains, ctx: &mut StepCtx) -> Result<StepInfo> {
        let x = chains.x();
        let next = (rng::randn(ctx.rng, x.dims(), x.device())? / self.k.sqrt())?;
        let cached = match self.cache_marker {
            Some(m) => Some(Tensor::full(m, x.dims()[0], x.device())?),
            None => None,
        };
        chains.set_x_cached(next, cached, None);
        Ok(StepInfo::with_acceptance(0.5))
    }
}

fn start(b: usize) -> Chains {
    Chains::new(Tensor::zeros((b, 2), candle_core::DType::F32, &Device::Cpu).unwrap())
}

#[test]
fn thinning_keeps_ceil_n_over_thin_states() {
    let harmonic = Harmonic::new(4.0).unwrap();
    for (n_steps, thin) in [(10, 3), (12, 4), (7, 1), (5, 9)] {
        let opts = SampleOptions {
            n_steps,
            thin,
            keep_trajectory: true,
            burn_in: 0,
        };
        let mut sampler = Exact {
            k: 4.0,
            cache_marker: None,
        };
        let mut chains = start(3);
        let mut r = rng::stream(0, "t", 0);
        let out = sample(&mut sampler, &harmonic, &mut chains, &opts, &mut r).unwrap();
        let expected = n_steps.div_ceil(thin) as usize;
        assert_eq!(out.trajectory.len(), expected, "{n_steps}/{thin}");
        assert_eq!(out.mean_energy.len(), expected);
        assert_eq!(out.acceptance.len(), n_steps as usize);
        assert_eq!(out.kept_steps.last(), Some(&n_steps));
        assert_eq!(out.mean_acceptance(), Some(0.5));
    }
    let opts = SampleOptions {
        thin: 0,
        ..SampleOptions::default()
    };
    let mut r = rng::stream(0, "t", 0);
    let mut sampler = Exact {
        k: 4.0,
        cache_marker: None,
    };
    assert!(sample(&mut sampler, &harmonic, &mut start(2), &opts, &mut r).is_err());
}

#[test]
fn driver_on_harmonic_recovers_its_moments_and_matches_run_chains() {
    let k = 4.0;
    let harmonic = Harmonic::new(k).unwrap();
    let opts = SampleOptions {
        n_steps: 400,
        thin: 2,
        keep_trajectory: true,
        burn_in: 100,
    };
    let mut sampler = Exact {
        k,
        cache_marker: None,
    };
    let mut chains = start(8);
    let mut r = rng::stream(5, "driver", 0);
    let out = sample(&mut sampler, &harmonic, &mut chains, &opts, &mut r).unwrap();
    let diags = out.diagnostics().unwrap();
    assert_eq!(diags.len(), 2);
    // 150 kept states after burn-in × 8 chains of exact draws.
    for d in &diags {
        assert!((d.ess / 1200.0 - 1.0).abs() < 0.2, "{d:?}");
        assert!(d.rhat < 1.05, "{d:?}");
        assert!(d.mean.abs() < 0.1, "{d:?}");
        assert!((d.variance * k - 1.0).abs() < 0.15, "{d:?}");
    }
    // E = ½k‖x‖² has mean D/2 = 1 under exp(−E).
    let late = &out.mean_energy[50..];
    let avg = late.iter().sum::<f64>() / late.len() as f64;
    assert!((avg - 1.0).abs() < 0.15, "mean energy {avg}");

    // Same generator, same final positions as the minimal loop.
    let mut again = start(8);
    let mut r = rng::stream(5, "driver", 0);
    run_chains(&mut sampler, &harmonic, &mut again, 400, &mut r).unwrap();
    let a = out.final_x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = again.x().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a, b);
}

#[test]
fn cached_energy_is_used_and_missing_inputs_are_named() {
    let harmonic = Harmonic::new(1.0).unwrap();
    let mut sampler = Exact {
        k: 1.0,
        cache_marker: Some(-7.0),
    };
    let opts = SampleOptions {
        n_steps: 6,
        thin: 1,
        keep_trajectory: false,
        burn_in: 0,
    };
    let mut r = rng::stream(0, "c", 0);
    let out = sample(&mut sampler, &harmonic, &mut start(3), &opts, &mut r).unwrap();
    assert!(out.mean_energy.iter().all(|&e| e == -7.0));
    assert!(out.trajectory.is_empty());
    let e = out.diagnostics().unwrap_err().to_string();
    assert!(e.contains("keep_trajectory"), "{e}");

    let opts = SampleOptions {
        keep_trajectory: true,
        ..opts
    };
    let one = sample(&mut sampler, &harmonic, &mut start(1), &opts, &mut r).unwrap();
    let e = one.diagnostics().unwrap_err().to_string();
    assert!(e.contains("2 chains"), "{e}");
    let opts = SampleOptions { burn_in: 3, ..opts };
    let short = sample(&mut sampler, &harmonic, &mut start(3), &opts, &mut r).unwrap();
    let e = short.diagnostics().unwrap_err().to_string();
    assert!(e.contains("4 kept states") && e.contains("got 3"), "{e}");
}

/// Reports the step index as a diagnostic every step and a second one on even steps only.
struct Counting;

impl Sampler for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn step(&mut self, _: &dyn Energy, _: &mut Chains, ctx: &mut StepCtx) -> Result<StepInfo> {
        let info = StepInfo::default().with("step", ctx.step as f64);
        Ok(match ctx.step % 2 {
            0 => info.with("even", 1.0),
            _ => info,
        })
    }
}

#[test]
fn sampler_diagnostics_are_averaged_over_the_steps_that_report_them_in_both_loops() {
    let harmonic = Harmonic::new(1.0).unwrap();
    let opts = SampleOptions {
        n_steps: 9,
        thin: 1,
        keep_trajectory: false,
        burn_in: 0,
    };
    let mut r = rng::stream(0, "test", 0);
    let out = sample(&mut Counting, &harmonic, &mut start(2), &opts, &mut r).unwrap();
    // steps 0..=8: mean 4; "even" reported on 5 of 9 steps, each 1.0.
    assert_eq!(out.extra, vec![("step", 4.0), ("even", 1.0)]);
    let summary = run_chains(&mut Counting, &harmonic, &mut start(2), 9, &mut r).unwrap();
    assert_eq!(summary.extra, out.extra);
}
