//! MALA and HMC sample their targets exactly: from a deliberately wrong start, thousands of
//! independent chains run past burn-in and their final states match the target's moments within
//! 3 standard errors. The chains are independent, so their final states are independent draws and
//! the effective sample size is n: the standard error of a mean is σ/√n and of a variance σ²√(2/(n−1)).
//! Unadjusted Langevin at a large step shows its known variance bias where MALA shows none.
//! Seeds are fixed, so each run is deterministic.

use candle_core::{Device, Tensor};
use ebm_core::{rng, run_chains, Chains, Energy, Sampler};
use ebm_models::analytic::{DoubleWell, Gaussian};
use ebm_samplers::{Hmc, HmcParams, Langevin, LangevinParams, Mala, MalaParams, Mass};

/// Runs `sampler` for `steps` from `start` and returns the final states as rows.
fn sample(
    sampler: &mut dyn Sampler,
    target: &dyn Energy,
    start: Tensor,
    steps: u64,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut r = rng::stream(seed, "exactness", 0);
    let mut chains = Chains::new(start);
    run_chains(sampler, target, &mut chains, steps, &mut r).unwrap();
    let x = chains.x().to_dtype(candle_core::DType::F64).unwrap();
    x.to_vec2::<f64>().unwrap()
}

/// `n` rows of N(0, scale²·I) in `d` dimensions, from a stream separate from the sampler's.
fn start(n: usize, d: usize, scale: f64, seed: u64) -> Tensor {
    let mut r = rng::stream(seed, "start", 0);
    (rng::randn(&mut r, &[n, d], &Device::Cpu).unwrap() * scale).unwrap()
}

fn mean_var(x: &[Vec<f64>], j: usize) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().map(|r| r[j]).sum::<f64>() / n;
    let v = x.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v)
}

/// Asserts mean and variance of coordinate `j` within 3 SE of the truth.
fn check_moments(name: &str, x: &[Vec<f64>], j: usize, mean: f64, var: f64) {
    let n = x.len() as f64;
    let (m, v) = mean_var(x, j);
    let se_m = (var / n).sqrt();
    let se_v = var * (2.0 / (n - 1.0)).sqrt();
    assert!(
        (m - mean).abs() < 3.0 * se_m,
        "{name}: mean[{j}] = {m}, want {mean} ± {}",
        3.0 * se_m
    );
    assert!(
        (v - var).abs() < 3.0 * se_v,
        "{name}: var[{j}] = {v}, want {var} ± {}",
        3.0 * se_v
    );
}

fn mala(eta: f64) -> Mala {
    Mala::new(MalaParams {
        step_size: eta.into(),
        ..Default::default()
    })
    .unwrap()
}

fn hmc(eps: f64, n_leapfrog: usize, mass: Mass) -> Hmc {
    Hmc::new(HmcParams {
        step_size: eps.into(),
        n_leapfrog,
        mass,
        adapt: None,
    })
    .unwrap()
}

#[test]
fn correlated_gaussian_2d() {
    let (mean, cov) = ([1.0, -2.0], [1.0, 0.8, 0.8, 1.0]);
    let target = Gaussian::new(mean.to_vec(), cov.to_vec()).unwrap();
    let n = 3000;
    let runs: [(&str, Box<dyn Sampler>, u64); 2] = [
        ("mala", Box::new(mala(0.1)), 500),
        ("hmc", Box::new(hmc(0.2, 10, Mass::Scalar(1.0))), 60),
    ];
    for (name, mut s, steps) in runs {
        let x = sample(s.as_mut(), &target, start(n, 2, 1.0, 1), steps, 2);
        for j in 0..2 {
            check_moments(name, &x, j, mean[j], cov[3 * j]);
        }
        // Cov(x₀, x₁) = 0.8; Var(x₀x₁) for a bivariate normal is σ₀²σ₁²(1 + ρ²) = 1.64.
        let (m0, _) = mean_var(&x, 0);
        let (m1, _) = mean_var(&x, 1);
        let c = x.iter().map(|r| (r[0] - m0) * (r[1] - m1)).sum::<f64>() / (n - 1) as f64;
        let se = (1.64f64 / n as f64).sqrt();
        assert!((c - 0.8).abs() < 3.0 * se, "{name}: cov = {c}");
    }
}

