//! What the launcher's integration tests share: a small, fast run and a way to start the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small, fast two-moons run.
pub const SMALL: &str = r#"
seed = 3
[data]
kind = "two_moons"
n_samples = 512
[model]
kind = "mlp"
hidden = [32, 32]
[sampler]
kind = "langevin"
step_size = 0.01
[loss]
kind = "contrastive_divergence"
k = 5
buffer_capacity = 1000
[train]
steps = 20
batch_size = 64
log_every = 2
plot_every = 10
checkpoint_every = 5
[eval]
n_samples = 200
steps = 20
"#;

/// Runs the built `ebm-launch` with `args` and extra environment, logging warnings only.
pub fn launch(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebm-launch"));
    cmd.args(args).env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ebm-launch runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes SMALL to `dir/small.toml` and trains it into `dir/run` with `--set` arguments `sets`
/// (each `"--set", "key=value"`), returning the launcher's output.
pub fn train_small(dir: &Path, sets: &[&str]) -> Output {
    let config = dir.join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let run = dir.join("run");
    let base = [config.to_str().unwrap(), "--out", run.to_str().unwrap()];
    launch(&[&base[..], sets].concat(), &[])
}

/// Trains SMALL (no plots, checkpoints every 10 steps) into `dir/run` and returns that folder.
pub fn trained(dir: &Path) -> PathBuf {
    let sets = [
        "train.log_every=5",
        "train.plot_every=0",
        "train.checkpoint_every=10",
    ];
    let o = train_small(
        dir,
        &sets.iter().flat_map(|s| ["--set", s]).collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "training failed: {}", stderr(&o));
    dir.join("run")
}
