//! AIS against numerical integration. The grid integral is first checked on a Gaussian whose
//! log Z is known in closed form; then AIS must land within 0.05 of the grid value on 2-D
//! Gaussian mixtures with unequal weights, unequal widths and one far mode — once normalised
//! (log Z = 0) and once sharpened (E·1.5, no closed form) — and the log-likelihood helper must
//! agree with −E(x) − log Z.

use candle_core::{DType, Device, Tensor};
use ebm_core::{Energy, Result};
use ebm_eval::ais::{ais_log_z, mean_log_likelihood, weight_summary, AisConfig, AisSchedule};
use ebm_models::analytic::{Gaussian, GaussianMixture};

/// log ∫ exp(−E) over the square [lo, hi]² by the midpoint rule with step `h` (spectrally
/// accurate for smooth integrands that vanish at the edges), evaluated in f64.
fn grid_log_z(energy: &dyn Energy, lo: f64, hi: f64, h: f64) -> f64 {
    let n = ((hi - lo) / h).round() as usize;
    let centres: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
    let mut terms = Vec::with_capacity(n * n);
    for rows in centres.chunks(64) {
        let pts: Vec<f64> = rows
            .iter()
            .flat_map(|&y| centres.iter().flat_map(move |&x| [x, y]))
            .collect();
        let len = pts.len() / 2;
        let x = Tensor::from_vec(pts, (len, 2), &Device::Cpu).unwrap();
        let e = energy.energy(&x).unwrap().to_vec1::<f64>().unwrap();
        terms.extend(e.into_iter().map(|e| -e));
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln() + 2.0 * h.ln()
}

fn mixture() -> GaussianMixture {
    GaussianMixture::new(
        vec![
            vec![0.0, 0.0],
            vec![2.0, 1.0],
            vec![-1.5, 2.0],
            vec![6.0, -5.0],
        ],
        vec![0.5, 0.8, 0.3, 0.6],
        vec![0.4, 0.3, 0.2, 0.1],
    )
    .unwrap()
}

/// exp(−s·E): a sharpened mixture, whose log Z only the grid knows.
struct Scaled<E>(E, f64);

impl<E: Energy> Energy for Scaled<E> {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        Ok((self.0.energy(x)? * self.1)?)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (e, g) = self.0.energy_and_grad(x)?;
        Ok(((e * self.1)?, (g * self.1)?))
    }
}

fn config() -> AisConfig {
    AisConfig {
        temperatures: 1000,
        chains: 512,
        base_std: 4.0,
        mala_steps: 4,
        seed: 11,
        ..AisConfig::default()
    }
}

#[test]
fn grid_integral_matches_a_gaussian_closed_form() {
    let cov = vec![0.7, 0.3, 0.3, 0.4];
    let g = Gaussian::new(vec![0.5, -1.0], cov.clone()).unwrap();
    let det: f64 = cov[0] * cov[3] - cov[1] * cov[2];
    let exact = (2.0 * std::f64::consts::PI).ln() + 0.5 * det.ln();
    let grid = grid_log_z(&g, -8.0, 8.0, 0.04);
    assert!((grid - exact).abs() < 1e-6, "grid {grid} vs exact {exact}");
}

#[test]
fn ais_matches_the_grid_on_mixtures() {
    let t0 = std::time::Instant::now();
    let gm = mixture();
    let grid = grid_log_z(&gm, -12.0, 12.0, 0.03);
    assert!(
        grid.abs() < 1e-6,
        "a normalised mixture has log Z = 0, grid says {grid}"
    );
    let est = ais_log_z(&gm, &[2], &Device::Cpu, &config()).unwrap();
    eprintln!(
        "mixture: grid {grid:.5}, AIS {est:?}",
        est = (est.log_z, est.std_err, est.ess, est.acceptance)
    );
    assert!(
        (est.log_z - grid).abs() < 0.05,
        "AIS {} vs grid {grid}",
        est.log_z
    );
    assert!(
        est.std_err < 0.05 && est.ess > 20.0,
        "{:?}",
        (est.std_err, est.ess)
    );
    assert!(est.acceptance > 0.3, "acceptance {}", est.acceptance);

    let sharp = Scaled(mixture(), 1.5);
    let grid = grid_log_z(&sharp, -12.0, 12.0, 0.03);
    let cfg = AisConfig {
        schedule: AisSchedule::Linear,
        seed: 12,
        ..config()
    };
    let est = ais_log_z(&sharp, &[2], &Device::Cpu, &cfg).unwrap();
    eprintln!(
        "sharpened: grid {grid:.5}, AIS {est:?}",
        est = (est.log_z, est.std_err, est.ess, est.acceptance)
    );
    assert!(
        (est.log_z - grid).abs() < 0.05,
        "AIS {} vs grid {grid}",
        est.log_z
    );
    eprintln!("ais test took {:?}", t0.elapsed());
}

#[test]
fn log_likelihood_of_data_uses_the_estimate() {
    let gm = mixture();
    let cfg = AisConfig {
        temperatures: 200,
        ..config()
    };
    let est = ais_log_z(&gm, &[2], &Device::Cpu, &cfg).unwrap();
    let data = Tensor::new(&[[0.1f32, 0.2], [2.0, 1.0], [6.0, -5.5]], &Device::Cpu).unwrap();
    let ll = mean_log_likelihood(&gm, &data, &est).unwrap();
    let e = gm.energy(&data.to_dtype(DType::F64).unwrap()).unwrap();
    let exact = -e.to_vec1::<f64>().unwrap().iter().sum::<f64>() / 3.0;
    assert!((ll - (exact - est.log_z)).abs() < 1e-4);
    assert!(
        (ll - exact).abs() < 0.1,
        "ll {ll} vs exact {exact} (log Ẑ {})",
        est.log_z
    );
}

#[test]
fn same_seed_same_estimate_and_bad_config_is_an_error() {
    let gm = mixture();
    let cfg = AisConfig {
        temperatures: 20,
        chains: 8,
        ..config()
    };
    let a = ais_log_z(&gm, &[2], &Device::Cpu, &cfg).unwrap();
    let b = ais_log_z(&gm, &[2], &Device::Cpu, &cfg).unwrap();
    assert_eq!(a, b);
    for bad in [
        AisConfig {
            chains: 1,
            ..cfg.clone()
        },
        AisConfig {
            temperatures: 0,
            ..cfg.clone()
        },
        AisConfig {
            base_std: f64::NAN,
            ..cfg.clone()
        },
        AisConfig {
            step_size: 0.0,
            ..cfg.clone()
        },
    ] {
        assert!(ais_log_z(&gm, &[2], &Device::Cpu, &bad).is_err(), "{bad:?}");
    }
    assert!(
        ais_log_z(&gm, &[3], &Device::Cpu, &cfg).is_err(),
        "wrong dimension"
    );
}

#[test]
fn weight_summary_is_log_mean_exp_with_ess() {
    let (lme, se, ess) = weight_summary(&[0.0, 0.0, 0.0, 0.0]).unwrap();
    assert!(lme.abs() < 1e-12 && se.abs() < 1e-12 && (ess - 4.0).abs() < 1e-12);
    let (lme, _, ess) = weight_summary(&[1000.0, 1000.0 + 2f64.ln()]).unwrap();
    assert!((lme - (1000.0 + 1.5f64.ln())).abs() < 1e-9);
    assert!((ess - 9.0 / 5.0).abs() < 1e-9);
    assert!(weight_summary(&[f64::NAN, 0.0]).is_err());
    assert!(weight_summary(&[0.0]).is_err());
}
