//! The flow sampler carries N(0, I) to the data through a known velocity field: for Gaussian data
//! N(μ, s²I) on the linear path x_t = t·x₁ + (1 − t)·x₀ the marginal velocity is
//! v(x, t) = μ + (t·s² − (1 − t))/(t²s² + (1 − t)²)·(x − t·μ). ODE (Heun, RK4, adaptive dopri5)
//! and SDE (Euler–Maruyama) generation must reproduce μ and s; bad settings are config errors.

use candle_core::{DType, Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, Energy, PluginSpec, Result};

const MU: [f64; 2] = [1.5, -0.5];
const S: f64 = 0.3;

/// The exact velocity field of N(μ, s²I) data as a gradient field g = −v.
struct GaussianFlow;

impl Energy for GaussianFlow {
    fn energy(&self, _: &Tensor) -> Result<Tensor> {
        Err(ebm_core::no_energy_values("the test field"))
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        let ones = Tensor::ones(x.dims()[0], x.dtype(), x.device())?;
        self.grad_at(x, &ones)
    }
    fn has_energy_values(&self) -> bool {
        false
    }
    fn time_conditioned(&self) -> bool {
        true
    }
    fn grad_at(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        let t = t.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        let rows = x.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let g: Vec<f64> = rows
            .iter()
            .zip(&t)
            .flat_map(|(row, &t)| {
                let k = (t * S * S - (1.0 - t)) / (t * t * S * S + (1.0 - t).powi(2));
                row.iter()
                    .zip(MU)
                    .map(move |(&x, mu)| -(mu + k * (x - t * mu)))
            })
            .collect();
        Ok(Tensor::from_vec(g, x.dims(), x.device())?.to_dtype(x.dtype())?)
    }
}

fn flow(toml_text: &str) -> Box<dyn ebm_core::Sampler> {
    ebm_samplers::link();
    let spec: PluginSpec = toml::from_str(&format!("kind = \"flow\"\n{toml_text}")).unwrap();
    build_sampler("sampler", &spec).unwrap()
}

/// The chains after a `steps`-step run from the same N(0, I) draw of `n` starts.
fn run(toml_text: &str, n: usize, steps: u64) -> Vec<Vec<f64>> {
    let mut r = rng::stream(3, "flow-test", 0);
    let start = rng::randn(&mut r, &[n, 2], &Device::Cpu).unwrap();
    let start = start.to_dtype(DType::F64).unwrap();
    let mut chains = Chains::new(start);
    let mut s = flow(toml_text);
    run_chains(s.as_mut(), &GaussianFlow, &mut chains, steps, &mut r).unwrap();
    chains.x().to_vec2::<f64>().unwrap()
}

/// Per-coordinate mean and std of `n` chains after a `steps`-step run from N(0, I).
fn generate(toml_text: &str, n: usize, steps: u64) -> Vec<(f64, f64)> {
    let x = run(toml_text, n, steps);
    (0..2)
        .map(|d| {
            let m = x.iter().map(|r| r[d]).sum::<f64>() / n as f64;
            let v = x.iter().map(|r| (r[d] - m).powi(2)).sum::<f64>() / n as f64;
            (m, v.sqrt())
        })
        .collect()
}

fn assert_moments(what: &str, got: &[(f64, f64)], tol_mean: f64, tol_std: f64) {
    for (d, &(m, s)) in got.iter().enumerate() {
        assert!(
            (m - MU[d]).abs() < tol_mean && (s - S).abs() < tol_std,
            "{what}: coordinate {d} has mean {m}, std {s}; want {}, {S}",
            MU[d]
        );
    }
}

#[test]
fn ode_integrators_carry_noise_to_the_data() {
    // 4,000 chains: the standard error of a mean is 0.3/√4000 ≈ 0.005.
    for (integrator, steps) in [("heun", 40), ("rk4", 20), ("dopri5", 4)] {
        let got = generate(
            &format!("integrator = {{ kind = \"{integrator}\" }}"),
            4000,
            steps,
        );
        assert_moments(integrator, &got, 0.02, 0.02);
    }
}

#[test]
fn euler_is_first_order_and_heun_second_order_on_the_flow() {
    // Largest deviation from a fine RK4 solution from the same starts, for halving step sizes.
    let reference = run("integrator = { kind = \"rk4\" }", 200, 400);
    let err = |integrator: &str, steps| {
        let x = run(
            &format!("integrator = {{ kind = \"{integrator}\" }}"),
            200,
            steps,
        );
        x.iter()
            .flatten()
            .zip(reference.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    };
    let euler = err("euler_maruyama", 20) / err("euler_maruyama", 40);
    let heun = err("heun", 20) / err("heun", 40);
    let rk4 = err("rk4", 10) / err("rk4", 20);
    assert!(euler > 1.7 && euler < 2.3, "euler error ratio {euler}");
    assert!(heun > 3.4 && heun < 4.6, "heun error ratio {heun}");
    assert!(rk4 > 12.0, "rk4 error ratio {rk4}");
}

#[test]
fn sde_generation_has_the_same_marginals() {
    let got = generate(
        "integrator = { kind = \"euler_maruyama\" }\nmode = \"sde\"\ndiffusion = 1.0",
        4000,
        400,
    );
    assert_moments("sde", &got, 0.03, 0.03);
    // ... by a different, noisy route: not the ODE's map of the same starts.
    let sde = run(
        "integrator = { kind = \"euler_maruyama\" }\nmode = \"sde\"",
        500,
        400,
    );
    let ode = run("integrator = { kind = \"euler_maruyama\" }", 500, 400);
    let moved = sde.iter().flatten().zip(ode.iter().flatten());
    let mean_gap = moved.map(|(a, b)| (a - b).abs()).sum::<f64>() / 1000.0;
    assert!(
        mean_gap > 0.05,
        "SDE and ODE samples differ by only {mean_gap}"
    );
}

#[test]
fn bad_settings_are_config_errors_naming_the_key() {
    ebm_samplers::link();
    for (text, key) in [
        (
            "integrator = { kind = \"leapfrog\" }",
            "sampler.integrator.kind",
        ),
        ("integrator = { kind = \"rk5\" }", "sampler.integrator.kind"),
        ("diffusion = -1.0", "sampler.diffusion"),
        (
            "interpolant = { kind = \"linear\", beta = 1 }",
            "sampler.interpolant.beta",
        ),
        ("mode = \"euler\"", "sampler.mode"),
    ] {
        let spec: PluginSpec = toml::from_str(&format!("kind = \"flow\"\n{text}")).unwrap();
        let err = build_sampler("sampler", &spec)
            .err()
            .expect(text)
            .to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}
