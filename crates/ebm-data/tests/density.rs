//! The true log-densities of the 2-D sets: they integrate to one, agree with Monte Carlo
//! estimates of the generator's latent integral, and predict where the generator's own i.i.d.
//! samples fall (a χ² test on a 10×10 histogram).

use ebm_data::DataConfig;
use rand::SeedableRng;

/// The eight planar kinds: `KINDS` lists them first, then the image sets.
fn planar() -> &'static [&'static str] {
    &DataConfig::KINDS[..8]
}

/// Each kind at its defaults, except the Swiss roll: its default noise (0.05 before the
/// normalisation by ~26) makes a band 0.002 wide, which a test grid cannot afford; noise 1.0
/// (0.04 wide) runs the same formulas.
fn config(kind: &str) -> DataConfig {
    match kind {
        "swiss_roll" => toml::from_str("kind = \"swiss_roll\"\nnoise = 1.0").unwrap(),
        _ => DataConfig::with_defaults(kind).expect("known kind"),
    }
}

/// The grid step a density needs: the midpoint rule integrates a smooth density that vanishes
/// at the box's edges to ~e^(−2π²σ²/h²) at step h, 1e-4 at h = 1.5σ.
fn feature_scale(kind: &str) -> f64 {
    match kind {
        "pinwheel" => 0.075,
        "two_spirals" => 0.15,
        "eight_gaussians" => 0.02,
        "checkerboard" => 0.25, // noise 0: unit squares, integrated exactly by aligned midpoints
        "swiss_roll" => 0.02,
        _ => 0.05,
    }
}

/// Midpoints of a grid of cells of side `h` covering `[x0, x1] × [y0, y1]`.
fn midpoints(b: [f64; 4], h: f64) -> (Vec<[f64; 2]>, f64) {
    let nx = ((b[1] - b[0]) / h).ceil() as usize;
    let ny = ((b[3] - b[2]) / h).ceil() as usize;
    let pts = (0..ny)
        .flat_map(|j| {
            (0..nx).map(move |i| [b[0] + (i as f64 + 0.5) * h, b[2] + (j as f64 + 0.5) * h])
        })
        .collect();
    (pts, h * h)
}

/// A box holding all but a negligible part of the mass: the plot window, widened by 4 noise
/// widths more (the window already adds 4), aligned to the checkerboard's squares.
fn mass_box(c: &DataConfig) -> [f64; 4] {
    let b = c.plot_bounds().map(f64::from);
    let pad = 0.25;
    [
        (b[0] - pad).floor(),
        (b[1] + pad).ceil(),
        (b[2] - pad).floor(),
        (b[3] + pad).ceil(),
    ]
}

#[test]
fn every_density_integrates_to_one() {
    for &kind in planar() {
        let c = config(kind);
        let (pts, cell) = midpoints(mass_box(&c), feature_scale(kind));
        let logp = c.log_density(&pts).expect("a density");
        let total: f64 = logp.iter().map(|l| l.exp()).sum::<f64>() * cell;
        assert!((total - 1.0).abs() <= 1e-3, "{kind}: ∫p = {total}");
    }
}

