//! The run folder: `config.toml`, `metrics.jsonl`, `plots/`, `samples.npy`, `eval.json`,
//! `checkpoints/`, `tb/` (TensorBoard). A fresh run refuses a folder that already holds a run, so nothing trained is
//! overwritten by accident.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates the layout for a new run in `root` (which must not hold a run already).
    pub fn create(root: &Path) -> Result<Self> {
        let dir = RunDir {
            root: root.to_path_buf(),
        };
        if dir.metrics().exists() || dir.checkpoints().exists() {
            return Err(Error::RunDir {
                path: root.to_path_buf(),
                message: "already holds a run; continue it with --resume, or pick another --out"
                    .into(),
            });
        }
        std::fs::create_dir_all(dir.plots()).map_err(Error::io(dir.plots()))?;
        std::fs::create_dir_all(dir.checkpoints()).map_err(Error::io(dir.checkpoints()))?;
        Ok(dir)
    }

    /// An existing run folder to resume.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = RunDir {
            root: root.to_path_buf(),
        };
        if !dir.checkpoints().is_dir() {
            return Err(Error::RunDir {
                path: root.to_path_buf(),
                message: "has no checkpoints/ to resume from".into(),
            });
        }
        std::fs::create_dir_all(dir.plots()).map_err(Error::io(dir.plots()))?;
        Ok(dir)
    }

    /// The layout of `root` without touching the disk: what ranks other than 0 hold, since only
    /// rank 0 creates or writes the run folder.
    pub(crate) fn at(root: &Path) -> Self {
        RunDir {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    pub fn plots(&self) -> PathBuf {
        self.root.join("plots")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }
    /// TensorBoard's event files (`[train] tensorboard`).
    pub fn tensorboard(&self) -> PathBuf {
        self.root.join("tb")
    }
    pub fn samples(&self) -> PathBuf {
        self.root.join("samples.npy")
    }
    pub fn eval(&self) -> PathBuf {
        self.root.join("eval.json")
    }
}

/// Writes a file through a temp name and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    write(&tmp)?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}
