//! The leapfrog integrator HMC uses: time-reversible to round-off, energy-conserving without drift
//! on a harmonic oscillator, and one gradient per step — a transition costs L evaluations plus one
//! for the first, uncached, position.

use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, run_chains, Chains, Energy, PluginSpec, Result};
use ebm_integrators::leapfrog;
use ebm_models::analytic::{Gaussian, Harmonic};
use ebm_samplers::{Hmc, HmcParams};
use std::sync::atomic::{AtomicUsize, Ordering};

fn f64_rows(rows: &[[f64; 3]]) -> Tensor {
    Tensor::from_vec(rows.concat(), (rows.len(), 3), &Device::Cpu).unwrap()
}

fn max_abs(t: Tensor) -> f64 {
    t.abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn reversible_in_f64() {
    let target = Gaussian::new(
        vec![0.5, -1.0, 0.0],
        vec![1.0, 0.5, 0.0, 0.5, 2.0, 0.3, 0.0, 0.3, 0.7],
    )
    .unwrap();
    let x0 = f64_rows(&[[1.0, 2.0, -1.0], [0.1, -0.3, 0.4]]);
    let p0 = f64_rows(&[[0.5, -1.0, 0.2], [1.5, 0.0, -0.7]]);
    let inv_mass = Tensor::new(&[[1.0f64, 0.5, 2.0]], &Device::Cpu).unwrap();
    let g0 = target.grad(&x0).unwrap();
    let fwd = leapfrog(&target, &x0, &p0, &g0, 0.1, 40, &inv_mass).unwrap();
    assert!(
        max_abs((&fwd.x - &x0).unwrap()) > 0.1,
        "the trajectory must move"
    );
    let back = leapfrog(
        &target,
        &fwd.x,
        &fwd.p.neg().unwrap(),
        &fwd.grad,
        0.1,
        40,
        &inv_mass,
    )
    .unwrap();
    assert!(max_abs((back.x - &x0).unwrap()) < 1e-5);
    assert!(max_abs((back.p.neg().unwrap() - &p0).unwrap()) < 1e-5);
}

#[test]
fn energy_is_conserved_on_a_harmonic_oscillator() {
    // H = ½kq² + ½p²; leapfrog conserves a shadow Hamiltonian, so H oscillates at O(ε²) and never drifts.
    let (k, eps) = (4.0, 0.05);
    let target = Harmonic::new(k).unwrap();
    let mut x = f64_rows(&[[1.0, 0.0, -0.5]]);
    let mut p = f64_rows(&[[0.0, 1.0, 0.5]]);
    let inv_mass = Tensor::ones((1, 3), DType::F64, &Device::Cpu).unwrap();
    let (e, mut g) = target.energy_and_grad(&x).unwrap();
    let h = |e: &Tensor, p: &Tensor| -> f64 {
        let k = (p.sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
        (e.sum_all().unwrap() + k)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let h0 = h(&e, &p);
    let mut dh = Vec::new();
    for _ in 0..1000 {
        let end = leapfrog(&target, &x, &p, &g, eps, 1, &inv_mass).unwrap();
        dh.push(h(&end.energy, &end.p) - h0);
        (x, p, g) = (end.x, end.p, end.grad);
    }
    let worst = dh.iter().fold(0.0f64, |a, d| a.max(d.abs()));
    // Bound: relative error ≈ (εω)²/4 with ω = √k.
    assert!(worst < h0 * eps * eps * k, "|ΔH| up to {worst}");
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let drift = mean(&dh[900..]) - mean(&dh[..100]);
    assert!(drift.abs() < 0.1 * worst, "ΔH drifts by {drift}");
}

/// An energy that counts its evaluations (any of energy / grad / energy_and_grad).
struct Counting {
    inner: Harmonic,
    calls: AtomicUsize,
}

impl Energy for Counting {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.energy(x)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.energy_and_grad(x)
    }
}

#[test]
fn one_gradient_per_leapfrog_step() {
    let target = Counting {
        inner: Harmonic::new(1.0).unwrap(),
        calls: AtomicUsize::new(0),
    };
    let l = 7;
    let mut hmc = Hmc::new(HmcParams {
        n_leapfrog: l,
        ..Default::default()
    })
    .unwrap();
    let mut r = rng::stream(3, "count", 0);
    let mut chains = Chains::new(rng::randn(&mut r, &[16, 4], &Device::Cpu).unwrap());
    // The first proposal also evaluates the start (L + 1); later ones reuse the chains' cache (L).
    run_chains(&mut hmc, &target, &mut chains, 1, &mut r).unwrap();
    assert_eq!(target.calls.load(Ordering::SeqCst), l + 1);
    run_chains(&mut hmc, &target, &mut chains, 5, &mut r).unwrap();
    assert_eq!(target.calls.load(Ordering::SeqCst), l + 1 + 5 * l);
    assert!(
        chains.energy.is_some() && chains.grad.is_some(),
        "the cache survives a step"
    );
}

#[test]
fn mass_and_leapfrog_parameters_are_checked() {
    let spec: PluginSpec = toml::from_str("kind = \"hmc\"\nmass = [1.0, 2.0]").unwrap();
    let mut hmc = ebm_core::build_sampler("sampler", &spec).unwrap();
    let target = Harmonic::new(1.0).unwrap();
    let mut r = rng::stream(1, "t", 0);
    let mut chains = Chains::new(Tensor::zeros((4, 3), DType::F32, &Device::Cpu).unwrap());
    let e = run_chains(hmc.as_mut(), &target, &mut chains, 1, &mut r).unwrap_err();
    assert!(
        e.is_config() && e.to_string().contains("sampler.mass"),
        "{e}"
    );
    for bad in [
        "mass = -1.0",
        "mass = []",
        "n_leapfrog = 0",
        "step_size = 0.0",
    ] {
        let spec: PluginSpec = toml::from_str(&format!("kind = \"hmc\"\n{bad}")).unwrap();
        let e = ebm_core::build_sampler("sampler", &spec).err().unwrap();
        let key = bad.split(' ').next().unwrap();
        assert!(
            e.is_config() && e.to_string().contains(&format!("sampler.{key}")),
            "{e}"
        );
    }
}
