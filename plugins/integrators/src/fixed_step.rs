//! The fixed-step explicit Runge–Kutta integrators: each is a name and a Butcher table from
//! [`crate::butcher`], stepped by the one routine there. A macro writes the type, its registration
//! and its `Integrator` impl once for all of them.

use crate::butcher::{rk_step, EULER, HEUN, RK4};
use crate::no_params;
use candle_core::Tensor;
use ebm_core::{Drift, Integrator, PluginArgs, Result};

macro_rules! fixed_step_integrator {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $table:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $ty;

        impl $ty {
            fn from_args(args: &PluginArgs) -> Result<Box<dyn Integrator>> {
                no_params(args)?;
                Ok(Box::new($ty))
            }
        }

        ebm_core::register_integrator!($name, $ty::from_args);

        impl Integrator for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn step(&self, drift: &Drift, x: &Tensor, t: f64, dt: f64, noise: Option<&Tensor>) -> Result<Tensor> {
                Ok(rk_step(&$table, drift, x, t, dt, noise, None)?.x)
            }
        }
    };
}

fixed_step_integrator!(
    /// Euler (order 1) for ODEs; with a noise increment g·ΔW it is Euler–Maruyama,
    /// x ← x + f(x, t)·dt + g·ΔW (strong order 1 for additive noise). One drift evaluation per step.
    EulerMaruyama,
    "euler_maruyama",
    EULER
);

fixed_step_integrator!(
    /// Heun's method (explicit trapezoid, order 2 for ODEs), two drift evaluations per step. With
    /// noise, the one increment g·ΔW is applied once per step and shared by predictor and corrector
    /// (x̃ = x + f·dt + g·ΔW; x ← x + ½(f(x) + f(x̃))·dt + g·ΔW), the additive-noise stochastic Heun
    /// scheme; its SDE accuracy is that of Euler–Maruyama (strong order 1), not 2.
    Heun,
    "heun",
    HEUN
);

fixed_step_integrator!(
    /// The classical fourth-order Runge–Kutta method, four drift evaluations per step. Meant for
    /// ODEs (e.g. probability-flow sampling); with noise it follows the straight-line Brownian rule
    /// of [`crate::butcher`] and is then no more accurate than Euler–Maruyama.
    Rk4,
    "rk4",
    RK4
);
