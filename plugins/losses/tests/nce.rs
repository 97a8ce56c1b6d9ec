//! Noise-contrastive estimation: on Gaussian data with a Gaussian energy it recovers the mean,
//! the standard deviations and the normalising constant (NCE's learned −log Z); bad parameters
//! are config errors naming the key; the noise's log-density integrates to one.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::{loss_from, FixedNegatives};
use ebm_core::{rng, Energy, Model, Param, PluginSpec, Result, TrainCtx};
use ebm_losses::nce_noise::{KernelShape, Noise, NoiseKind};

/// E(x) = ½ Σ_d (x_d − μ_d)² e^(−2 s_d) + c: a normalised Gaussian exactly when
/// c = Σ_d s_d + log 2π (D = 2).
struct GaussianEnergy {
    mu: Var,
    s: Var,
    c: Var,
}

impl Energy for GaussianEnergy {
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let z = x.broadcast_sub(self.mu.as_tensor())?;
        let prec = (self.s.as_tensor() * -2.0)?.exp()?;
        let q = (z.sqr()?.broadcast_mul(&prec)?.sum(1)? * 0.5)?;
        Ok(q.broadcast_add(self.c.as_tensor())?)
    }
}

impl Model for GaussianEnergy {
    fn params(&self) -> Vec<Param> {
        [("mu", &self.mu), ("s", &self.s), ("c", &self.c)]
            .into_iter()
            .map(|(n, v)| Param {
                name: n.into(),
                var: v.clone(),
            })
            .collect()
    }
    fn detached(&self) -> Box<dyn Energy> {
        unimplemented!("not sampled in this test")
    }
    fn input_shape(&self) -> Vec<usize> {
        vec![2]
    }
}

fn var(v: &[f64]) -> Var {
    Var::from_tensor(&Tensor::new(v, &Device::Cpu).unwrap()).unwrap()
}

#[test]
fn nce_recovers_a_gaussians_parameters_and_normaliser() {
    let dev = Device::Cpu;
    let (mu, sd) = ([1.0, -0.5], [0.5, 2.0]);
    let n = 20_000;
    let mut r = rng::stream(1, "data", 0);
    let z = rng::normal_vec(&mut r, 2 * n);
    let data: Vec<f64> = z
        .chunks(2)
        .flat_map(|p| [mu[0] + sd[0] * p[0] as f64, mu[1] + sd[1] * p[1] as f64])
        .collect();
    let data = Tensor::from_vec(data, (n, 2), &dev).unwrap();
    let model = GaussianEnergy {
        mu: var(&[0.0, 0.0]),
        s: var(&[0.0, 0.0]),
        c: var(&[0.0]),
    };
    let mut loss = loss_from("kind = \"nce\"\nnoise = \"gaussian\"\nscale = 1.5");
    assert!(loss.needs_data());
    loss.fit_data(&data, &mut rng::stream(1, "fit", 0)).unwrap();
    let mut sampler = FixedNegatives(data.narrow(0, 0, 1).unwrap());
    let mut draws = rng::stream(1, "draws", 0);
    // Plain gradient descent on batches of 1,000 (the objective is smooth and convex-ish here).
    let lr = 0.2;
    for step in 0..1500 {
        let start = (step * 1000) % n;
        let batch = data.narrow(0, start, 1000).unwrap();
        let mut ctx = TrainCtx {
            step: step as u64,
            sampler: &mut sampler,
            rng: &mut draws,
        };
        let out = loss.forward(&model, &batch, &mut ctx).unwrap();
        let grads = out.loss.backward().unwrap();
        for p in model.params() {
            let g = grads.get(p.var.as_tensor()).unwrap();
            p.var
                .set(&(p.var.as_tensor() - (g * lr).unwrap()).unwrap())
                .unwrap();
        }
    }
    let got = |v: &Var| {
        v.as_tensor()
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
    };
    let (m, s, c) = (got(&model.mu), got(&model.s), got(&model.c)[0]);
    for d in 0..2 {
        assert!((m[d] - mu[d]).abs() < 0.03 * sd[d].max(1.0), "μ {m:?}");
        assert!(
            (s[d].exp() / sd[d] - 1.0).abs() < 0.03,
            "σ {:?}",
            s.iter().map(|v| v.exp()).collect::<Vec<_>>()
        );
    }
    // The learned constant makes exp(−E) a normalised density: c = log(2π σ₁σ₂).
    let log_z_term = s[0] + s[1] + (2.0 * std::f64::consts::PI).ln();
    assert!((c - log_z_term).abs() < 0.03, "c {c} vs {log_z_term}");
}

#[test]
fn the_noise_densities_integrate_to_one_and_match_their_draws() {
    let dev = Device::Cpu;
    let mut r = rng::stream(2, "data", 0);
    let data: Vec<f32> = rng::normal_vec(&mut r, 2 * 500)
        .chunks(2)
        .flat_map(|p| [p[0] * 0.7 + 0.3, p[1] * 0.4 + 0.2 * p[0]])
        .collect();
    for (kind, background, levels) in [
        (NoiseKind::Gaussian, 0.0, 1),
        (NoiseKind::Mixture, 0.0, 1),
        (NoiseKind::Mixture, 0.3, 1),
        (NoiseKind::Mixture, 0.2, 3),
    ] {
        let shape = KernelShape {
            components: 64,
            bandwidth: None,
            levels,
            level_ratio: 2.0,
            background_scale: 1.2,
        };
        let noise = Noise::fit(kind, &data, 2, 1.2, shape, background, &mut r).unwrap();
        // ∫ q on a grid.
        let h = 0.02;
        let mut grid = Vec::new();
        for j in 0..400 {
            for i in 0..400 {
                grid.push(-4.0 + (i as f32 + 0.5) * h);
                grid.push(-4.0 + (j as f32 + 0.5) * h);
            }
        }
        let total: f64 = noise
            .log_density(&grid)
            .iter()
            .map(|l| l.exp())
            .sum::<f64>()
            * (h * h) as f64;
        assert!(
            (total - 1.0).abs() < 1e-3,
            "{kind:?} {background} {levels}: ∫q = {total}"
        );
        // Draws: their mean log q is the noise's negative entropy, which the grid also gives.
        let draws = noise.sample(20_000, &mut r, &dev).unwrap();
        let lq = noise.log_density(&draws.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        let mc = lq.iter().sum::<f64>() / lq.len() as f64;
        let grid_lq = noise.log_density(&grid);
        let exact: f64 = grid_lq.iter().map(|l| l.exp() * l).sum::<f64>() * (h * h) as f64;
        assert!(
            (mc - exact).abs() < 0.03,
            "{kind:?} {background} {levels}: E log q {mc} vs {exact}"
        );
    }
}

#[test]
fn bad_parameters_name_their_key() {
    ebm_losses::link();
    for (text, key) in [
        ("noise_ratio = 0.0", "loss.noise_ratio"),
        ("scale = -1.0", "loss.scale"),
        ("components = 0", "loss.components"),
        ("background = 1.0", "loss.background"),
        ("bandwidth = nan", "loss.bandwidth"),
        ("levels = 0", "loss.levels"),
        ("background_scale = 0.0", "loss.background_scale"),
        ("level_ratio = 1.0", "loss.level_ratio"),
    ] {
        let spec: PluginSpec = toml::from_str(&format!("kind = \"nce\"\n{text}")).unwrap();
        let err = ebm_core::build_loss("loss", &spec)
            .err()
            .expect("an error")
            .to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}
