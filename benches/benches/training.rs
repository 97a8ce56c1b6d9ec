//! PCD training step and Langevin steps on the anchor MLP.
//!
//! `cargo bench -p ebm-benches --bench training`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ebm_core::{rng, run_chains, Chains, Sampler};
use ebm_samplers::{Langevin, LangevinParams};
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

fn langevin(c: &mut Criterion) {
    let model = ebm_benches::anchor_mlp();
    let view = model.detached();
    let mut group = c.benchmark_group("langevin_step/mlp_2_128_128_1_silu");
    for chains in [10usize, 1_000, 10_000] {
        group.throughput(Throughput::Elements(chains as u64));
        group.bench_function(format!("{chains}_chains"), |b| {
            let mut r = rng::stream(0, "bench", 0);
            let mut sampler = Langevin::new(LangevinParams::default()).expect("sampler");
            b.iter_batched(
                || {
                    Chains::new(
                        rng::randn(&mut rng::stream(1, "x", 0), &[chains, 2], &Device::Cpu)
                            .expect("x"),
                    )
                },
                |mut ch| {
                    run_chains(
                        &mut sampler as &mut dyn Sampler,
                        view.as_ref(),
                        &mut ch,
                        1,
                        &mut r,
                    )
                    .expect("step");
                    ch
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, pcd_step, langevin);
criterion_main!(benches);
