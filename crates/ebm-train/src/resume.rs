//! Resuming: rank 0 finds the newest checkpoint of the run folder and reads it; on a multi-rank
//! run it broadcasts the file's bytes, so the other ranks never touch the run folder (which,
//! with one process per node, they may not even see). Each rank then restores its own part.
//! A run folder without a checkpoint (the run stopped before its first one) restarts from step
//! 0: every rank then keeps the state it was built with. A checkpoint whose checksum does not
//! verify (a corrupt or truncated file) is skipped, with a warning naming it, for the newest one
//! that does; when none does, the resume fails naming the newest.

use crate::dist::wire::broadcast_bytes;
use crate::{checkpoint, Error, Result, RunDir, TrainState};
use candle_core::Device;
use ebm_dist::Collective;
use std::path::{Path, PathBuf};

/// Rank 0 reads the newest checkpoint of `dir` (or `chosen`, which must verify) and broadcasts
/// it; every rank restores its part. Returns the checkpoint's path, or `None` (on every rank)
/// when `dir` has no checkpoint.
pub(crate) fn restore_newest(
    coll: &dyn Collective,
    dir: &RunDir,
    state: &mut TrainState,
    device: &Device,
    chosen: Option<&Path>,
) -> Result<Option<PathBuf>> {
    let (name, bytes) = if coll.rank() == 0 {
        let found = match chosen {
            Some(file) => Some(chosen_checkpoint(dir, file)?),
            None => newest_verified(dir)?,
        };
        match found {
            Some((path, bytes)) => (path.to_string_lossy().into_owned().into_bytes(), bytes),
            None => (Vec::new(), Vec::new()),
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let (name, bytes) = if coll.world_size() > 1 {
        (
            broadcast_bytes(coll, &name, 0)?,
            broadcast_bytes(coll, &bytes, 0)?,
        )
    } else {
        (name, bytes)
    };
    if name.is_empty() {
        return Ok(None);
    }
    let path = PathBuf::from(String::from_utf8_lossy(&name).into_owned());
    state.restore(&checkpoint::from_bytes(&bytes, &path, device)?, &path)?;
    Ok(Some(path))
}

/// `file` and its bytes, which must verify; the run's checkpoints newer than it are moved to
/// `checkpoints/superseded/` (the resumed run would otherwise overwrite them step by step).
fn chosen_checkpoint(dir: &RunDir, file: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let bytes = std::fs::read(file).map_err(Error::io(file))?;
    let meta = checkpoint::verify(&bytes, file)?;
    let step: u64 = meta
        .get("step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Config(format!("{}: no step in its metadata", file.display())))?;
    let newer: Vec<PathBuf> = checkpoint::list(&dir.checkpoints())?
        .into_iter()
        .filter(|(s, p)| *s > step && p.as_path() != file)
        .map(|(_, p)| p)
        .collect();
    if !newer.is_empty() {
        let aside = dir.checkpoints().join("superseded");
        std::fs::create_dir_all(&aside).map_err(Error::io(&aside))?;
        for p in &newer {
            let to = aside.join(p.file_name().unwrap_or_default());
            std::fs::rename(p, &to).map_err(Error::io(p))?;
        }
        tracing::warn!(
            "resuming from step {step}: the {} newer checkpoint(s) are moved to {}",
            newer.len(),
            aside.display()
        );
    }
    Ok((file.to_path_buf(), bytes))
}

/// The newest checkpoint of `dir` whose bytes verify, and its bytes; the ones skipped are
/// logged. `None` when `dir` has no checkpoint; an error (the newest one's) when none verifies.
fn newest_verified(dir: &RunDir) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let mut first_error = None;
    for (_, path) in checkpoint::list(&dir.checkpoints())?.into_iter().rev() {
        let checked = std::fs::read(&path)
            .map_err(Error::io(&path))
            .and_then(|bytes| checkpoint::verify(&bytes, &path).map(|_| bytes));
        match checked {
            Ok(bytes) => {
                if first_error.is_some() {
                    tracing::warn!(
                        checkpoint = %path.display(),
                        "resuming from the newest checkpoint that verifies"
                    );
                }
                return Ok(Some((path, bytes)));
            }
            Err(e) => {
                tracing::warn!("skipping checkpoint {}: {e}", path.display());
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}
