//! Integrators by name: every registered one builds with defaults, unknown names list the known
//! ones, bad parameters name their key, and `leapfrog` from the registry conserves the energy of
//! a harmonic oscillator over a long run.

use candle_core::{Device, Tensor};
use ebm_core::{build_integrator, integrator_names, PluginSpec, Result};
use serde::de::{value::Error as ValueError, IntoDeserializer};
use serde::Deserialize;

/// A spec with one parameter; the value goes through serde so no TOML crate is needed.
fn spec<'a, V: IntoDeserializer<'a, ValueError>>(kind: &str, key: &str, v: V) -> PluginSpec {
    let mut s = PluginSpec::new(kind);
    s.params.insert(
        key.into(),
        Deserialize::deserialize(v.into_deserializer()).unwrap(),
    );
    s
}

#[test]
fn every_integrator_builds_by_name_with_defaults() {
    ebm_integrators::link();
    let names = integrator_names();
    for want in ["dopri5", "euler_maruyama", "heun", "leapfrog", "rk4"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for name in names {
        let ig = build_integrator("integrator", &PluginSpec::new(name)).unwrap();
        assert_eq!(ig.name(), name);
    }
}

#[test]
fn config_errors_name_the_key() {
    ebm_integrators::link();
    let e = build_integrator("integrator", &PluginSpec::new("rk45"))
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(e.is_config() && msg.contains("`integrator.kind`"), "{msg}");
    assert!(msg.contains("dopri5") && msg.contains("leapfrog"), "{msg}");
    let cases = [
        (spec("dopri5", "rtol", -1.0), "`integrator.rtol`"),
        (spec("dopri5", "atol", "tiny"), "`integrator.atol`"),
        (spec("dopri5", "atol", 0.0), "`integrator.atol`"),
        (spec("dopri5", "max_steps", 0i64), "`integrator.max_steps`"),
        (spec("dopri5", "rtoll", 1e-3), "`integrator.rtoll`"),
        (spec("heun", "rtol", 1e-3), "`integrator.rtol`"),
    ];
    for (s, key) in cases {
        let e = build_integrator("integrator", &s).err().unwrap();
        assert!(e.is_config() && e.to_string().contains(key), "{e}");
    }
}

/// dq/dt = p, dp/dt = −q on `[q | p]`, with H = ½(q² + p²).
fn oscillator(s: &Tensor, _t: f64) -> Result<Tensor> {
    let (q, p) = (s.narrow(1, 0, 1)?, s.narrow(1, 1, 1)?);
    Ok(Tensor::cat(&[&p, &q.neg()?], 1)?)
}

fn energy(s: &Tensor) -> Vec<f64> {
    let h = (s.sqr().unwrap().sum(1).unwrap() * 0.5).unwrap();
    h.to_vec1::<f64>().unwrap()
}

#[test]
fn registered_leapfrog_conserves_energy_over_long_runs() {
    ebm_integrators::link();
    let lf = build_integrator("integrator", &PluginSpec::new("leapfrog")).unwrap();
    let euler_ig = build_integrator("integrator", &PluginSpec::new("euler_maruyama")).unwrap();
    let s0 = Tensor::new(&[[1.0f64, 0.0], [0.5, -2.0]], &Device::Cpu).unwrap();
    let h0 = energy(&s0);
    let (mut s, mut euler, dt) = (s0.clone(), s0, 0.1);
    let mut worst = 0.0f64;
    // 10⁴ steps ≈ 160 periods: a symplectic scheme's energy error stays O(dt²), with no drift.
    for i in 0..10_000 {
        s = lf.step(&oscillator, &s, i as f64 * dt, dt, None).unwrap();
        for (h, h0) in energy(&s).iter().zip(&h0) {
            worst = worst.max((h - h0).abs() / h0);
        }
        if i < 100 {
            euler = euler_ig
                .step(&oscillator, &euler, i as f64 * dt, dt, None)
                .unwrap();
        }
    }
    assert!(worst < 0.01, "relative energy error {worst}");
    // Euler, by contrast, gains energy by a factor (1 + dt²) per step: 2.7× after 100 steps.
    assert!(energy(&euler)[0] > 2.0 * h0[0]);
}
