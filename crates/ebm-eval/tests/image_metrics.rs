//! Fréchet distance, KID and AUROC against independent computations: closed forms for
//! Gaussians (the 2×2 trace identity tr√M = √(tr M + 2√det M) instead of any matrix square
//! root), a hand-computed MMD² and AUROC with ties, and brute-force pair counting.

use ebm_core::rng;
use ebm_eval::image_metrics::{
    auroc, frechet_distance, frechet_distance_from_stats, kid, mmd2_polynomial, KidConfig,
};
use nalgebra::{DMatrix, DVector};
use rand::Rng as _;

/// Closed-form Fréchet distance of two 2-D Gaussians: for SPD 2×2 M with eigenvalues λ₁, λ₂,
/// (√λ₁ + √λ₂)² = tr M + 2√det M, and M = Σ₁^{1/2}Σ₂Σ₁^{1/2} has tr M = tr Σ₁Σ₂,
/// det M = det Σ₁ det Σ₂.
fn closed_form_2d(mu1: [f64; 2], s1: [f64; 4], mu2: [f64; 2], s2: [f64; 4]) -> f64 {
    let det = |s: [f64; 4]| s[0] * s[3] - s[1] * s[2];
    let tr_prod = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
    let tr_sqrt = (tr_prod + 2.0 * (det(s1) * det(s2)).sqrt()).sqrt();
    (mu1[0] - mu2[0]).powi(2) + (mu1[1] - mu2[1]).powi(2) + s1[0] + s1[3] + s2[0] + s2[3]
        - 2.0 * tr_sqrt
}

/// n draws of N(μ, Σ) for a 2×2 Σ, by its Cholesky factor.
fn gaussian_2d(n: usize, mu: [f64; 2], s: [f64; 4], seed: u64) -> Vec<f32> {
    let l11 = s[0].sqrt();
    let l21 = s[2] / l11;
    let l22 = (s[3] - l21 * l21).sqrt();
    let z = rng::normal_vec(&mut rng::stream(seed, "test", 0), 2 * n);
    z.chunks(2)
        .flat_map(|z| {
            let (a, b) = (f64::from(z[0]), f64::from(z[1]));
            [(mu[0] + l11 * a) as f32, (mu[1] + l21 * a + l22 * b) as f32]
        })
        .collect()
}

fn stats(mu: &[f64], s: &[f64]) -> (DVector<f64>, DMatrix<f64>) {
    let d = mu.len();
    (
        DVector::from_column_slice(mu),
        DMatrix::from_row_slice(d, d, s),
    )
}

#[test]
fn frechet_from_stats_matches_closed_forms() {
    // Diagonal, 3-D: Σᵢ (√aᵢ − √bᵢ)² + ‖μ₁ − μ₂‖².
    let (a, b) = ([1.0, 4.0, 0.25], [9.0, 1.0, 0.25]);
    let (m1, s1) = stats(
        &[0.0, 1.0, 2.0],
        &[a[0], 0.0, 0.0, 0.0, a[1], 0.0, 0.0, 0.0, a[2]],
    );
    let (m2, s2) = stats(
        &[1.0, 1.0, 0.0],
        &[b[0], 0.0, 0.0, 0.0, b[1], 0.0, 0.0, 0.0, b[2]],
    );
    let want: f64 = 1.0
        + 4.0
        + (0..3)
            .map(|i| (a[i].sqrt() - b[i].sqrt()).powi(2))
            .sum::<f64>();
    let got = frechet_distance_from_stats(&m1, &s1, &m2, &s2).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    // Non-diagonal, 2-D, with strongly correlated Σ₁ and anti-correlated Σ₂.
    let (mu1, c1, mu2, c2) = (
        [0.5, -1.0],
        [2.0, 1.2, 1.2, 1.0],
        [-0.5, 0.0],
        [0.5, -0.3, -0.3, 1.5],
    );
    let want = closed_form_2d(mu1, c1, mu2, c2);
    let (m1, s1) = stats(&mu1, &c1);
    let (m2, s2) = stats(&mu2, &c2);
    let got = frechet_distance_from_stats(&m1, &s1, &m2, &s2).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    // Symmetric, and zero against itself.
    let back = frechet_distance_from_stats(&m2, &s2, &m1, &s1).unwrap();
    assert!((back - want).abs() < 1e-9);
    assert!(frechet_distance_from_stats(&m1, &s1, &m1, &s1).unwrap() < 1e-9);
}

