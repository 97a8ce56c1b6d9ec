//! One transition of each sampler on the anchor MLP (2-128-128-1, SiLU) at 10, 1,000 and 10,000
//! chains: throughput in chain-steps/s, comparable with TorchEBM's bench (a) and (b).
//!
//! `cargo bench -p ebm-benches --bench samplers`

use candle_core::Device;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ebm_core::{build_sampler, rng, run_chains, Chains, PluginSpec};

/// name, TOML parameters (HMC as in the anchor: L = 10, ε = 0.01).
const SAMPLERS: &[(&str, &str)] = &[
    ("langevin", "kind = \"langevin\"\nstep_size = 0.01"),
    ("mala", "kind = \"mala\"\nstep_size = 0.01"),
    ("hmc", "kind = \"hmc\"\nstep_size = 0.01\nn_leapfrog = 10"),
];

fn samplers(c: &mut Criterion) {
    ebm_samplers::link();
    let model = ebm_benches::anchor_mlp();
    let view = model.detached();
    for (name, params) in SAMPLERS {
        let spec: PluginSpec = match toml::from_str(params) {
            Ok(s) => s,
            Err(e) => panic!("bench spec for {name}: {e}"),
        };
        let mut group = c.benchmark_group(format!("{name}_step/mlp_2_128_128_1_silu"));
        for chains in [10usize, 1_000, 10_000] {
            group.throughput(Throughput::Elements(chains as u64));
            group.bench_function(format!("{chains}_chains"), |b| {
                let mut sampler = build_sampler("sampler", &spec).expect("sampler builds");
                let mut r = rng::stream(0, "bench", 0);
                // Warm chains: one step first, so MALA/HMC run with their cache filled, as in a
                // long sampling run.
                let start =
                    rng::randn(&mut rng::stream(1, "x", 0), &[chains, 2], &Device::Cpu).expect("x");
                let mut warm = Chains::new(start);
                run_chains(sampler.as_mut(), view.as_ref(), &mut warm, 1, &mut r).expect("warm-up");
                b.iter_batched(
                    || warm.clone(),
                    |mut ch| {
                        run_chains(sampler.as_mut(), view.as_ref(), &mut ch, 1, &mut r)
                            .expect("step");
                        ch
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, samplers);
criterion_main!(benches);
