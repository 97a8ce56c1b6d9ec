//! One training step (loss, backward, AdamW) of each score-matching loss at batch 256 on the
//! anchor MLP (2-128-128-1, SiLU), as TorchEBM's bench (e) measures them.
//!
//! `cargo bench -p ebm-benches --bench losses`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use ebm_train::{load, train_step, TrainState};

/// bench name, `[loss]` table.
const LOSSES: &[(&str, &str)] = &[
    ("score_matching_exact", "kind = \"score_matching\""),
    (
        "sliced_score_matching_5",
        "kind = \"sliced_score_matching\"\nn_projections = 5",
    ),
    (
        "sliced_score_matching_1",
        "kind = \"sliced_score_matching\"\nn_projections = 1",
    ),
    (
        "denoising_score_matching",
        "kind = \"denoising_score_matching\"\nsigma = 0.1",
    ),
];

fn losses(c: &mut Criterion) {
    ebm_samplers::link();
    ebm_losses::link();
    ebm_core::ensure_double_backward();
    let dir = std::env::temp_dir().join("ebm-bench-losses");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut group = c.benchmark_group("loss_step/two_moons_b256_mlp_2_128_128_1_silu");
    for (name, loss) in LOSSES {
        let path = dir.join(format!("{name}.toml"));
        let text = format!("seed = 0\n[data]\nkind = \"two_moons\"\nn_samples = 3000\n[train]\nbatch_size = 256\n[loss]\n{loss}\n");
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
