//! Opening a finished (or interrupted) run folder: its resolved config in force (`config.toml`,
//! or the newest `config.resume-N.toml` a resume recorded) and the model of its newest
//! checkpoint. `ebm-launch sample` and `ebm-launch eval` both start here.

use crate::Result;
use candle_core::Device;
use ebm_train::{checkpoint, Error, LoadedConfig, TrainState};
use std::path::{Path, PathBuf};

/// A run folder's config and its newest checkpoint, restored.
pub struct TrainedRun {
    pub loaded: LoadedConfig,
    pub state: TrainState,
    /// The checkpoint the state came from.
    pub checkpoint: PathBuf,
    pub config_path: PathBuf,
}

impl TrainedRun {
    /// Opens `run_dir` on `device`; errors name the folder and what is missing.
    pub fn open(run_dir: &Path, device: &Device) -> Result<Self> {
        Self::open_at(run_dir, None, device)
    }

    /// [`TrainedRun::open`] with `checkpoint` (a file of the run's, or any checkpoint of the
    /// same config) instead of the newest.
    pub fn open_at(run_dir: &Path, checkpoint: Option<&Path>, device: &Device) -> Result<Self> {
        let bad_dir = |message: String| Error::RunDir {
            path: run_dir.to_path_buf(),
            message,
        };
        let config_path = ebm_train::RunDir::config_in_force(run_dir);
        if !config_path.is_file() {
            return Err(bad_dir("is not a run folder: config.toml is missing".into()).into());
        }
        let ckpt = match checkpoint {
            Some(path) if path.is_file() => path.to_path_buf(),
            Some(path) => {
                return Err(crate::Error::usage(format!(
                    "--checkpoint {}: no such file",
                    path.display()
                )))
            }
            None => {
                checkpoint::list(&run_dir.join("checkpoints"))?
                    .pop()
                    .ok_or_else(|| bad_dir("has no checkpoint in checkpoints/".into()))?
                    .1
            }
        };
        let loaded = ebm_train::load(&config_path, &[])?;
        let mut state = TrainState::new(&loaded.config, device).map_err(|e| loaded.locate(e))?;
        let saved = checkpoint::load(&ckpt, device)?;
        // NaN weights sample NaN and score NaN: refuse them, naming the tensor.
        if let Some((tensor, bad, n)) = checkpoint::non_finite_weights(&saved)? {
            return Err(bad_dir(format!(
                "checkpoint {} holds non-finite weights: tensor `{tensor}` has {bad} NaN or \
                 infinite values of {n} (the run diverged before it was saved)",
                ckpt.display()
            ))
            .into());
        }
        state.restore(&saved, &ckpt)?;
        Ok(TrainedRun {
            loaded,
            state,
            checkpoint: ckpt,
            config_path,
        })
    }
}
