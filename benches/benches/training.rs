//! One PCD training step on two moons, configured as TorchEBM's bench (c).
//!
//! `cargo bench -p ebm-benches --bench training`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use ebm_train::{load, train_step, TrainState};

fn pcd_step(c: &mut Criterion) {
    ebm_samplers::link();
    ebm_losses::link();
    let dir = std::env::temp_dir().join("ebm-bench-pcd");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("pcd.toml");
    std::fs::write(&path, ebm_benches::PCD_TWO_MOONS).expect("write config");
    let loaded = load(&path, &[]).expect("bench config loads");
    let mut state = TrainState::new(&loaded.config, &Device::Cpu).expect("state");
    c.bench_function("pcd_step/two_moons_b256_k10", |b| {
        b.iter(|| train_step(&mut state, &loaded.config).expect("step"))
    });
}

criterion_group!(benches, pcd_step);
criterion_main!(benches);
