//! A coarse memory estimate of a config, checked at load so that a huge size is a config error
//! naming its key (exit 2) instead of an aborted allocation (`memory allocation of … failed`,
//! SIGABRT) minutes later. The estimate counts only what grows with each size — the training set,
//! the chain bank, the network's weights and optimizer state, the evaluation samples — with
//! generous factors for copies, times `dist.ranks` for what each rank holds; it is meant to catch
//! sizes off by orders of magnitude, not to budget memory (`ebm-launch check` prints a finer
//! estimate of the built model).

use crate::{Result, RunConfig};
use ebm_core::Error as CoreError;
use ebm_models::ModelConfig;

/// Bound used where the machine's memory cannot be read (not Linux, no `/proc/meminfo`).
const FALLBACK_BOUND: f64 = 64.0 * (1u64 << 30) as f64;

/// Bytes of one f32 value.
const F32: f64 = 4.0;

/// The most memory a run may plan to use: the machine's total memory (`MemTotal` of
/// `/proc/meminfo`), else 64 GiB.
pub fn memory_bound() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kib| kib * 1024.0)
        .filter(|b| *b > 0.0)
        .unwrap_or(FALLBACK_BOUND)
}

/// What each size-like key would cost, in bytes (f64: sizes near `usize::MAX` must not
/// overflow), the largest first.
pub fn estimate(config: &RunConfig) -> Vec<(&'static str, f64)> {
    let dim = config.data.dim() as f64;
    let batch = config.train.batch_size as f64;
    let mut parts = vec![
        // Generated in f64, kept as f32 points, as a tensor and as each rank's shard.
        (
            "data.n_samples",
            config.data.n_samples() as f64 * dim * F32 * 6.0,
        ),
        // Model samples, fresh data, the chains' gradients and their copies.
        (
            "eval.n_samples",
            config.eval.n_samples as f64 * dim * F32 * 8.0,
        ),
        ("train.batch_size", batch * dim * F32 * 16.0),
    ];
    if let Some(cap) = buffer_capacity(config) {
        // The bank and the copy a checkpoint makes of it.
        parts.push(("loss.buffer_capacity", cap * dim * F32 * 2.0));
    }
    if let ModelConfig::Mlp(m) = &config.model {
        let input = dim + 2.0 * m.fourier_features as f64 + 1.0 + 2.0 * m.time_frequencies as f64;
        let mut widths = vec![input];
        widths.extend(m.hidden.iter().map(|w| *w as f64));
        widths.push(dim.max(1.0));
        let weights: f64 = widths.windows(2).map(|w| (w[0] + 1.0) * w[1]).sum();
        let activations: f64 = m.hidden.iter().map(|w| *w as f64).sum::<f64>() * batch;
        // Weights, gradients, two moments, an average, a detached view; activations of the
        // forward and backward passes.
        parts.push((
            "model.hidden",
            weights * F32 * 8.0 + activations * F32 * 8.0,
        ));
    }
    let shape = config.data.sample_shape();
    if let [c, h, w] = shape[..] {
        let image = [c as f64, h as f64, w as f64];
        match &config.model {
            ModelConfig::Conv(m) => parts.push((
                "model.layers",
                crate::memory_image::conv_bytes(m, image, 2.0 * batch),
            )),
            ModelConfig::ResNet(m) => parts.push((
                "model.channels",
                crate::memory_image::resnet_bytes(m, image, 2.0 * batch),
            )),
            ModelConfig::Mlp(_) => {}
        }
    }
    // Thread ranks (`dist.ranks`) each hold their own copy of all but the evaluation.
    let ranks = config.dist.ranks.max(1) as f64;
    for (key, bytes) in &mut parts {
        if *key != "eval.n_samples" {
            *bytes *= ranks;
        }
    }
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    parts
}

/// `[loss]`'s `buffer_capacity` when the loss keeps one (a persistent chain bank).
fn buffer_capacity(config: &RunConfig) -> Option<f64> {
    let p = &config.loss.params;
    if p.get("persistent").and_then(|v| v.as_bool()) == Some(false) {
        return None;
    }
    p.get("buffer_capacity")
        .and_then(|v| v.as_integer())
        .map(|c| c.max(0) as f64)
}

/// Refuses a config whose estimate exceeds `bound` bytes, naming the key that costs most.
pub fn check(config: &RunConfig, bound: f64) -> Result<()> {
    let parts = estimate(config);
    let total: f64 = parts.iter().map(|p| p.1).sum();
    if total > bound {
        let (key, bytes) = parts[0];
        return Err(CoreError::config(
            key,
            format!(
                "too large: the run would need about {} ({key} alone {}), more than the {} of \
                 memory this machine has",
                gib(total),
                gib(bytes),
                gib(bound)
            ),
        )
        .into());
    }
    Ok(())
}

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> RunConfig {
        toml::from_str("[data]\nkind = \"two_moons\"\nn_samples = 512\n").unwrap()
    }

    #[test]
    fn names_the_key_that_costs_most() {
        assert!(check(&small(), memory_bound()).is_ok());
        let mut c = small();
        c.eval.n_samples = 1 << 40;
        let e = check(&c, memory_bound()).unwrap_err().to_string();
        assert!(e.contains("eval.n_samples") && e.contains("GiB"), "{e}");
        let mut c = small();
        if let ModelConfig::Mlp(m) = &mut c.model {
            m.hidden = vec![usize::MAX, usize::MAX];
        }
        let e = check(&c, FALLBACK_BOUND).unwrap_err().to_string();
        assert!(e.contains("model.hidden"), "{e}");
        let mut c = small();
        c.loss
            .params
            .insert("buffer_capacity".into(), toml::Value::Integer(1 << 50));
        let e = check(&c, FALLBACK_BOUND).unwrap_err().to_string();
        assert!(e.contains("loss.buffer_capacity"), "{e}");
    }
}
