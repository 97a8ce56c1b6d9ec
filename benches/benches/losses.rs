//! One training step (loss, backward, AdamW) of each MCMC-free loss at batch 256 on the anchor
//! MLP (2-128-128-1, SiLU), as TorchEBM's bench (e) measures the score-matching ones. Flow
//! matching runs the same hidden layers with a time input and a vector head (2+9 → 128 → 128 → 2),
//! equilibrium matching the energy head itself.
//!
//! `cargo bench -p ebm-benches --bench losses`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use ebm_train::{load, train_step, TrainState};

/// The anchor MLP.
const MLP: &str = "kind = \"mlp\"\nhidden = [128, 128]\nactivation = \"silu\"";

/// bench name, `[loss]` table, extra `[model]` keys.
const LOSSES: &[(&str, &str, &str)] = &[
    ("score_matching_exact", "kind = \"score_matching\"", ""),
    (
        "sliced_score_matching_5",
        "kind = \"sliced_score_matching\"\nn_projections = 5",
        "",
    ),
    (
        "sliced_score_matching_1",
        "kind = \"sliced_score_matching\"\nn_projections = 1",
        "",
    ),
    (
        "denoising_score_matching",
        "kind = \"denoising_score_matching\"\nsigma = 0.1",
        "",
    ),
    (
        "flow_matching_field",
        "kind = \"flow_matching\"",
        "time = true\noutput = \"field\"",
    ),
    (
        "equilibrium_matching_energy",
        "kind = \"equilibrium_matching\"",
        "",
    ),
];

fn losses(c: &mut Criterion) {
    ebm_samplers::link();
    ebm_losses::link();
    ebm_core::ensure_double_backward();
    let dir = std::env::temp_dir().join("ebm-bench-losses");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut group = c.benchmark_group("loss_step/two_moons_b256_mlp_2_128_128_1_silu");
    for (name, loss, model) in LOSSES {
        let path = dir.join(format!("{name}.toml"));
        let text = format!("seed = 0\n[data]\nkind = \"two_moons\"\nn_samples = 3000\n[model]\n{MLP}\n{model}\n[train]\nbatch_size = 256\n[loss]\n{loss}\n");
        std::fs::write(&path, text).expect("write config");
        let loaded = load(&path, &[]).expect("bench config loads");
        let mut state = TrainState::new(&loaded.config, &Device::Cpu).expect("state");
        group.bench_function(*name, |b| {
            b.iter(|| train_step(&mut state, &loaded.config).expect("step"))
        });
    }
    group.finish();
}

criterion_group!(benches, losses);
criterion_main!(benches);
