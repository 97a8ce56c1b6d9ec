//! Shared by the integrator tests: reference ODEs with known solutions.

use candle_core::{Device, Tensor};
use ebm_core::Result;

/// dx/dt = A x with A the rotation generator [[0, −1], [1, 0]] on rows `[q, p]` of a `[B, 2]`
/// state; its solution rotates each row by angle t.
pub fn rotation(x: &Tensor, _t: f64) -> Result<Tensor> {
    let (a, b) = (x.narrow(1, 0, 1)?, x.narrow(1, 1, 1)?);
    Ok(Tensor::cat(&[&b.neg()?, &a], 1)?)
}

pub fn start() -> Tensor {
    Tensor::new(&[[1.0f64, 0.0], [0.3, -0.7]], &Device::Cpu).unwrap()
}

/// The exact solution of [`rotation`] from [`start`] at time `t`.
pub fn rotated(t: f64) -> Tensor {
    let (c, s) = (t.cos(), t.sin());
    let rows: Vec<f64> = [[1.0f64, 0.0], [0.3, -0.7]]
        .iter()
        .flat_map(|[a, b]| [c * a - s * b, s * a + c * b])
        .collect();
    Tensor::from_vec(rows, (2, 2), &Device::Cpu).unwrap()
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a - b).unwrap().abs().unwrap();
    d.max_all().unwrap().to_scalar::<f64>().unwrap()
}
