//! The density measures of 2-D runs: grid log Z against closed forms, KL(data ‖ model) ≈ 0 for
//! the data's own energy and clearly positive for a blurred one, determinism under a seed.

use candle_core::{DType, Device, Tensor};
use ebm_core::{Energy, Result};
use ebm_eval::density_fit::{density_fit, grid_log_z};
use ebm_eval::DataEnergy;
use ebm_train::{load, RunConfig};

/// E(x) = −log Σₖ wₖ exp(−‖x − cₖ‖²/(2s²)) + offset: log Z = log(2πs²) + log Σ wₖ − offset.
struct Gmm {
    centres: Vec<[f64; 2]>,
    weights: Vec<f64>,
    s: f64,
    offset: f64,
}

impl Energy for Gmm {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let v = x.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let e: Vec<f64> = v
            .iter()
            .map(|p| {
                let sum: f64 = self
                    .centres
                    .iter()
                    .zip(&self.weights)
                    .map(|(c, w)| {
                        let d2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
                        w * (-d2 / (2.0 * self.s * self.s)).exp()
                    })
                    .sum();
                -sum.ln() + self.offset
            })
            .collect();
        Ok(Tensor::from_vec(e, v.len(), x.device())?.to_dtype(x.dtype())?)
    }
}

fn config(dir: &std::path::Path, data: &str) -> RunConfig {
    let text = format!(
        "seed = 4\n[data]\n{data}\n[model]\nkind = \"mlp\"\n[sampler]\nkind = \"langevin\"\n\
         [loss]\nkind = \"contrastive_divergence\"\n[train]\nsteps = 1\n[eval]\nn_samples = 3000\n"
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    load(&path, &[]).unwrap().config
}

#[test]
fn grid_log_z_matches_closed_forms() {
    let dev = Device::Cpu;
    let gaussian = Gmm {
        centres: vec![[0.3, -0.2]],
        weights: vec![1.0],
        s: 0.5,
        offset: 1.7,
    };
    let g = grid_log_z(&gaussian, [-4.0, 4.0, -4.0, 4.0], 256, &dev).unwrap();
    let exact = (2.0 * std::f64::consts::PI * 0.25f64).ln() - 1.7;
    assert!((g.log_z - exact).abs() < 1e-6, "{} vs {exact}", g.log_z);
    assert!(g.error < 1e-5 && g.tail_mass < 1e-10, "{g:?}");

    let gmm = Gmm {
        centres: vec![[1.0, 0.0], [-1.0, 0.5], [0.0, -1.0]],
        weights: vec![0.2, 0.5, 0.3],
        s: 0.1,
        offset: -3.0,
    };
    let g = grid_log_z(&gmm, [-2.0, 2.0, -2.0, 2.0], 512, &dev).unwrap();
    let exact = (2.0 * std::f64::consts::PI * 0.01f64).ln() + 3.0;
    assert!((g.log_z - exact).abs() < 1e-6, "{} vs {exact}", g.log_z);

    // A box that cuts the mass off says so in its error estimate.
    let cut = grid_log_z(&gaussian, [-0.5, 0.5, -4.0, 4.0], 256, &dev).unwrap();
    // The true mass beyond [-0.5, 0.5] in x is 1 − P(−1.6 < Z < 0.4) = 0.710 of the total, 2.45×
    // the mass inside; the estimate must be of that order.
    assert!(cut.tail_mass > 1.0 && cut.error > 0.5, "{cut:?}");
}

#[test]
fn the_data_energy_has_zero_kl_and_a_blurred_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    for data in ["kind = \"two_moons\"", "kind = \"eight_gaussians\""] {
        let c = config(dir.path(), data);
        let truth = DataEnergy::new(c.data.clone()).unwrap();
        let fit = density_fit(&truth, &c, &[2], &dev).unwrap().unwrap();
        assert!(fit.grid.log_z.abs() < 2e-3, "{data}: {:?}", fit.grid);
        assert!(
            fit.kl.abs() < 2e-3 && fit.kl_std_err < 1e-3,
            "{data}: KL {} ± {}",
            fit.kl,
            fit.kl_std_err
        );
        assert!((fit.model_log_likelihood - fit.true_log_likelihood).abs() < 2e-3);
        // Twice the noise: a blurred model, KL clearly above zero.
        let blurred = match data {
            "kind = \"eight_gaussians\"" => format!("{data}\nstd = 0.04"),
            _ => format!("{data}\nnoise = 0.1"),
        };
        let wide = DataEnergy::new(config(dir.path(), &blurred).data).unwrap();
        let bad = density_fit(&wide, &c, &[2], &dev).unwrap().unwrap();
        assert!(
            bad.kl > 0.1 && bad.kl > 10.0 * bad.kl_std_err,
            "{data}: {bad:?}"
        );
        // Seeded: the same numbers again.
        assert_eq!(density_fit(&wide, &c, &[2], &dev).unwrap().unwrap(), bad);
    }
}

#[test]
fn the_data_energys_gradient_is_the_score() {
    // Eight Gaussians: ∇(−log p) near a centre is (x − c)/σ².
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "kind = \"eight_gaussians\"");
    let truth = DataEnergy::new(c.data).unwrap();
    let x = Tensor::new(&[[2.01f64, 0.005]], &Device::Cpu).unwrap();
    let (_, g) = truth.energy_and_grad(&x).unwrap();
    let g = g.to_vec2::<f64>().unwrap();
    let expected = [0.01 / 0.0004, 0.005 / 0.0004];
    assert!((g[0][0] - expected[0]).abs() < 1e-3 * expected[0], "{g:?}");
    assert!((g[0][1] - expected[1]).abs() < 1e-3 * expected[1], "{g:?}");
}
