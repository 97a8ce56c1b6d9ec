//! Eight Gaussians and the ring mixture: clusters where they belong, balanced, with spread std.

use crate::{draw, mean_std, nearest, pairs};
use ebm_data::{DataConfig, EightGaussians, GaussianMixture};
use std::f64::consts::TAU;

/// Checks `n` points against `centres`: each cluster holds ~n/k points (within 4 binomial
/// standard errors), is centred on its centre and has per-coordinate spread ~std.
fn check_clusters(pts: &[[f64; 2]], centres: &[[f64; 2]], std: f64) {
    let k = centres.len();
    let n = pts.len() as f64;
    let mut clusters = vec![Vec::new(); k];
    for &p in pts {
        clusters[nearest(p, centres)].push(p);
    }
    let p = 1.0 / k as f64;
    let se = (n * p * (1.0 - p)).sqrt();
    for (c, members) in centres.iter().zip(&clusters) {
        let count = members.len() as f64;
        assert!((count - n * p).abs() <= 4.0 * se, "{count} points at {c:?}");
        let (mean, sd) = mean_std(members);
        let tol = 5.0 * std / count.sqrt();
        assert!(
            (mean[0] - c[0]).abs() < tol && (mean[1] - c[1]).abs() < tol,
            "{mean:?}"
        );
        for s in sd {
            assert!((s / std - 1.0).abs() < 0.1, "spread {s} vs std {std}");
        }
        // Nothing strays: a point farther than 6 std from its centre would be a bug.
        for m in members {
            assert!((m[0] - c[0]).hypot(m[1] - c[1]) < 6.0 * std);
        }
    }
}

fn ring(k: usize, radius: f64) -> Vec<[f64; 2]> {
    (0..k)
        .map(|i| {
            let a = TAU * i as f64 / k as f64;
            [radius * a.cos(), radius * a.sin()]
        })
        .collect()
}

#[test]
fn eight_gaussians_sit_at_radius_scale() {
    for (std, scale) in [(0.02, 2.0), (0.1, 3.0)] {
        let config = DataConfig::EightGaussians(EightGaussians {
            n_samples: 4000,
            std,
            scale,
        });
        let pts = pairs(&draw(&config, 4000, 11));
        // The compass points and diagonals are the ring of 8 (in another order).
        check_clusters(&pts, &ring(8, scale), std);
    }
}

#[test]
fn mixture_has_n_components_on_the_ring() {
    for (k, std, radius) in [
        (8, 0.05, 1.0),
        (5, 0.05, 2.0),
        (1, 0.2, 1.0),
        (12, 0.03, 4.0),
    ] {
        let config = DataConfig::GaussianMixture(GaussianMixture {
            n_samples: 3000,
            n_components: k,
            std,
            radius,
        });
        let pts = pairs(&draw(&config, 3000, 12));
        check_clusters(&pts, &ring(k, radius), std);
    }
}

#[test]
fn rows_are_shuffled() {
    // The generator fills components in order; the first 80 rows must not all share one.
    let config = DataConfig::with_defaults("eight_gaussians").expect("kind");
    let pts = pairs(&draw(&config, 2000, 13));
    let first = nearest(pts[0], &ring(8, 2.0));
    assert!(pts[..80]
        .iter()
        .any(|&p| nearest(p, &ring(8, 2.0)) != first));
}
