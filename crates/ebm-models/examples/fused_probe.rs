//! Times the MLP's fused sampling view (or the op path) on the anchor network 2-128-128-1 SiLU:
//! `cargo run --release -p ebm-models --example fused_probe -- ROWS CALLS [ops]`.
//! Under `RAYON_NUM_THREADS=1 perf stat -e task-clock` the CPU time per call is a figure that
//! does not depend on what else the machine runs (benches/RESULTS.md, "Samplers").

use candle_core::Device;
use ebm_core::{rng, Energy, Model};
use ebm_models::{Mlp, MlpConfig};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: fused_probe ROWS CALLS [ops]";
    let rows: usize = args.get(1).ok_or(usage)?.parse()?;
    let calls: usize = args.get(2).ok_or(usage)?.parse()?;
    let mut r = rng::stream(0, "init", 0);
    let mlp = Mlp::new(&MlpConfig::default(), 2, &mut r, &Device::Cpu)?;
    let view: Box<dyn Energy> = match args.get(3).map(String::as_str) {
        Some("ops") => Box::new(mlp.detached_ops()),
        _ => mlp.detached(),
    };
    let x = rng::randn(&mut rng::stream(1, "x", 0), &[rows, 2], &Device::Cpu)?;
    let start = Instant::now();
    for _ in 0..calls {
        view.grad(&x)?;
    }
    let per_call = start.elapsed().as_secs_f64() / calls.max(1) as f64;
    println!(
        "{rows} rows: {:.1} µs per ∇ₓE, {:.3e} rows/s (wall clock)",
        per_call * 1e6,
        rows as f64 / per_call
    );
    Ok(())
}
