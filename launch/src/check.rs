//! `ebm-launch check CONFIG [--set ...] [--ranks N]`: everything that can be checked without
//! training. It resolves the config (file, `EBM_*` environment, `--set`), builds what rank 0 of
//! an N-rank run builds — the plugins with their parameters, the training set (files read and
//! validated, shapes), the model with its seeded weights, the optimizer, the chain bank — and
//! prints the model's size, a memory estimate per rank and the resolved config. Exit 0, or 2
//! with the error naming the key and the file; it never trains and writes nothing.

use crate::cli::LaunchError;
use candle_core::Device;
use ebm_train::TrainState;
use std::path::Path;

/// Bytes of one f32.
const F32: usize = 4;

/// What `check` found: sizes in parameters and bytes.
pub struct CheckReport {
    /// Ranks the estimate is for.
    pub world: usize,
    pub params: usize,
    pub sample_shape: Vec<usize>,
    pub train_points_per_rank: usize,
    pub chains_per_rank: usize,
    pub ema: bool,
    pub resolved: String,
}

impl CheckReport {
    /// (what, bytes) per rank: weights, their gradients, AdamW's two moments, the EMA copy,
    /// the chain bank and the training shard. Activations depend on the batch and the network
    /// and are not included.
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        let sample: usize = self.sample_shape.iter().product();
        let mut rows = vec![
            ("weights", self.params * F32),
            ("gradients", self.params * F32),
            ("AdamW moments", 2 * self.params * F32),
        ];
        if self.ema {
            rows.push(("EMA weights", self.params * F32));
        }
        rows.push(("chain bank", self.chains_per_rank * sample * F32));
        rows.push(("training data", self.train_points_per_rank * sample * F32));
        rows
    }
}

/// Loads and builds `config` as rank 0 of `ranks` would.
pub fn check(
    config: &Path,
    sets: &[String],
    ranks: Option<usize>,
) -> Result<CheckReport, LaunchError> {
    let loaded = ebm_train::load(config, sets)?;
    let mut cfg = loaded.config.clone();
    ebm_core::take_resolved_params(); // only what this check builds
    let world = ranks.unwrap_or(cfg.dist.ranks).max(1);
    let state = TrainState::for_rank(&cfg, &Device::Cpu, 0, world).map_err(|e| loaded.locate(e))?;
    // The plugin tables with every default filled in, as the plugins parsed them.
    for (section, table) in ebm_core::take_resolved_params() {
        let spec = match section.as_str() {
            "sampler" => Some(&mut cfg.sampler),
            "loss" => Some(&mut cfg.loss),
            "eval.sampler" => cfg.eval.sampler.as_mut(),
            _ => None,
        };
        if let Some(spec) = spec {
            spec.params = table;
        }
    }
    let params = state
        .model
        .params()
        .iter()
        .map(|p| p.var.as_tensor().elem_count())
        .sum();
    Ok(CheckReport {
        world,
        params,
        sample_shape: state.input_shape(),
        train_points_per_rank: state.batcher.points().len(),
        chains_per_rank: state.loss.chain_bank().map_or(0, |b| b.capacity()),
        ema: state.ema.is_some(),
        resolved: cfg.to_toml()?,
    })
}

/// `ebm-launch check`'s output.
pub fn print(config: &Path, r: &CheckReport) {
    let world = r.world;
    println!("{}: valid", config.display());
    println!(
        "  model: {} parameters; sample shape {:?}; {} training points and {} persistent chains on each of {world} rank(s)",
        r.params, r.sample_shape, r.train_points_per_rank, r.chains_per_rank
    );
    println!("  memory per rank (activations not included):");
    let mut total = 0;
    for (what, bytes) in r.memory() {
        println!("    {what:<14} {}", human(bytes));
        total += bytes;
    }
    println!("    {:<14} {}", "total", human(total));
    println!("# the resolved config, every default filled in");
    print!("{}", r.resolved);
}

fn human(bytes: usize) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b / 1_048_576.0),
        _ => format!("{:.2} GiB", b / 1_073_741_824.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_counts_weights_optimizer_bank_and_data() {
        let r = CheckReport {
            world: 1,
            params: 1000,
            sample_shape: vec![3, 32, 32],
            train_points_per_rank: 10,
            chains_per_rank: 100,
            ema: true,
            resolved: String::new(),
        };
        let m: std::collections::HashMap<_, _> = r.memory().into_iter().collect();
        assert_eq!(m["weights"], 4000);
        assert_eq!(m["AdamW moments"], 8000);
        assert_eq!(m["EMA weights"], 4000);
        assert_eq!(m["chain bank"], 100 * 3072 * 4);
        assert_eq!(m["training data"], 10 * 3072 * 4);
        assert_eq!(human(2048), "2.0 KiB");
        assert_eq!(human(3 * 1_073_741_824), "3.00 GiB");
    }
}
