//! Seeded weight initialisation (candle's VarMap init draws from its unseeded RNG).

use candle_core::{Device, Result, Tensor};
use ebm_core::Rng;
use rand::Rng as _;

/// U(−1/√fan_in, 1/√fan_in), PyTorch's default for `nn.Linear` weights and biases, so our MLP
/// starts where the reference implementations start.
pub fn linear_uniform(
    rng: &mut Rng,
    shape: &[usize],
    fan_in: usize,
    device: &Device,
) -> Result<Tensor> {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rng.random_range(-bound..bound) as f32)
        .collect();
    Tensor::from_vec(v, shape, device)
}
