//! Checkpoints: one safetensors file per saved step, `checkpoints/step_0000500.safetensors`,
//! holding tensors (weights, optimizer moments, chain bank, batch order) and string metadata
//! (step, RNG positions). safetensors only: loading a checkpoint never runs code. Files are
//! written to a temp name, synced and renamed (and the folder synced), so a crash never leaves a
//! half-written checkpoint; a failed write removes its temp file. The bytes are deterministic:
//! tensors in safetensors' order (dtype, then name) and metadata sorted by key, so two identical
//! runs write identical files. The metadata holds a CRC-32C of the tensor bytes
//! (`checksum.crc32c`), verified on load: a flipped weight byte is a checkpoint error, and
//! `--resume` falls back to the newest checkpoint that verifies. Checkpoints written before the
//! checksum load unverified (with a warning, once).

use crate::run_dir::write_atomic;
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The metadata key of the tensor bytes' CRC-32C (8 lowercase hex digits).
pub const CHECKSUM_KEY: &str = "checksum.crc32c";

/// Everything saved at one step.
pub struct Checkpoint {
    pub tensors: HashMap<String, Tensor>,
    /// Sorted by key: written in this order.
    pub meta: BTreeMap<String, String>,
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

/// The first weight tensor (`model.*`, `ema.*`, by name) holding NaN or infinite values, with how
/// many of its values are, out of how many. A model with such weights cannot sample or score.
pub fn non_finite_weights(ckpt: &Checkpoint) -> Result<Option<(String, usize, usize)>> {
    let mut names: Vec<&String> = ckpt
        .tensors
        .keys()
        .filter(|n| n.starts_with("model.") || n.starts_with("ema."))
        .collect();
    names.sort();
    for name in names {
        let t = &ckpt.tensors[name];
        if !t.dtype().is_float() {
            continue;
        }
        let values = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?;
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Ok(Some((name.clone(), bad, values.len())));
        }
    }
    Ok(None)
}

pub fn file_name(step: u64) -> String {
    format!("step_{step:07}.safetensors")
}

/// The step a checkpoint file is named for (`step_0000020.safetensors` → 20); `None` for
/// another name.
pub fn step_of_file_name(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix("step_")?
        .strip_suffix(".safetensors")?
        .parse()
        .ok()
}

/// Writes `ckpt` as `dir/step_NNNNNNN.safetensors`, atomically.
pub fn save(dir: &Path, step: u64, ckpt: &Checkpoint) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let path = dir.join(file_name(step));
    write_atomic(&path, |tmp| write_file(tmp, ckpt))?;
    Ok(path)
}

/// The safetensors bytes of `ckpt` into `path`.
fn write_file(path: &Path, ckpt: &Checkpoint) -> Result<()> {
    use safetensors::tensor::{TensorInfo, View};
    // safetensors' own order: descending dtype alignment, then name.
    let mut entries: Vec<(&String, &Tensor)> = ckpt.tensors.iter().collect();
    entries.sort_by(|(ln, lt), (rn, rt)| {
        View::dtype(*rt)
            .cmp(&View::dtype(*lt))
            .then_with(|| ln.cmp(rn))
    });
    // Each tensor's bytes once (a copy for candle tensors): checksummed, then written.
    let data: Vec<_> = entries.iter().map(|(_, t)| View::data(*t)).collect();
    // The checksum of the data section, in the order it is written.
    let crc = data
        .iter()
        .fold(0u32, |crc, bytes| crc32c::crc32c_append(crc, bytes));
    let mut meta = ckpt.meta.clone();
    meta.insert(CHECKSUM_KEY.into(), format!("{crc:08x}"));
    let mut offset = 0;
    let mut infos = Vec::with_capacity(entries.len());
    for (name, t) in &entries {
        let n = View::data_len(*t);
        let info = TensorInfo {
            dtype: View::dtype(*t),
            shape: t.dims().to_vec(),
            data_offsets: (offset, offset + n),
        };
        offset += n;
        infos.push(((*name).clone(), info));
    }
    // Built as text so that the order does not depend on serde_json's map type: metadata first
    // (sorted: a BTreeMap), then the tensors in data order.
    let mut text = format!("{{\"__metadata__\":{}", to_json(&meta, path)?);
    for (name, info) in &infos {
        text.push(',');
        text.push_str(&to_json(name, path)?);
        text.push(':');
        text.push_str(&to_json(info, path)?);
    }
    text.push('}');
    let mut bytes = text.into_bytes();
    bytes.resize(bytes.len().next_multiple_of(8), b' ');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(Error::io(path))?);
    f.write_all(&(bytes.len() as u64).to_le_bytes())
        .and_then(|()| f.write_all(&bytes))
        .map_err(Error::io(path))?;
    for bytes in &data {
        f.write_all(bytes).map_err(Error::io(path))?;
    }
    // write_atomic syncs the file before the rename.
    f.flush().map_err(Error::io(path))
}

/// One value of a checkpoint's JSON header.
fn to_json<T: serde::Serialize + ?Sized>(value: &T, path: &Path) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Checkpoints in `dir`, oldest first, with their steps.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        if let Some(step) = step_of_file_name(&path) {
            out.push((step, path));
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
    let mut meta = verify(bytes, path)?;
    meta.remove(CHECKSUM_KEY);
    let tensors =
        candle_core::safetensors::load_buffer(bytes, device).map_err(|e| bad(e.to_string()))?;
    Ok(Checkpoint { tensors, meta })
}

/// Checks a checkpoint file's bytes against the checksum its metadata holds, and returns the
/// metadata. A file without a checksum (written by an older ebm) passes, with a warning once.
pub fn verify(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, String>> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let (header_len, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta: BTreeMap<String, String> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let data = bytes.get(8 + header_len..).unwrap_or_default();
    match meta.get(CHECKSUM_KEY) {
        Some(want) => {
            let got = format!("{:08x}", crc32c::crc32c(data));
            if *want != got {
                return Err(bad(format!(
                    "checksum mismatch (crc32c {got}, the metadata says {want}): the file is \
                     corrupt"
                )));
            }
        }
        None => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    checkpoint = %path.display(),
                    "checkpoint has no checksum (written by an older ebm): loaded unverified"
                );
            }
        }
    }
    check_meta(&meta, path)?;
    Ok(meta)
}

/// The metadata is not under the tensors' checksum: it must agree with itself (Adam counts one
/// update per step), with the file's name (checkpoints are named by their step), and name at
/// least one rank. An edited checkpoint fails here, like a corrupt one, so a resume skips it.
fn check_meta(meta: &BTreeMap<String, String>, path: &Path) -> Result<()> {
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let number = |key: &str| -> Result<Option<u64>> {
        meta.get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| bad(format!("metadata `{key}` = `{v}` is not a number")))
            })
            .transpose()
    };
    let step = number("step")?;
    if let (Some(step), Some(t)) = (step, number("optim.t")?) {
        if step != t {
            return Err(bad(format!(
                "metadata `step` = {step} and `optim.t` = {t} disagree (an edited checkpoint?)"
            )));
        }
    }
    if let (Some(step), Some(named)) = (step, step_of_file_name(path)) {
        if step != named {
            return Err(bad(format!(
                "metadata `step` = {step}, but the file is named for step {named}"
            )));
        }
    }
    if number("dist.world_size")? == Some(0) {
        return Err(bad("metadata `dist.world_size` = 0: no ranks".into()));
    }
    Ok(())
}
