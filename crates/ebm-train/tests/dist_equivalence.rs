//! The test of the whole data-parallel design: N ranks with per-rank batch b follow one rank with
//! batch N·b, step for step, for a deterministic loss. Each rank's batch is its whole data shard
//! and the shards partition the training set, so the big batch is exactly the union of the small
//! ones; only the gradient averaging can make the runs agree. The logged `grad_norm` is N× off if
//! the all-reduce sums instead of averaging, and the weights drift if it is skipped.

use candle_core::Tensor;
use ebm_core::{register_loss, Loss, LossOut, Model, PluginArgs, Result as CoreResult, TrainCtx};
use ebm_train::{checkpoint, load, run_local_ranks, NoHooks, Start};
use std::path::Path;

/// L = 1 + mean(E) + ½ mean(E²) = ½ mean((E+1)²) + ½ ≥ ½: no randomness, nonlinear in E so
/// per-sample weights matter, and away from 0 so a relative comparison means something.
struct EnergyMoments;

impl Loss for EnergyMoments {
    fn name(&self) -> &'static str {
        "energy_moments"
    }
    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        _: &mut TrainCtx,
    ) -> CoreResult<LossOut> {
        let e = model.energy(batch)?;
        let loss = ((e.mean_all()? + (e.sqr()?.mean_all()? * 0.5)?)? + 1.0)?;
        Ok(LossOut {
            loss,
            metrics: vec![],
        })
    }
}

fn build(_: &PluginArgs) -> CoreResult<Box<dyn Loss>> {
    Ok(Box::new(EnergyMoments))
}
register_loss!("energy_moments", build);

const N: usize = 64;
const STEPS: u64 = 20;

fn config(dir: &Path, batch: usize) -> std::path::PathBuf {
    ebm_samplers::link();
    let text = format!(
        r#"
seed = 3
[model]
kind = "mlp"
hidden = [16, 16]
[data]
kind = "two_moons"
n_samples = {N}
[loss]
kind = "energy_moments"
[optim]
lr = 0.01
[train]
steps = {STEPS}
batch_size = {batch}
log_every = 1
plot_every = 0
checkpoint_every = {STEPS}
[eval]
n_samples = 64
steps = 5
[dist]
check_every = 1
"#
    );
    let p = dir.join(format!("run_{batch}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `ranks` ranks with per-rank batch N / ranks; returns the metrics rows and final weights.
fn train(ranks: usize) -> (Vec<serde_json::Value>, Vec<(String, Tensor)>) {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&config(dir.path(), N / ranks), &[]).unwrap();
    let run = dir.path().join("run");
    let summary = run_local_ranks(&loaded, &run, Start::Fresh, ranks, NoHooks).unwrap();
    assert_eq!(summary.steps, STEPS);
    let rows = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let path = run.join("checkpoints").join(checkpoint::file_name(STEPS));
    let ckpt = checkpoint::load(&path, &candle_core::Device::Cpu).unwrap();
    let mut weights: Vec<_> = ckpt
        .tensors
        .into_iter()
        .filter(|(k, _)| k.starts_with("model."))
        .collect();
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    (rows, weights)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn n_ranks_with_batch_b_match_one_rank_with_batch_n_b() {
    let (rows1, w1) = train(1);
    assert_eq!(rows1.len(), STEPS as usize);
    for ranks in [2, 4] {
        let (rows, w) = train(ranks);
        assert_eq!(rows.len(), rows1.len());
        for (a, b) in rows1.iter().zip(&rows) {
            for key in ["loss", "grad_norm"] {
                let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
                assert!(
                    rel(x, y) < 1e-5,
                    "{ranks} ranks, step {}: {key} {y} vs {x} on one rank",
                    a["step"]
                );
            }
        }
        assert_eq!(w.len(), w1.len());
        for ((name, a), (_, b)) in w1.iter().zip(&w) {
            let diff = (a - b).unwrap().sqr().unwrap().sum_all().unwrap();
            let norm = a.sqr().unwrap().sum_all().unwrap();
            let r = (diff.to_scalar::<f32>().unwrap() / norm.to_scalar::<f32>().unwrap()).sqrt();
            assert!(r < 1e-5, "{ranks} ranks: {name} differs by {r} (relative)");
        }
    }
}
