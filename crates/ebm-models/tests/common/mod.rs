//! What the image-energy tests share: seeded images and comparing tensors.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use ebm_core::{rng, Energy};

/// Seeded images uniform on [−1, 1] of `shape`, in `dtype`.
pub fn images(seed: u64, shape: &[usize], dtype: DType) -> Tensor {
    let mut r = rng::stream(seed, "test-images", 0);
    rng::rand_uniform(&mut r, shape, -1.0, 1.0, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// Every entry of `t`, flattened, in f64.
pub fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// max |a − b| / max |b|
pub fn relative_error(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (values(a), values(b));
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-300);
    let worst = a
        .iter()
        .zip(&b)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    worst / scale
}

/// Central differences of Σ_b E(x_b) in x's dtype (each image's energy depends only on that
/// image, so this is every row's ∇ₓE at once).
pub fn finite_difference_grad(e: &dyn Energy, x: &Tensor) -> Vec<f64> {
    let h = 1e-5;
    let base = values(x);
    let total = |v: &[f64]| {
        let t = Tensor::from_slice(v, x.dims(), x.device()).unwrap();
        values(&e.energy(&t).unwrap()).iter().sum::<f64>()
    };
    (0..base.len())
        .map(|i| {
            let (mut plus, mut minus) = (base.clone(), base.clone());
            plus[i] += h;
            minus[i] -= h;
            (total(&plus) - total(&minus)) / (2.0 * h)
        })
        .collect()
}
