//! Checkpoints: one safetensors file per saved step, `checkpoints/step_0000500.safetensors`,
//! holding tensors (weights, optimizer moments, chain bank, batch order) and string metadata
//! (step, RNG positions). safetensors only: loading a checkpoint never runs code. Files are
//! written to a temp name, synced and renamed, so a crash never leaves a half-written checkpoint.

use crate::{Error, Result};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Everything saved at one step.
pub struct Checkpoint {
    pub tensors: HashMap<String, Tensor>,
    pub meta: HashMap<String, String>,
}

impl Checkpoint {
    pub fn tensor(&self, key: &str) -> Option<Tensor> {
        self.tensors.get(key).cloned()
    }

    pub fn meta(&self, key: &str, path: &Path) -> Result<&str> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::Checkpoint {
                path: path.to_path_buf(),
                message: format!("metadata `{key}` missing"),
            })
    }
}

pub fn file_name(step: u64) -> String {
    format!("step_{step:07}.safetensors")
}

/// Writes `ckpt` as `dir/step_NNNNNNN.safetensors`, atomically.
pub fn save(dir: &Path, step: u64, ckpt: &Checkpoint) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let path = dir.join(file_name(step));
    let tmp = dir.join(format!(".{}.tmp", file_name(step)));
    let mut entries: Vec<(&String, &Tensor)> = ckpt.tensors.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let meta = Some(ckpt.meta.clone());
    safetensors::tensor::serialize_to_file(entries, meta, &tmp).map_err(|e| Error::Checkpoint {
        path: tmp.clone(),
        message: e.to_string(),
    })?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(Error::io(&path))?;
    Ok(path)
}

/// Checkpoints in `dir`, oldest first, with their steps.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(step) = name
            .strip_prefix("step_")
            .and_then(|s| s.strip_suffix(".safetensors"))
        {
            if let Ok(step) = step.parse() {
                out.push((step, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Deletes all but the newest `keep` checkpoints.
pub fn prune(dir: &Path, keep: usize) -> Result<()> {
    let all = list(dir)?;
    for (_, path) in all.iter().take(all.len().saturating_sub(keep)) {
        std::fs::remove_file(path).map_err(Error::io(path))?;
    }
    Ok(())
}

pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    from_bytes(&bytes, path, device)
}

/// Parses a checkpoint file's bytes (`path` only names it in errors). Ranks other than 0 get a
/// checkpoint this way, broadcast from rank 0, without touching the run folder.
pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Checkpoint> {
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let tensors =
        candle_core::safetensors::load_buffer(bytes, device).map_err(|e| bad(e.to_string()))?;
    Ok(Checkpoint { tensors, meta })
}
