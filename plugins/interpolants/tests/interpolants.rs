//! Every built-in interpolant: boundary values, closed-form derivatives against central finite
//! differences, `interpolate`'s target, and building from config by name.

use candle_core::{DType, Device, Tensor};
use ebm_core::{build_interpolant, interpolant_names, rng, Interpolant, PluginSpec};
use ebm_interpolants::{Cosine, Linear, VariancePreserving, VpParams};

fn all() -> Vec<Box<dyn Interpolant>> {
    vec![
        Box::new(Linear),
        Box::new(Cosine),
        Box::new(VariancePreserving::new(VpParams::default()).unwrap()),
    ]
}

fn vec1(t: &Tensor) -> Vec<f64> {
    t.to_vec1::<f64>().unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

fn noise_and_data() -> (Tensor, Tensor) {
    let mut r = rng::stream(11, "interpolant-test", 0);
    let x0 = rng::randn(&mut r, &[4, 3], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let x1 = rng::randn(&mut r, &[4, 3], &Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    (x0, (x1 + 2.0).unwrap())
}

fn times(v: f64) -> Tensor {
    Tensor::full(v, 4, &Device::Cpu).unwrap()
}

#[test]
fn boundaries_are_noise_and_data() {
    let (x0, x1) = noise_and_data();
    for ip in all() {
        let (xt1, _) = ip.interpolate(&x0, &x1, &times(1.0)).unwrap();
        assert!(max_abs_diff(&xt1, &x1) < 1e-6, "{} at t=1", ip.name());
        let (xt0, _) = ip.interpolate(&x0, &x1, &times(0.0)).unwrap();
        if ip.name() != "variance_preserving" {
            assert!(max_abs_diff(&xt0, &x0) < 1e-6, "{} at t=0", ip.name());
        } else {
            // α(0) = exp(−½(β_min + ½(β_max − β_min))) is small but not 0.
            let a0 = (-0.5f64 * (0.1 + 0.5 * 19.9)).exp();
            let s0 = (1.0 - a0 * a0).sqrt();
            let want = ((&x1 * a0).unwrap() + (&x0 * s0).unwrap()).unwrap();
            assert!(max_abs_diff(&xt0, &want) < 1e-9);
            assert!(a0 > 1e-3 && a0 < 1e-2);
        }
    }
}

#[test]
fn derivatives_match_central_differences() {
    let t = Tensor::new(&[0.05f64, 0.2, 0.5, 0.8, 0.95], &Device::Cpu).unwrap();
    let h = 1e-5;
    let (tp, tm) = ((&t + h).unwrap(), (&t - h).unwrap());
    for ip in all() {
        let fd = |f: &dyn Fn(&Tensor) -> Tensor| -> Vec<f64> {
            let (p, m) = (vec1(&f(&tp)), vec1(&f(&tm)));
            p.iter().zip(&m).map(|(p, m)| (p - m) / (2.0 * h)).collect()
        };
        let checks = [
            (
                fd(&|t| ip.alpha(t).unwrap()),
                vec1(&ip.d_alpha(&t).unwrap()),
            ),
            (
                fd(&|t| ip.sigma(t).unwrap()),
                vec1(&ip.d_sigma(&t).unwrap()),
            ),
        ];
        for (numeric, closed) in checks {
            for (n, c) in numeric.iter().zip(&closed) {
                assert!(
                    (n - c).abs() <= 1e-6 * (1.0 + c.abs()),
                    "{}: fd {n} vs {c}",
                    ip.name()
                );
            }
        }
    }
}

#[test]
fn target_is_the_path_velocity() {
    let (x0, x1) = noise_and_data();
    let t = Tensor::new(&[0.1f64, 0.4, 0.6, 0.9], &Device::Cpu).unwrap();
    for ip in all() {
        let (xt, target) = ip.interpolate(&x0, &x1, &t).unwrap();
        let col = |v: Tensor| v.reshape((4, 1)).unwrap();
        let (a, s) = (col(ip.alpha(&t).unwrap()), col(ip.sigma(&t).unwrap()));
        let (da, ds) = (col(ip.d_alpha(&t).unwrap()), col(ip.d_sigma(&t).unwrap()));
        let mix = |p: &Tensor, q: &Tensor| {
            (x1.broadcast_mul(p).unwrap() + x0.broadcast_mul(q).unwrap()).unwrap()
        };
        assert!(max_abs_diff(&xt, &mix(&a, &s)) < 1e-12, "{}", ip.name());
        assert!(
            max_abs_diff(&target, &mix(&da, &ds)) < 1e-12,
            "{}",
            ip.name()
        );
    }
}

#[test]
fn vp_target_stays_finite_at_the_data_end() {
    let vp = VariancePreserving::new(VpParams::default()).unwrap();
    let t = Tensor::new(&[1.0f32, 1.0], &Device::Cpu).unwrap();
    let ds = vp.d_sigma(&t).unwrap().to_vec1::<f32>().unwrap();
    assert!(ds.iter().all(|v| !v.is_nan()), "{ds:?}");
}

#[test]
fn times_must_be_a_vector() {
    let t = Tensor::zeros((2, 1), DType::F64, &Device::Cpu).unwrap();
    for ip in all() {
        assert!(ip.alpha(&t).is_err(), "{}", ip.name());
    }
}

fn spec(text: &str) -> PluginSpec {
    toml::from_str(text).unwrap()
}

#[test]
fn every_interpolant_builds_by_name_with_defaults() {
    ebm_interpolants::link();
    let names = interpolant_names();
    for want in ["cosine", "linear", "variance_preserving"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for name in names {
        let ip = build_interpolant("interpolant", &PluginSpec::new(name)).unwrap();
        assert_eq!(ip.name(), name);
    }
}

#[test]
fn config_errors_name_the_key() {
    ebm_interpolants::link();
    let e = build_interpolant("interpolant", &PluginSpec::new("cosin"))
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        e.is_config() && msg.contains("cosine") && msg.contains("linear"),
        "{msg}"
    );
    let cases = [
        (
            "kind = \"variance_preserving\"\nbeta_min = -1.0",
            "`interpolant.beta_min`",
        ),
        (
            "kind = \"variance_preserving\"\nbeta_max = 0.05",
            "`interpolant.beta_max`",
        ),
        (
            "kind = \"variance_preserving\"\nbeta_mx = 3.0",
            "`interpolant.beta_mx`",
        ),
        (
            "kind = \"linear\"\nbeta_min = 1.0",
            "`interpolant.beta_min`",
        ),
    ];
    for (text, key) in cases {
        let e = build_interpolant("interpolant", &spec(text)).err().unwrap();
        assert!(e.is_config() && e.to_string().contains(key), "{e}");
    }
}