#[test]
fn frechet_of_samples_matches_the_closed_form() {
    let n = 20_000;
    for (mu1, c1, mu2, c2) in [
        (
            [0.0, 0.0],
            [1.0, 0.0, 0.0, 2.0],
            [1.0, -0.5],
            [3.0, 0.0, 0.0, 0.5],
        ),
        (
            [0.5, -1.0],
            [2.0, 1.2, 1.2, 1.0],
            [-0.5, 0.0],
            [0.5, -0.3, -0.3, 1.5],
        ),
    ] {
        let a = gaussian_2d(n, mu1, c1, 1);
        let b = gaussian_2d(n, mu2, c2, 2);
        let got = frechet_distance(&a, &b, 2).unwrap();
        let want = closed_form_2d(mu1, c1, mu2, c2);
        assert!((got - want).abs() < 0.05 * want.max(1.0), "{got} vs {want}");
    }
}

#[test]
fn frechet_halves_are_close_and_a_shift_is_far() {
    let s = [2.0, 1.2, 1.2, 1.0];
    let x = gaussian_2d(10_000, [0.0, 0.0], s, 3);
    let (a, b) = x.split_at(x.len() / 2);
    let halves = frechet_distance(a, b, 2).unwrap();
    let shifted: Vec<f32> = b.iter().map(|v| v + 1.0).collect();
    let far = frechet_distance(a, &shifted, 2).unwrap();
    assert!(halves < 0.01, "halves {halves}");
    assert!((far - 2.0).abs() < 0.1, "shift by (1, 1): {far}");
    assert!(frechet_distance(a, &[1.0, f32::NAN, 0.0, 0.0], 2).is_err());
    assert!(frechet_distance(a, &[1.0, 2.0, 3.0], 2).is_err());
}

#[test]
fn mmd2_matches_a_hand_computed_example() {
    // d = 1, k(x, y) = (xy + 1)³: within {0, 1} = k(0, 1) = 1, within {1, 2} = k(1, 2) = 27,
    // cross = (1 + 1 + 8 + 27)/4 = 9.25, so MMD² = 1 + 27 − 18.5.
    let got = mmd2_polynomial(&[0.0, 1.0], &[1.0, 2.0], 1).unwrap();
    assert!((got - 9.5).abs() < 1e-12, "{got}");
}

#[test]
fn kid_is_near_zero_for_one_distribution_and_positive_for_a_shift() {
    let d = 8;
    let mut r = rng::stream(5, "kid-test", 0);
    let normal = |r: &mut rng::Rng, n: usize, shift: f32| -> Vec<f32> {
        rng::normal_vec(r, n * d)
            .into_iter()
            .map(|v| v + shift)
            .collect()
    };
    let a = normal(&mut r, 600, 0.0);
    let b = normal(&mut r, 600, 0.0);
    let c = normal(&mut r, 600, 0.5);
    let cfg = KidConfig {
        subsets: 20,
        subset_size: 200,
        seed: 1,
    };
    let same = kid(&a, &b, d, &cfg).unwrap();
    let shifted = kid(&a, &c, d, &cfg).unwrap();
    eprintln!("KID same {same:?}, shifted {shifted:?}");
    assert!(same.mean.abs() < same.std.max(1e-3), "{same:?}");
    assert!(
        shifted.mean > 0.05 && shifted.mean > 5.0 * shifted.std,
        "{shifted:?}"
    );
    assert_eq!(kid(&a, &c, d, &cfg).unwrap(), shifted, "seeded");
    assert!(kid(&a, &c, d, &KidConfig { subsets: 0, ..cfg }).is_err());
}

#[test]
fn auroc_is_mann_whitney() {
    assert_eq!(auroc(&[3.0, 4.0, 5.0], &[0.0, 1.0, 2.0]).unwrap(), 1.0);
    assert_eq!(auroc(&[0.0, 1.0, 2.0], &[3.0, 4.0, 5.0]).unwrap(), 0.0);
    assert_eq!(auroc(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap(), 0.5);
    assert_eq!(auroc(&[7.0; 4], &[7.0; 9]).unwrap(), 0.5);
    // By hand: 1 beats 0 (1 win); each 2 beats 0 and ties both 2s (2 each); 3 beats all (3).
    // (1 + 2 + 2 + 3) / (4 · 3) = 2/3.
    let got = auroc(&[1.0, 2.0, 2.0, 3.0], &[2.0, 0.0, 2.0]).unwrap();
    assert!((got - 2.0 / 3.0).abs() < 1e-12, "{got}");
    // Brute-force pair counting on integer scores with many ties.
    let mut r = rng::stream(9, "auroc", 0);
    let pos: Vec<f64> = (0..57)
        .map(|_| f64::from(r.random_range(0..10u8)))
        .collect();
    let neg: Vec<f64> = (0..43).map(|_| f64::from(r.random_range(0..8u8))).collect();
    let pairs: f64 = pos
        .iter()
        .flat_map(|p| {
            neg.iter().map(move |n| {
                if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    let want = pairs / (57.0 * 43.0);
    assert!((auroc(&pos, &neg).unwrap() - want).abs() < 1e-12);
    assert!(auroc(&[], &[1.0]).is_err());
    assert!(auroc(&[f64::NAN], &[1.0]).is_err());
}
