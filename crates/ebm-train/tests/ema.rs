//! `[optim] ema_decay`: the averaged weights follow θ̄ ← d·θ̄ + (1 − d)·θ step by step, the
//! sampling view evaluates them (not the trained weights), a checkpoint restores them exactly
//! (resume continues identically, averages included), a checkpoint without them restarts the
//! average at its weights, and a decay outside (0, 1) is a config error naming the key.

use candle_core::{DType, Device, Tensor};
use ebm_train::{checkpoint, load, train_step, TrainState};
use std::path::Path;

const RUN: &str = r#"
seed = 3
[data]
kind = "two_moons"
n_samples = 1000
[model]
kind = "mlp"
hidden = [16, 16]
[loss]
kind = "contrastive_divergence"
k = 5
[optim]
lr = 0.01
ema_decay = 0.9
[train]
steps = 10
batch_size = 64
"#;

fn state(dir: &Path, text: &str) -> ebm_train::Result<(TrainState, ebm_train::RunConfig)> {
    ebm_samplers::link();
    ebm_losses::link();
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    let cfg = load(&p, &[])?.config;
    Ok((TrainState::new(&cfg, &Device::Cpu)?, cfg))
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn averaged(s: &TrainState) -> Vec<Vec<f64>> {
    let ema = s.ema.as_ref().expect("ema_decay is set");
    ema.model()
        .params()
        .iter()
        .map(|p| flat(p.var.as_tensor()))
        .collect()
}

fn trained(s: &TrainState) -> Vec<Vec<f64>> {
    s.model
        .params()
        .iter()
        .map(|p| flat(p.var.as_tensor()))
        .collect()
}

#[test]
fn the_average_follows_the_recursion_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, cfg) = state(dir.path(), RUN).unwrap();
    // θ̄₀ = θ₀, then the recursion by hand in f64 next to the f32 tensors.
    let mut expect = trained(&s);
    assert_eq!(averaged(&s), expect);
    for _ in 0..4 {
        train_step(&mut s, &cfg).unwrap();
        for (e, t) in expect.iter_mut().zip(trained(&s)) {
            for (ei, ti) in e.iter_mut().zip(t) {
                *ei = 0.9 * *ei + 0.1 * ti;
            }
        }
    }
    for (got, want) in averaged(&s).iter().zip(&expect) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
    assert_ne!(averaged(&s), trained(&s), "after steps the average lags");

    // The sampling view is the averaged model, not the trained one.
    let x = Tensor::new(&[[0.3f32, -0.2], [1.0, 0.5], [-0.7, 0.1]], &Device::Cpu).unwrap();
    let view = flat(&s.sampling_view().unwrap().energy(&x).unwrap());
    let avg = flat(&s.ema.as_ref().unwrap().model().energy(&x).unwrap());
    let live = flat(&s.model.energy(&x).unwrap());
    for (v, a) in view.iter().zip(&avg) {
        assert!((v - a).abs() < 1e-5, "view {v} vs averaged model {a}");
    }
    assert!(view.iter().zip(&live).any(|(v, l)| (v - l).abs() > 1e-4));
}

#[test]
fn resume_restores_the_average_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, cfg) = state(dir.path(), RUN).unwrap();
    for _ in 0..3 {
        train_step(&mut a, &cfg).unwrap();
    }
    let saved = checkpoint::save(dir.path(), a.step, &a.to_checkpoint().unwrap()).unwrap();
    let (mut b, _) = state(dir.path(), RUN).unwrap();
    b.restore(&checkpoint::load(&saved, &Device::Cpu).unwrap(), &saved)
        .unwrap();
    assert_eq!(averaged(&a), averaged(&b));
    for _ in 0..2 {
        assert_eq!(
            train_step(&mut a, &cfg).unwrap(),
            train_step(&mut b, &cfg).unwrap()
        );
        assert_eq!(averaged(&a), averaged(&b));
    }

    // A checkpoint written without EMA: the average restarts at its weights.
    let plain = RUN.replace("ema_decay = 0.9\n", "");
    let (mut c, plain_cfg) = state(dir.path(), &plain).unwrap();
    assert!(c.ema.is_none());
    train_step(&mut c, &plain_cfg).unwrap();
    let saved = checkpoint::save(
        &dir.path().join("plain"),
        c.step,
        &c.to_checkpoint().unwrap(),
    )
    .unwrap();
    let (mut d, _) = state(dir.path(), RUN).unwrap();
    d.restore(&checkpoint::load(&saved, &Device::Cpu).unwrap(), &saved)
        .unwrap();
    assert_eq!(averaged(&d), trained(&c));
}

#[test]
fn a_decay_outside_the_unit_interval_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["1.0", "0.0", "-0.5", "1.5", "nan"] {
        let text = RUN.replace("ema_decay = 0.9", &format!("ema_decay = {bad}"));
        let Err(e) = state(dir.path(), &text) else {
            panic!("ema_decay = {bad} accepted");
        };
        assert!(e.is_user_input(), "{e}");
        assert!(e.to_string().contains("optim.ema_decay"), "{e}");
    }
}
