//! Fixed-step convergence orders: halving dt divides the global error at t = 1 by 2^order on
//! dx/dt = A x (rotation) and dx/dt = λx.

mod common;

use candle_core::{Device, Tensor};
use common::{max_abs_diff, rotated, rotation, start};
use ebm_core::{Drift, Integrator, Result};
use ebm_integrators::{integrate, Dopri5, EulerMaruyama, Heun, Rk4};

/// log₂(e(n) / e(2n)) for the global error at t = 1 of `drift` from `x0`, exact value `want`.
fn order(ig: &dyn Integrator, drift: &Drift, x0: &Tensor, want: &Tensor, n: usize) -> f64 {
    let err = |n| max_abs_diff(&integrate(ig, drift, x0, 0.0, 1.0, n, None).unwrap(), want);
    (err(n) / err(2 * n)).log2()
}

fn decay(x: &Tensor, _t: f64) -> Result<Tensor> {
    Ok((x * -1.5)?)
}

#[test]
fn measured_orders_match_the_tables() {
    let x0 = start();
    let lam0 = Tensor::new(&[[1.0f64], [-2.0]], &Device::Cpu).unwrap();
    let lam1 = (&lam0 * (-1.5f64).exp()).unwrap();
    // n is chosen so the error is well above f64 round-off yet in the asymptotic regime.
    let cases: [(&dyn Integrator, f64, usize); 4] = [
        (&EulerMaruyama, 1.0, 64),
        (&Heun, 2.0, 32),
        (&Rk4, 4.0, 8),
        (&Dopri5::default(), 5.0, 8),
    ];
    for (ig, want, n) in cases {
        let rot = order(ig, &rotation, &x0, &rotated(1.0), n);
        let lin = order(ig, &decay, &lam0, &lam1, n);
        println!("{}: order {rot:.3} (rotation), {lin:.3} (λx)", ig.name());
        for got in [rot, lin] {
            assert!(
                (got - want).abs() <= 0.3,
                "{}: order {got}, want {want}",
                ig.name()
            );
        }
    }
}

#[test]
fn integrate_runs_backwards_and_rejects_zero_steps() {
    let x = integrate(&Rk4, &rotation, &rotated(1.0), 1.0, 0.0, 50, None).unwrap();
    assert!(max_abs_diff(&x, &start()) < 1e-7);
    assert!(integrate(&Rk4, &rotation, &start(), 0.0, 1.0, 0, None).is_err());
}
