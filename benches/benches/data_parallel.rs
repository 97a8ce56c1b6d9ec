//! Data-parallel scaling on this machine: the same run on 1 rank and on 2 local ranks (threads
//! sharing the CPU, gradients all-reduced in one flat bucket), at the same global batch. One
//! iteration is a whole `run_local_ranks` training run; the figure is its training time
//! (`TrainSummary::train_seconds`, evaluation excluded).
//!
//! - two moons: examples/two_moons_cd.toml's model and PCD, global batch 512, 50 steps;
//! - conv: a small spectral-norm conv energy on generated CIFAR-format images, PCD k = 5,
//!   global batch 32, 4 steps.
//!
//! `cargo bench -p ebm-benches --bench data_parallel`

use criterion::{criterion_group, criterion_main, Criterion};
use ebm_train::{load, run_local_ranks, NoHooks, Start};
use std::time::Duration;

const TWO_MOONS: &str = r#"
seed = 0
[data]
kind = "two_moons"
n_samples = 4096
[model]
kind = "mlp"
hidden = [128, 128]
activation = "elu"
[sampler]
kind = "langevin"
step_size = 0.01
[loss]
kind = "contrastive_divergence"
k = 10
energy_reg = 0.1
reinit_prob = 0.01
[train]
steps = 50
log_every = 50
plot_every = 0
checkpoint_every = 1000
[eval]
n_samples = 16
steps = 1
"#;

const CONV: &str = r#"
seed = 0
[data]
kind = "cifar10"
dir = "DATA"
[model]
kind = "conv"
spectral_norm = true
layers = [
  { channels = 16, kernel = 3, stride = 2, padding = 1 },
  { channels = 32, kernel = 3, stride = 2, padding = 1 },
]
[sampler]
kind = "langevin"
step_size = 10.0
noise_scale = 0.00112
clamp = [-1.0, 1.0]
[loss]
kind = "contrastive_divergence"
k = 5
buffer_capacity = 128
init = { kind = "uniform", low = -1.0, high = 1.0 }
[train]
steps = 4
log_every = 4
plot_every = 0
checkpoint_every = 1000
[eval]
n_samples = 4
steps = 1
init = { kind = "uniform", low = -1.0, high = 1.0 }
"#;

/// CIFAR-10 binary files of random records (label byte + 3,072 pixel bytes).
fn scaling(c: &mut Criterion) {
    ebm_samplers::link();
    ebm_losses::link();
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("cifar");
    ebm_data::write_synthetic_cifar(&data, 64, 7).expect("write data");
    let cases = [
        ("two_moons_b512", TWO_MOONS.to_string(), 512usize),
        (
            "conv_b32",
            CONV.replace("DATA", data.to_str().expect("utf-8 path")),
            32,
        ),
    ];
    let mut group = c.benchmark_group("data_parallel");
    group.sample_size(10);
    for (name, text, global_batch) in cases {
        for ranks in [1usize, 2] {
            let path = tmp.path().join(format!("{name}-{ranks}.toml"));
            std::fs::write(&path, &text).expect("write config");
            let sets = vec![format!("train.batch_size={}", global_batch / ranks)];
            let loaded = load(&path, &sets).expect("bench config loads");
            let mut run = 0;
            group.bench_function(format!("{name}/ranks_{ranks}"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        run += 1;
                        let out = tmp.path().join(format!("run-{name}-{ranks}-{run}"));
                        let summary = run_local_ranks(&loaded, &out, Start::Fresh, ranks, NoHooks)
                            .expect("run");
                        total += Duration::from_secs_f64(summary.train_seconds);
                        let _ = std::fs::remove_dir_all(&out);
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
