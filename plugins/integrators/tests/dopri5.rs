//! Adaptive Dormand–Prince: meets its tolerance, works harder for tighter ones, and stops with a
//! clear error at `max_steps`.

mod common;

use candle_core::Tensor;
use common::{max_abs_diff, rotated, rotation, start};
use ebm_core::{Integrator, Result};
use ebm_integrators::{integrate_adaptive, Dopri5, Dopri5Params};

#[test]
fn meets_the_tolerance_with_more_steps_when_tighter() {
    let t1 = 2.0 * std::f64::consts::PI;
    let mut last_steps = 0;
    for tol in [1e-4, 1e-6, 1e-8] {
        let (x, stats) = integrate_adaptive(&rotation, &start(), 0.0, t1, tol, tol).unwrap();
        let err = max_abs_diff(&x, &rotated(t1));
        println!("tol {tol:e}: error {err:.2e}, {stats:?}");
        assert!(err <= 10.0 * tol, "tol {tol}: error {err}");
        assert!(stats.steps > last_steps, "tol {tol}: {stats:?}");
        last_steps = stats.steps;
    }
}

#[test]
fn integrates_backwards_and_handles_an_empty_span() {
    let (x, _) = integrate_adaptive(&rotation, &rotated(1.0), 1.0, 0.0, 1e-8, 1e-8).unwrap();
    assert!(max_abs_diff(&x, &start()) < 1e-7);
    let (x, stats) = integrate_adaptive(&rotation, &start(), 0.5, 0.5, 1e-6, 1e-6).unwrap();
    assert_eq!((max_abs_diff(&x, &start()), stats.steps), (0.0, 0));
}

fn stiff(x: &Tensor, _t: f64) -> Result<Tensor> {
    Ok((x * -1e6)?)
}

#[test]
fn max_steps_guard_errors_clearly() {
    let params = |rtol, max_steps| Dopri5Params {
        rtol,
        atol: rtol,
        max_steps,
    };
    // Stiff: explicit stability caps the step near 3e-6, so t ∈ [0, 1] needs ~3e5 steps.
    let d = Dopri5::new(params(1e-6, 200)).unwrap();
    let e = d
        .integrate_adaptive(&stiff, &start(), 0.0, 1.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("integrator.max_steps") && e.contains("200"),
        "{e}"
    );
    // Impossible: a tolerance below round-off.
    let d = Dopri5::new(params(1e-15, 50)).unwrap();
    let e = d.integrate_adaptive(&rotation, &start(), 0.0, 10.0);
    assert!(e.unwrap_err().to_string().contains("max_steps"));
}

#[test]
fn fixed_step_form_and_bad_params() {
    let d = Dopri5::default();
    let x = d.step(&rotation, &start(), 0.0, 0.1, None).unwrap();
    assert!(max_abs_diff(&x, &rotated(0.1)) < 1e-9);
    let bad = Dopri5Params {
        rtol: -1.0,
        ..Dopri5Params::default()
    };
    let e = Dopri5::new(bad).err().unwrap();
    assert!(
        e.is_config() && e.to_string().contains("`integrator.rtol`"),
        "{e}"
    );
}
