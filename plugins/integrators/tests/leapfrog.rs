//! The `Integrator` form of leapfrog agrees with the HMC function on a harmonic oscillator, and
//! rejects a state that is not a phase-space pair.

use candle_core::{DType, Device, Tensor, D};
use ebm_core::{Energy, Integrator};
use ebm_integrators::{leapfrog, Leapfrog};
use ebm_models::analytic::Harmonic;

#[test]
fn integrator_form_matches_the_hmc_function() {
    let k = 2.0;
    let target = Harmonic::new(k).unwrap();
    let q = Tensor::new(&[[1.0f64, -0.5], [0.3, 0.2]], &Device::Cpu).unwrap();
    let p = Tensor::new(&[[0.0f64, 1.0], [-1.0, 0.5]], &Device::Cpu).unwrap();
    let inv_mass = Tensor::ones((1, 2), DType::F64, &Device::Cpu).unwrap();
    let g = target.grad(&q).unwrap();
    let end = leapfrog(&target, &q, &p, &g, 0.1, 25, &inv_mass).unwrap();

    // dq/dt = p, dp/dt = −k q on the state [q | p].
    let drift = |s: &Tensor, _t: f64| -> ebm_core::Result<Tensor> {
        let (q, p) = (s.narrow(1, 0, 2)?, s.narrow(1, 2, 2)?);
        Ok(Tensor::cat(&[&p, &(q * -k)?], 1)?)
    };
    let mut s = Tensor::cat(&[&q, &p], D::Minus1).unwrap();
    for i in 0..25 {
        s = Leapfrog
            .step(&drift, &s, i as f64 * 0.1, 0.1, None)
            .unwrap();
    }
    let want = Tensor::cat(&[&end.x, &end.p], 1).unwrap();
    let diff = (s - want).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);
    assert_eq!(Leapfrog.name(), "leapfrog");
}

#[test]
fn odd_width_and_zero_steps_are_errors() {
    let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
    let drift = |s: &Tensor, _t: f64| -> ebm_core::Result<Tensor> { Ok(s.clone()) };
    assert!(Leapfrog.step(&drift, &x, 0.0, 0.1, None).is_err());
    let target = Harmonic::new(1.0).unwrap();
    let m = Tensor::ones((1, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(leapfrog(&target, &x, &x, &x, 0.1, 0, &m).is_err());
}