#[test]
fn ill_conditioned_gaussian_10d() {
    // Standard deviations 0.1 .. 3 (condition number 900), diagonal covariance.
    let sd: Vec<f64> = (0..10).map(|i| 0.1 + 2.9 * i as f64 / 9.0).collect();
    let mut cov = vec![0.0; 100];
    for i in 0..10 {
        cov[11 * i] = sd[i] * sd[i];
    }
    let target = Gaussian::new(vec![0.0; 10], cov).unwrap();
    let n = 2000;
    // MALA's step is limited by the narrowest direction, so the widest one mixes slowly: it needs
    // thousands of steps. HMC uses the mass matrix M = Σ⁻¹, which makes the target isotropic.
    let precision: Vec<f64> = sd.iter().map(|s| 1.0 / (s * s)).collect();
    let runs: [(&str, Box<dyn Sampler>, u64); 2] = [
        ("mala", Box::new(mala(0.008)), 4000),
        ("hmc", Box::new(hmc(0.25, 6, Mass::Diagonal(precision))), 60),
    ];
    for (name, mut s, steps) in runs {
        let x = sample(s.as_mut(), &target, start(n, 10, 1.0, 3), steps, 4);
        for (j, s) in sd.iter().enumerate() {
            check_moments(name, &x, j, 0.0, s * s);
        }
    }
}

#[test]
fn double_well_2d_weights_both_modes_equally() {
    // E = Σᵢ (xᵢ² − 1)²: independent coordinates with density ∝ exp(−(x² − 1)²). Its second moment
    // by quadrature; the mean is 0 and each mode holds half the mass.
    let target = DoubleWell::new(1.0).unwrap();
    let dens = |x: f64| (-(x * x - 1.0).powi(2)).exp();
    let grid: Vec<f64> = (0..=8000).map(|i| -4.0 + 8.0 * i as f64 / 8000.0).collect();
    let z: f64 = grid.iter().map(|&x| dens(x)).sum();
    let var = grid.iter().map(|&x| x * x * dens(x)).sum::<f64>() / z;
    let n = 4000;
    // Every chain starts in the x₀ > 0, x₁ > 0 well: the mode weights must equilibrate.
    let at_one = || Tensor::ones((n, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
    let runs: [(&str, Box<dyn Sampler>, u64); 2] = [
        ("mala", Box::new(mala(0.05)), 800),
        ("hmc", Box::new(hmc(0.1, 10, Mass::Scalar(1.0))), 60),
    ];
    for (name, mut s, steps) in runs {
        let x = sample(s.as_mut(), &target, at_one(), steps, 5);
        for j in 0..2 {
            check_moments(name, &x, j, 0.0, var);
        }
        let w = x.iter().filter(|r| r[0] > 0.0).count() as f64 / n as f64;
        let se = (0.25 / n as f64).sqrt();
        assert!(
            (w - 0.5).abs() < 3.0 * se,
            "{name}: weight of x₀ > 0 is {w}"
        );
    }
}

#[test]
fn mala_removes_the_bias_of_unadjusted_langevin() {
    // On N(0, λ) the ULA chain x ← (1 − η/λ)x + √(2η)ε has stationary variance λ/(1 − η/(2λ)):
    // with λ = 1 and η = 0.5 that is 4/3, an O(η) bias MALA's accept/reject removes.
    let target = Gaussian::new(vec![0.0], vec![1.0]).unwrap();
    let (n, eta) = (4000, 0.5);
    let se = (2.0 / (n - 1) as f64).sqrt(); // SE of a sample variance ≈ σ²√(2/(n−1))
    let mut ula = Langevin::new(LangevinParams {
        step_size: eta.into(),
        ..Default::default()
    })
    .unwrap();
    let x = sample(&mut ula, &target, start(n, 1, 2.0, 6), 100, 7);
    let (_, v) = mean_var(&x, 0);
    let biased = 1.0 / (1.0 - eta / 2.0);
    assert!((v - 1.0).abs() > 5.0 * se, "ULA variance {v} shows no bias");
    assert!(
        (v - biased).abs() < 3.0 * biased * se,
        "ULA variance {v}, theory {biased}"
    );
    let x = sample(&mut mala(eta), &target, start(n, 1, 2.0, 6), 200, 7);
    check_moments("mala", &x, 0, 0.0, 1.0);
}
