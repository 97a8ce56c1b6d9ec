//! Shared by the run-evaluation tests: training a run from config text, and a tiny image run
//! (an MLP on generated CIFAR-format files) whose quality does not matter.
#![allow(dead_code)]

use ebm_eval::EvalHooks;
use ebm_train::{load, Start, Trainer};
use std::path::{Path, PathBuf};

/// Writes `text` as `dir/run.toml`, trains it into `dir/run` and returns that folder.
pub fn train(dir: &Path, text: &str) -> PathBuf {
    ebm_samplers::link();
    ebm_losses::link();
    let config = dir.join("run.toml");
    std::fs::write(&config, text).unwrap();
    let run = dir.join("run");
    Trainer::new(&load(&config, &[]).unwrap(), &run, Start::Fresh)
        .and_then(|mut t| t.run(&mut EvalHooks::new()))
        .unwrap();
    run
}

/// A two-step image run on 40 generated CIFAR-format images under `dir/cifar`, trained into
/// `dir/run`.
pub fn tiny_image_run(dir: &Path) -> PathBuf {
    let data = dir.join("cifar");
    ebm_data::write_synthetic_cifar(&data, 40, 99).unwrap();
    train(dir, &TINY_IMAGES.replace("DATA", data.to_str().unwrap()))
}

const TINY_IMAGES: &str = r#"
seed = 3
[data]
kind = "cifar10"
dir = "DATA"
[model]
kind = "mlp"
hidden = [8]
[sampler]
kind = "langevin"
step_size = 1.0
noise_scale = 0.005
clamp = [-1.0, 1.0]
[loss]
kind = "contrastive_divergence"
k = 2
buffer_capacity = 32
init = { kind = "uniform", low = -1.0, high = 1.0 }
[train]
steps = 2
batch_size = 8
plot_every = 0
checkpoint_every = 2
[eval]
n_samples = 16
steps = 2
init = { kind = "uniform", low = -1.0, high = 1.0 }
"#;
