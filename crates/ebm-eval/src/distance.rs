//! Two-sample distances between model samples and data, as the TorchEBM anchor measures them
//! (`shared/anchors/torchebm/metrics.py`): unbiased MMD² with an RBF kernel and the energy
//! distance. Sums run in f64; the rows are split over rayon's pool, and their sums are added in
//! row order, so the result does not depend on how rayon split the work (a parallel `sum()`
//! does: a resumed run's `eval.json` once differed from the uninterrupted run's in the last
//! digits of the floor).

use rayon::prelude::*;

/// Σ over pairs (i ∈ a, j ∈ b, skipping i = j when `same`) of f(‖aᵢ − bⱼ‖²).
fn pair_sum(a: &[f32], b: &[f32], dim: usize, same: bool, f: impl Fn(f64) -> f64 + Sync) -> f64 {
    a.par_chunks(dim)
        .enumerate()
        .map(|(i, x)| {
            b.chunks(dim)
                .enumerate()
                .filter(|(j, _)| !(same && *j == i))
                .map(|(_, y)| {
                    f(x.iter()
                        .zip(y)
                        .map(|(p, q)| (*p as f64 - *q as f64).powi(2))
                        .sum())
                })
                .sum::<f64>()
        })
        .collect::<Vec<f64>>()
        .into_iter()
        .sum()
}

/// Unbiased MMD² with k(a, b) = exp(−‖a − b‖² / (2·bandwidth²)). `x` and `y` are row-major
/// `n×dim` and `m×dim`.
pub fn mmd2_rbf(x: &[f32], y: &[f32], dim: usize, bandwidth: f64) -> f64 {
    let (n, m) = ((x.len() / dim) as f64, (y.len() / dim) as f64);
    let gamma = 1.0 / (2.0 * bandwidth * bandwidth);
    let k = |d2: f64| (-gamma * d2).exp();
    pair_sum(x, x, dim, true, k) / (n * (n - 1.0)) + pair_sum(y, y, dim, true, k) / (m * (m - 1.0))
        - 2.0 * pair_sum(x, y, dim, false, k) / (n * m)
}

/// Energy distance 2·E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ (within-sample terms as U-statistics).
pub fn energy_distance(x: &[f32], y: &[f32], dim: usize) -> f64 {
    let (n, m) = ((x.len() / dim) as f64, (y.len() / dim) as f64);
    let d = |d2: f64| d2.sqrt();
    2.0 * pair_sum(x, y, dim, false, d) / (n * m)
        - pair_sum(x, x, dim, true, d) / (n * (n - 1.0))
        - pair_sum(y, y, dim, true, d) / (m * (m - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_case() {
        // x = {0, 1}, y = {3} in 1-D with bandwidth 1: k(0,1) = e^{-1/2}; y has one point, so
        // its within term is 0/0 — use two y points instead: y = {3, 3}.
        let x = [0.0f32, 1.0];
        let y = [3.0f32, 3.0];
        let k = |d: f64| (-d * d / 2.0).exp();
        let expected =
            (2.0 * k(1.0)) / 2.0 + (2.0 * k(0.0)) / 2.0 - 2.0 * (2.0 * k(3.0) + 2.0 * k(2.0)) / 4.0;
        assert!((mmd2_rbf(&x, &y, 1, 1.0) - expected).abs() < 1e-12);
        let ed = 2.0 * (3.0 + 3.0 + 2.0 + 2.0) / 4.0 - 2.0 / 2.0 - 0.0;
        assert!((energy_distance(&x, &y, 1) - ed).abs() < 1e-12);
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let mut r = ebm_core::rng::stream(1, "t", 0);
        let a = ebm_core::rng::normal_vec(&mut r, 4000);
        let b = ebm_core::rng::normal_vec(&mut r, 4000);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| (mmd2_rbf(&a, &b, 2, 0.5), energy_distance(&a, &b, 2)))
        };
        let one = on(1);
        for threads in [2, 3, 7] {
            assert_eq!(one, on(threads), "{threads} threads");
        }
    }

    #[test]
    fn same_distribution_is_near_zero_and_shifted_is_not() {
        let mut r = ebm_core::rng::stream(0, "t", 0);
        let a = ebm_core::rng::normal_vec(&mut r, 1000);
        let b = ebm_core::rng::normal_vec(&mut r, 1000);
        let c: Vec<f32> = b.iter().map(|v| v + 1.0).collect();
        assert!(mmd2_rbf(&a, &b, 2, 0.5).abs() < 0.01);
        // Closed form for N(0, I) vs N(μ, I), d = 2, σ = 0.5: 2·s·(1 − exp(−‖μ‖²/(2(σ²+2)))) with
        // s = σ²/(σ²+2) = 1/9 and ‖μ‖² = 2, i.e. 0.0799.
        let exact = 2.0 / 9.0 * (1.0 - (-2.0f64 / 4.5).exp());
        assert!(
            (mmd2_rbf(&a, &c, 2, 0.5) - exact).abs() < 0.015,
            "{}",
            mmd2_rbf(&a, &c, 2, 0.5)
        );
        assert!(energy_distance(&a, &c, 2) > 10.0 * energy_distance(&a, &b, 2).abs());
    }
}
