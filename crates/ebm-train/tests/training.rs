//! The trainer stops cleanly on divergence (a non-finite value, or a mean energy beyond
//! `train.max_abs_energy`) keeping its last good checkpoint (and never calls its hooks' `finish`), and a checkpoint restored into a fresh state takes exactly the same next
//! step. That it learns is ebm-eval's tests/training_runs.rs (it needs the evaluation).

mod common;

use common::FinishMarker;
use ebm_core::{register_loss, Loss, LossOut, Model, PluginArgs, Result as CoreResult, TrainCtx};
use ebm_train::{load, train_step, Error, Start, TrainState, Trainer};
use std::path::Path;

fn config(dir: &Path, text: &str) -> std::path::PathBuf {
    ebm_samplers::link();
    ebm_losses::link();
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const TWO_MOONS: &str = r#"
seed = 1
[data]
kind = "two_moons"
n_samples = 2000
[loss]
kind = "contrastive_divergence"
k = 10
energy_reg = 0.1
[train]
steps = 300
batch_size = 128
log_every = 50
plot_every = 0
checkpoint_every = 300
[eval]
n_samples = 1000
steps = 300
"#;

/// A loss that turns NaN at step 7, to exercise the divergence guard.
struct NanAt7;

impl Loss for NanAt7 {
    fn name(&self) -> &'static str {
        "nan_at_7"
    }
    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &candle_core::Tensor,
        ctx: &mut TrainCtx,
    ) -> CoreResult<LossOut> {
        let e = model.energy(batch)?.mean_all()?;
        let loss = if ctx.step == 6 { (e * f64::NAN)? } else { e };
        Ok(LossOut {
            loss,
            metrics: vec![],
        })
    }
}

fn build_nan(_: &PluginArgs) -> CoreResult<Box<dyn Loss>> {
    Ok(Box::new(NanAt7))
}
register_loss!("nan_at_7", build_nan);

#[test]
fn divergence_stops_with_a_message_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (err, run) = train_with_loss(dir.path(), "nan_at_7", &[]);
    match &err.expect_err("the run must diverge") {
        Error::Diverged { step, what, advice } => {
            assert_eq!(*step, 7);
            assert!(what.contains("loss is NaN"), "{what}");
            assert!(advice.contains("step_0000005.safetensors"), "{advice}");
        }
        other => panic!("expected Diverged, got {other}"),
    }
    let ckpts: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(ckpts.len(), 1, "{ckpts:?}");
    assert!(
        !run.join("finished").exists(),
        "no final outputs from a diverged model"
    );
}

/// A loss whose reported mean sample energy jumps to 1e12 at step 7 while the loss stays finite:
/// the magnitude guard's case (issue 17, D10: the "last good" checkpoint held E ≈ 1e15).
struct HugeAt7;

impl Loss for HugeAt7 {
    fn name(&self) -> &'static str {
        "huge_at_7"
    }
    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &candle_core::Tensor,
        ctx: &mut TrainCtx,
    ) -> CoreResult<LossOut> {
        let e = model.energy(batch)?.mean_all()?;
        let e_samples = if ctx.step == 6 { -1e12 } else { 0.5 };
        Ok(LossOut {
            loss: e,
            metrics: vec![("e_samples", e_samples)],
        })
    }
}

fn build_huge(_: &PluginArgs) -> CoreResult<Box<dyn Loss>> {
    Ok(Box::new(HugeAt7))
}
register_loss!("huge_at_7", build_huge);

#[test]
fn energies_beyond_max_abs_energy_stop_the_run_like_nan() {
    let dir = tempfile::tempdir().unwrap();
    let (err, _) = train_with_loss(dir.path(), "huge_at_7", &[]);
    match &err.expect_err("the run must diverge") {
        Error::Diverged { step, what, advice } => {
            assert_eq!(*step, 7);
            assert!(
                what.contains("e_samples = -1.0000e12 exceeds train.max_abs_energy = 1e6"),
                "{what}"
            );
            assert!(advice.contains("step_0000005.safetensors"), "{advice}");
        }
        other => panic!("expected Diverged, got {other}"),
    }
    // A larger bound lets the same run finish.
    let dir = tempfile::tempdir().unwrap();
    let sets = ["train.max_abs_energy=1e13", "train.steps=10"];
    train_with_loss(dir.path(), "huge_at_7", &sets).0.unwrap();
}

/// TWO_MOONS with the loss `kind`, a checkpoint every 5 steps and `sets`, trained into
/// `dir/run`: the run's outcome and its folder.
fn train_with_loss(
    dir: &Path,
    kind: &str,
    sets: &[&str],
) -> (
    ebm_train::Result<ebm_train::TrainSummary<common::MarkerReport>>,
    std::path::PathBuf,
) {
    let text = TWO_MOONS
        .replace(
            "kind = \"contrastive_divergence\"\nk = 10\nenergy_reg = 0.1",
            &format!("kind = \"{kind}\""),
        )
        .replace("checkpoint_every = 300", "checkpoint_every = 5");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let loaded = load(&config(dir, &text), &sets).unwrap();
    let run = dir.join("run");
    let outcome = Trainer::new(&loaded, &run, Start::Fresh)
        .unwrap()
        .run(&mut FinishMarker::default());
    (outcome, run)
}

#[test]
fn a_restored_checkpoint_takes_the_identical_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&config(dir.path(), TWO_MOONS), &[]).unwrap();
    let cfg = &loaded.config;
    let mut a = TrainState::new(cfg, &candle_core::Device::Cpu).unwrap();
    for _ in 0..3 {
        train_step(&mut a, cfg).unwrap();
    }
    let saved =
        ebm_train::checkpoint::save(dir.path(), a.step, &a.to_checkpoint().unwrap()).unwrap();
    let mut b = TrainState::new(cfg, &candle_core::Device::Cpu).unwrap();
    b.restore(
        &ebm_train::checkpoint::load(&saved, &candle_core::Device::Cpu).unwrap(),
        &saved,
    )
    .unwrap();
    assert_eq!(b.step, 3);
    for _ in 0..2 {
        assert_eq!(
            train_step(&mut a, cfg).unwrap(),
            train_step(&mut b, cfg).unwrap()
        );
    }
    // A checkpoint from a different architecture is refused with the parameter named.
    let other = load(
        &config(
            dir.path(),
            &format!("{TWO_MOONS}\n[model]\nkind = \"mlp\"\nhidden = [8]\n"),
        ),
        &[],
    )
    .unwrap();
    let mut c = TrainState::new(&other.config, &candle_core::Device::Cpu).unwrap();
    let e = c
        .restore(
            &ebm_train::checkpoint::load(&saved, &candle_core::Device::Cpu).unwrap(),
            &saved,
        )
        .unwrap_err();
    assert!(e.to_string().contains("layers.0.weight"), "{e}");
}
