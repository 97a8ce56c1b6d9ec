//! Euler–Maruyama (and stochastic Heun) on the Ornstein–Uhlenbeck SDE dx = −x dt + √2 dW from
//! x = 0: the variance at t = 5 is 1 − e⁻¹⁰ ≈ 1, checked over many independent paths.

use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Integrator, Result};
use ebm_integrators::{integrate, EulerMaruyama, Heun};

fn ou(x: &Tensor, _t: f64) -> Result<Tensor> {
    Ok(x.neg()?)
}

#[test]
fn ou_reaches_unit_variance() {
    let paths = 20_000;
    // dt = 0.005: EM's stationary variance 1/(1 − dt/2) is 0.25% high, a quarter of one SE.
    let (t1, n) = (5.0, 1000);
    let cases: [(&dyn Integrator, &str); 2] = [(&EulerMaruyama, "em"), (&Heun, "heun")];
    for (ig, purpose) in cases {
        let mut r = rng::stream(5, purpose, 0);
        let x0 = Tensor::zeros(paths, DType::F64, &Device::Cpu).unwrap();
        let noise = Some((&mut r, 2f64.sqrt()));
        let x = integrate(ig, &ou, &x0, 0.0, t1, n, noise).unwrap();
        let v = x.to_vec1::<f64>().unwrap();
        let mean = v.iter().sum::<f64>() / paths as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (paths - 1) as f64;
        // For Gaussian samples, SE(variance) = σ²·√(2/(N − 1)).
        let se = (2.0 / (paths - 1) as f64).sqrt();
        let want = 1.0 - (-2.0 * t1).exp();
        println!(
            "{}: variance {var:.4} (want {want:.4}, SE {se:.4})",
            ig.name()
        );
        assert!(
            (var - want).abs() < 3.0 * se,
            "{}: variance {var}",
            ig.name()
        );
        assert!(mean.abs() < 3.0 / (paths as f64).sqrt(), "mean {mean}");
    }
}

#[test]
fn same_seed_same_path_and_bad_diffusion_is_an_error() {
    let x0 = Tensor::zeros(8, DType::F64, &Device::Cpu).unwrap();
    let run = |seed| {
        let mut r = rng::stream(seed, "sde", 0);
        let x = integrate(&EulerMaruyama, &ou, &x0, 0.0, 1.0, 10, Some((&mut r, 1.0)));
        x.unwrap().to_vec1::<f64>().unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
    let mut r = rng::stream(1, "sde", 0);
    assert!(integrate(
        &EulerMaruyama,
        &ou,
        &x0,
        0.0,
        1.0,
        10,
        Some((&mut r, f64::NAN))
    )
    .is_err());
}
