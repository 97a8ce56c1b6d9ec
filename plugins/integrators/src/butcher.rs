//! Explicit Runge–Kutta methods as Butcher tables, defined once (BlackJAX's coefficient-table
//! style) and stepped by one routine, [`rk_step`]. Euler, Heun, RK4 and Dormand–Prince 5(4)
//! are only their tables.
//!
//! Additive SDE noise g·ΔW is treated as a straight-line Brownian path over the step, i.e. the
//! step integrates the ODE with drift f + ΔW/dt. Since Σⱼ aᵢⱼ = cᵢ, stage i sees cᵢ·ΔW and the
//! output sees ΔW once: for Euler this is exactly Euler–Maruyama, for Heun the additive-noise
//! stochastic Heun scheme (one increment shared by predictor and corrector).

use candle_core::Tensor;
use ebm_core::{Drift, Result};

/// An explicit Butcher table: strictly lower-triangular `a` (row i has i entries), weights `b`,
/// nodes `c`, and for embedded pairs `b_err` = b − b̂ (the local error estimate's weights).
#[derive(Clone, Copy, Debug)]
pub struct Tableau {
    pub a: &'static [&'static [f64]],
    pub b: &'static [f64],
    pub c: &'static [f64],
    pub b_err: Option<&'static [f64]>,
    /// Order of the solution `b` (the embedded one is `order − 1`).
    pub order: u32,
}

pub const EULER: Tableau = Tableau {
    a: &[&[]],
    b: &[1.0],
    c: &[0.0],
    b_err: None,
    order: 1,
};

/// Heun's method (explicit trapezoid).
pub const HEUN: Tableau = Tableau {
    a: &[&[], &[1.0]],
    b: &[0.5, 0.5],
    c: &[0.0, 1.0],
    b_err: None,
    order: 2,
};

/// The classical fourth-order Runge–Kutta method.
pub const RK4: Tableau = Tableau {
    a: &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    b: &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    c: &[0.0, 0.5, 0.5, 1.0],
    b_err: None,
    order: 4,
};

/// Dormand–Prince 5(4) (Hairer, Nørsett & Wanner, Table II.5.2). The last row of `a` equals `b`,
/// so the 7th stage is f at the new point: first-same-as-last, reused by the next step.
pub const DOPRI5: Tableau = Tableau {
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    c: &[0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0],
    b_err: Some(&[
        71.0 / 57600.0,
        0.0,
        -71.0 / 16695.0,
        71.0 / 1920.0,
        -17253.0 / 339200.0,
        22.0 / 525.0,
        -1.0 / 40.0,
    ]),
    order: 5,
};

/// One explicit RK step.
pub struct RkStep {
    pub x: Tensor,
    /// Local error estimate dt·Σ b_errᵢ kᵢ, for embedded tables.
    pub err: Option<Tensor>,
    /// The last stage's drift, which for an FSAL table (DOPRI5) is f(x_next, t + dt).
    pub last_k: Tensor,
}

/// Advances `x` from `t` by `dt` with table `tab`. `k1`, if given, is f(x, t) already known
/// (FSAL), saving one drift evaluation. `noise` is the increment g·ΔW (see the module doc).
pub fn rk_step(
    tab: &Tableau,
    drift: &Drift,
    x: &Tensor,
    t: f64,
    dt: f64,
    noise: Option<&Tensor>,
    k1: Option<Tensor>,
) -> Result<RkStep> {
    let mut ks: Vec<Tensor> = Vec::with_capacity(tab.b.len());
    for (i, row) in tab.a.iter().enumerate() {
        if i == 0 {
            if let Some(k) = &k1 {
                ks.push(k.clone());
                continue;
            }
        }
        let mut xi = x.clone();
        for (a, k) in row.iter().zip(&ks) {
            // Zeros are common in these tables; skipping them saves a full-size multiply-add.
            if *a != 0.0 {
                xi = (xi + (k * (a * dt))?)?;
            }
        }
        if let (Some(n), true) = (noise, tab.c[i] != 0.0) {
            xi = (xi + (n * tab.c[i])?)?;
        }
        ks.push(drift(&xi, t + tab.c[i] * dt)?);
    }
    let combine = |w: &[f64]| -> Result<Option<Tensor>> {
        let mut acc: Option<Tensor> = None;
        for (wi, k) in w.iter().zip(&ks) {
            if *wi != 0.0 {
                let term = (k * (wi * dt))?;
                acc = Some(match acc {
                    Some(a) => (a + term)?,
                    None => term,
                });
            }
        }
        Ok(acc)
    };
    let mut next = match combine(tab.b)? {
        Some(inc) => (x + inc)?,
        None => x.clone(),
    };
    if let Some(n) = noise {
        next = (next + n)?;
    }
    let err = match tab.b_err {
        Some(w) => Some(combine(w)?.map_or_else(|| x.zeros_like(), Ok)?),
        None => None,
    };
    let last_k = match ks.pop() {
        Some(k) => k,
        None => x.zeros_like()?,
    };
    Ok(RkStep {
        x: next,
        err,
        last_k,
    })
}