/// p(x) = E over the noiseless generator's points y of N(x − y; σ²I), estimated from 200,000
/// draws of the generator run with its noise set to zero, at points on and near the data.
#[test]
fn densities_match_monte_carlo_over_the_latent() {
    let cases = [
        ("two_moons", r#"kind = "two_moons""#, 0.05),
        ("circles", r#"kind = "circles""#, 0.05),
        ("pinwheel", r#"kind = "pinwheel""#, 0.05),
        ("two_spirals", r#"kind = "two_spirals""#, 0.1),
        ("checkerboard", r#"kind = "checkerboard""#, 0.1),
    ];
    for (kind, base, sigma) in cases {
        let noisy: DataConfig = toml::from_str(&format!("{base}\nnoise = {sigma}")).unwrap();
        let clean: DataConfig = toml::from_str(&format!("{base}\nnoise = 0.0")).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let latent = clean.sample_iid(200_000, &mut rng).unwrap();
        let probe = noisy.sample_iid(12, &mut rng).unwrap();
        let probe: Vec<[f64; 2]> = probe.rows().map(|r| [r[0] as f64, r[1] as f64]).collect();
        let exact = noisy.log_density(&probe).unwrap();
        for (x, lp) in probe.iter().zip(exact) {
            let ks: Vec<f64> = latent
                .rows()
                .map(|y| {
                    let (dx, dy) = (x[0] - y[0] as f64, x[1] - y[1] as f64);
                    (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp()
                        / (2.0 * std::f64::consts::PI * sigma * sigma)
                })
                .collect();
            let n = ks.len() as f64;
            let mean = ks.iter().sum::<f64>() / n;
            let se = (ks.iter().map(|k| (k - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
            let p = lp.exp();
            assert!(
                (p - mean).abs() <= 4.0 * se + 1e-3 * p,
                "{kind} at {x:?}: exact {p}, Monte Carlo {mean} ± {se}"
            );
        }
    }
}

/// 50,000 i.i.d. generator samples binned 10×10: counts against the density's cell masses.
#[test]
fn densities_predict_the_generators_histogram() {
    for &kind in planar() {
        let c = config(kind);
        let b = mass_box(&c);
        let bins = 10;
        let (wx, wy) = ((b[1] - b[0]) / bins as f64, (b[3] - b[2]) / bins as f64);
        let n = 50_000;
        let mut counts = vec![0usize; bins * bins];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for r in c.sample_iid(n, &mut rng).unwrap().rows() {
            let i = ((r[0] as f64 - b[0]) / wx).floor();
            let j = ((r[1] as f64 - b[2]) / wy).floor();
            if (0.0..bins as f64).contains(&i) && (0.0..bins as f64).contains(&j) {
                counts[j as usize * bins + i as usize] += 1;
            }
        }
        // Cell masses by midpoints at the feature scale (finer where the density is cheap: a
        // cell edge through a Gaussian costs the midpoint rule ~(h/σ)²/24 of the cell's mass).
        let refine = match kind {
            "eight_gaussians" | "gaussian_mixture" => 4.0,
            _ => 1.0,
        };
        let sub = (refine * wx.max(wy) / feature_scale(kind)).ceil().max(4.0) as usize;
        let (hx, hy) = (wx / sub as f64, wy / sub as f64);
        let mut pts = Vec::new();
        for cj in 0..bins {
            for ci in 0..bins {
                for v in 0..sub {
                    for u in 0..sub {
                        pts.push([
                            b[0] + ci as f64 * wx + (u as f64 + 0.5) * hx,
                            b[2] + cj as f64 * wy + (v as f64 + 0.5) * hy,
                        ]);
                    }
                }
            }
        }
        let logp = c.log_density(&pts).unwrap();
        let per_cell = sub * sub;
        let (mut chi2, mut df) = (0.0, 0usize);
        for (cell, count) in counts.iter().enumerate() {
            let mass: f64 = logp[cell * per_cell..(cell + 1) * per_cell]
                .iter()
                .map(|l| l.exp())
                .sum::<f64>()
                * hx
                * hy;
            let expected = mass * n as f64;
            if expected >= 5.0 {
                chi2 += (*count as f64 - expected).powi(2) / expected;
                df += 1;
            } else {
                assert!(
                    *count <= 20,
                    "{kind}: cell {cell} expected {expected:.2}, got {count}"
                );
            }
        }
        let limit = df as f64 + 6.0 * (2.0 * df as f64).sqrt();
        assert!(
            chi2 < limit,
            "{kind}: χ² = {chi2:.1} over {df} cells (limit {limit:.1})"
        );
    }
}

#[test]
fn a_wrong_density_fails_the_histogram_statistic() {
    // The check above has teeth: two moons' samples against twice the noise give a huge χ².
    let c = config("two_moons");
    let wide: DataConfig = toml::from_str("kind = \"two_moons\"\nnoise = 0.1").unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let pts: Vec<[f64; 2]> = c
        .sample_iid(5000, &mut rng)
        .unwrap()
        .rows()
        .map(|r| [r[0] as f64, r[1] as f64])
        .collect();
    let right: f64 = c.log_density(&pts).unwrap().iter().sum::<f64>() / 5000.0;
    let wrong: f64 = wide.log_density(&pts).unwrap().iter().sum::<f64>() / 5000.0;
    // The true density scores its own samples higher (Gibbs' inequality), by a clear margin.
    assert!(right > wrong + 0.2, "{right} vs {wrong}");
}

#[test]
fn two_moons_true_log_likelihood_is_about_minus_0_29() {
    // The issue's figure from numerical integration over the arc parameter.
    let c = config("two_moons");
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let pts: Vec<[f64; 2]> = c
        .sample_iid(20_000, &mut rng)
        .unwrap()
        .rows()
        .map(|r| [r[0] as f64, r[1] as f64])
        .collect();
    let mean = c.log_density(&pts).unwrap().iter().sum::<f64>() / pts.len() as f64;
    assert!((mean + 0.29).abs() < 0.03, "{mean}");
}

#[test]
fn degenerate_and_image_sets_have_no_density() {
    let curve: DataConfig = toml::from_str("kind = \"two_moons\"\nnoise = 0.0").unwrap();
    let err = curve.log_density(&[[0.0, 0.0]]).unwrap_err().to_string();
    assert!(err.contains("data.noise"), "{err}");
    assert!(!curve.has_log_density());
    let board: DataConfig = toml::from_str("kind = \"checkerboard\"").unwrap();
    assert!(
        board.has_log_density(),
        "noise 0 is a uniform density on the squares"
    );
    let lp = board.log_density(&[[0.5, 0.5], [-0.5, 0.5]]).unwrap();
    assert!(
        lp[0] == f64::NEG_INFINITY && (lp[1] + 32f64.ln()).abs() < 1e-12,
        "{lp:?}"
    );
    let images = config("fashion_mnist");
    assert!(images.log_density(&[[0.0, 0.0]]).is_err());
}

#[test]
fn iid_reference_sets_differ_by_seed_and_follow_no_layout() {
    let c = config("two_moons");
    let a = c
        .sample_iid(1000, &mut rand::rngs::StdRng::seed_from_u64(1))
        .unwrap();
    let b = c
        .sample_iid(1000, &mut rand::rngs::StdRng::seed_from_u64(1))
        .unwrap();
    let d = c
        .sample_iid(1000, &mut rand::rngs::StdRng::seed_from_u64(2))
        .unwrap();
    assert_eq!(a.data, b.data, "seeded");
    assert_ne!(a.data, d.data);
    // The moon sizes vary like a binomial, not exactly 500/500 as in the reference layout.
    let upper = |p: &ebm_data::Points| p.rows().filter(|r| r[1] as f64 > 0.25 + 0.0).count();
    let counts: Vec<usize> = (0..20)
        .map(|s| {
            upper(
                &c.sample_iid(1000, &mut rand::rngs::StdRng::seed_from_u64(s))
                    .unwrap(),
            )
        })
        .collect();
    let distinct: std::collections::BTreeSet<usize> = counts.iter().cloned().collect();
    assert!(distinct.len() > 5, "{counts:?}");
}
