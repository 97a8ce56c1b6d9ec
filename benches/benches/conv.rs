//! ∇ₓE of the conv energy of issue 6's bench (Conv 3→64 k3 p1, SiLU, 64→128 k4 s2 p1, SiLU,
//! 128→128 k4 s2 p1, SiLU, global average pool, Linear 128→1) on 3×32×32 images at batch 64:
//! the sampling view's fused im2col + GEMM path, and candle's ops + autograd on the same weights
//! for comparison. TorchEBM/PyTorch: 94.6 ms (shared/anchors/torchebm/RESULTS.md, row f).
//!
//! Also the fused ∇ₓE of the default IGEBM-style ResNet (`[model] kind = "resnet"`: channels
//! 64/128/256, 2 blocks per stage, sum pool) at the same batch, which has no anchor.
//!
//! `cargo bench -p ebm-benches --bench conv`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use ebm_core::{autograd_energy_and_grad, rng, Energy, Model};
use ebm_models::{ConvConfig, ConvNet, ResNet, ResNetConfig};
use std::time::Duration;

const BATCH: usize = 64;

fn conv(c: &mut Criterion) {
    let dev = Device::Cpu;
    let model = ConvNet::new(
        &ConvConfig::default(),
        &[3, 32, 32],
        &mut rng::stream(0, "init", 0),
        &dev,
    )
    .expect("benchmark network builds");
    let x = rng::rand_uniform(
        &mut rng::stream(1, "x", 0),
        &[BATCH, 3, 32, 32],
        -1.0,
        1.0,
        &dev,
    )
    .expect("images");

    let mut group = c.benchmark_group("conv_grad/bench_net_3x32x32");
    let fused = model.detached();
    group.bench_function("fused_b64", |b| {
        b.iter(|| fused.grad(&x).expect("fused ∇ₓE"))
    });
    // The same, timed in CPU time summed over threads (divide by the thread count for the wall
    // time of an idle machine).
    group.bench_function("cpu_fused_b64", |b| {
        b.iter_custom(|iters| {
            let t0 = cpu_ns();
            for _ in 0..iters {
                fused.grad(&x).expect("fused ∇ₓE");
            }
            Duration::from_nanos(cpu_ns().saturating_sub(t0))
        })
    });
    group.bench_function("fused_energy_b64", |b| {
        b.iter(|| fused.energy(&x).expect("fused E"))
    });
    // candle's autograd takes 0.6–4 s per call: few samples.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let reference = model.detached_autograd();
    group.bench_function("candle_autograd_b64", |b| {
        b.iter(|| autograd_energy_and_grad(&reference, &x).expect("autograd ∇ₓE"))
    });
    group.bench_function("candle_forward_b64", |b| {
        b.iter(|| reference.energy(&x).expect("candle E"))
    });
    group.finish();

    let resnet = ResNet::new(
        &ResNetConfig::default(),
        &[3, 32, 32],
        &mut rng::stream(0, "init", 0),
        &dev,
    )
    .expect("default resnet builds");
    let fused = resnet.detached();
    let mut group = c.benchmark_group("resnet_grad/igebm_default_3x32x32");
    group.sample_size(10);
    group.bench_function("fused_b64", |b| {
        b.iter(|| fused.grad(&x).expect("fused ∇ₓE"))
    });
    group.finish();
}

criterion_group!(benches, conv);
criterion_main!(benches);

/// CPU time of this process so far, summed over its threads (ns, from /proc/self/task/*/schedstat;
/// 0 where that does not exist). On a shared machine wall time counts the waits for a core too;
/// this does not.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
