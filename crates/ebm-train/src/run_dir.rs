//! The run folder: `config.toml`, `metrics.jsonl`, `plots/`, `samples.npy`, `eval.json`,
//! `checkpoints/`, `tb/` (TensorBoard). A fresh run refuses a folder that already holds a run, so nothing trained is
//! overwritten by accident.
//!
//! One process owns a run folder at a time: rank 0 takes an OS advisory lock (`flock`) on
//! `.lock` (which holds its pid) before it checks or creates anything, and holds it for the
//! run's life ([`RunDir`] keeps it; the OS drops it when the process ends, however it ends).
//!
//! `config.toml` is the resolved config of the fresh run and is never rewritten. A resume whose
//! resolved config differs (`--set`, `EBM_*`, another file) records it as
//! `config.resume-N.toml` (N = 1, 2, …) once it has saved a checkpoint; the newest of these
//! ([`RunDir::config_in_force`]) is what a later resume, `sample` and `eval` read.

use crate::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The lock file's name in the run folder.
pub const LOCK_FILE: &str = ".lock";

#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
    /// Rank 0's hold on the folder; released when the last clone is dropped.
    lock: Option<Arc<RunLock>>,
}

impl RunDir {
    /// Creates the layout for a new run in `root` (which must not hold a run already). Takes the
    /// folder's lock first, so that the check and the creation are one step for other processes.
    pub fn create(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| match e.kind() {
            // Where the user pointed --out: their input (exit 2), not a failed run.
            std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::NotFound
            | std::io::ErrorKind::ReadOnlyFilesystem
            | std::io::ErrorKind::NotADirectory
            | std::io::ErrorKind::AlreadyExists => Error::RunDir {
                path: root.to_path_buf(),
                message: format!("cannot be created ({e}); pick another --out"),
            },
            _ => Error::io(root)(e),
        })?;
        let lock = RunLock::acquire(root)?;
        let dir = RunDir {
            root: root.to_path_buf(),
            lock: Some(Arc::new(lock)),
        };
        if Self::holds_run(root) {
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

    /// An existing run folder to resume, locked for this process. A folder whose run stopped
    /// before its first checkpoint (an empty `checkpoints/`) is accepted: the trainer starts it
    /// again from step 0.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = RunDir::at(root);
        if !dir.checkpoints().is_dir() {
            // Checked before the lock, so that a folder that is not a run gets no `.lock`.
            let message = if root.is_dir() {
                "has no checkpoints/ to resume from"
            } else {
                "does not exist or is not a folder: nothing to resume"
            };
            return Err(Error::RunDir {
                path: root.to_path_buf(),
                message: message.into(),
            });
        }
        let dir = RunDir {
            lock: Some(Arc::new(RunLock::acquire(root)?)),
            ..dir
        };
        remove_temp_files(&dir.checkpoints());
        std::fs::create_dir_all(dir.plots()).map_err(Error::io(dir.plots()))?;
        Ok(dir)
    }

    /// The layout of `root` without touching the disk: what ranks other than 0 hold, since only
    /// rank 0 creates or writes the run folder.
    pub(crate) fn at(root: &Path) -> Self {
        RunDir {
            root: root.to_path_buf(),
            lock: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The fresh run's resolved config (see [`RunDir::config_in_force`] for the one in force).
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// Where the next resume that changes the config records it: `config.resume-N.toml`.
    pub fn next_resume_config(&self) -> PathBuf {
        let n = resume_configs(&self.root).last().map_or(1, |(n, _)| n + 1);
        self.root.join(format!("config.resume-{n}.toml"))
    }
    /// `.lock`: the OS lock rank 0 holds for the run's life, with its pid.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }
    /// True for the folder's rank 0 (it holds the lock).
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
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

    /// The resolved config in force in the run folder `root`: its newest
    /// `config.resume-N.toml`, else `config.toml`. `ebm-launch --resume`, `sample` and `eval`
    /// read it.
    pub fn config_in_force(root: &Path) -> PathBuf {
        resume_configs(root)
            .pop()
            .map_or_else(|| root.join("config.toml"), |(_, p)| p)
    }

    /// True when `root` holds a run (or what is left of one): `metrics.jsonl` or `checkpoints/`.
    pub fn holds_run(root: &Path) -> bool {
        root.join("metrics.jsonl").exists() || root.join("checkpoints").exists()
    }

    /// True when writing `path` would overwrite a file of a run: a resolved config
    /// (`config*.toml`), `metrics.jsonl`, `eval.json`, `samples.npy` or the lock of a folder that
    /// holds a run, or anything in its `checkpoints/` or `tb/`.
    pub fn is_run_file(path: &Path) -> bool {
        let Some(parent) = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        }) else {
            return false;
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_run_subfolder = matches!(
            parent.file_name().and_then(|n| n.to_str()),
            Some("checkpoints" | "tb")
        ) && parent.parent().is_some_and(Self::holds_run);
        if in_run_subfolder {
            return true;
        }
        let run_file = (name.starts_with("config") && name.ends_with(".toml"))
            || matches!(
                name,
                "metrics.jsonl" | "eval.json" | "samples.npy" | LOCK_FILE
            );
        run_file && Self::holds_run(parent)
    }
}

/// `config.resume-N.toml` files of `root`, by N.
fn resume_configs(root: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let n = name
                .to_str()?
                .strip_prefix("config.resume-")?
                .strip_suffix(".toml")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    out.sort();
    out
}

/// Removes what an interrupted write left in `dir`: our `.NAME.tmp` files and the `.tmpXXXXXX`
/// files of safetensors' own writer (older versions). Only the lock's holder calls it.
pub(crate) fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let temp = name.starts_with(".tmp") || (name.starts_with('.') && name.ends_with(".tmp"));
        if temp && entry.path().is_file() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::warn!(file = %entry.path().display(), "removed a temp file an interrupted write left")
                }
                Err(e) => {
                    tracing::warn!(file = %entry.path().display(), "cannot remove a leftover temp file: {e}")
                }
            }
        }
    }
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes a file through a temp name, a sync and a rename (then syncs the folder), so readers
/// never see half a file; a failed write removes its temp file.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let written = write(&tmp)
        .and_then(|()| {
            File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(Error::io(&tmp))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(Error::io(path)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// An exclusive `flock` on `RUN/.lock`, released when dropped (or when the process ends).
#[derive(Debug)]
struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock of the folder `root` without waiting, and writes this process's pid into
    /// it; fails naming the holder's pid when another process has it.
    fn acquire(root: &Path) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        let path = root.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        match try_lock(&file) {
            Ok(true) => {}
            Ok(false) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("another process (pid {holder})")
                };
                return Err(Error::RunDir {
                    path: root.to_path_buf(),
                    message: format!(
                        "is in use: {who} holds its lock {}; wait for it to finish or stop it, \
                         or pick another folder",
                        path.display()
                    ),
                });
            }
            Err(e) => {
                // A file system without locks (some network mounts): go on unprotected.
                tracing::warn!(lock = %path.display(), "cannot lock the run folder ({e}); nothing stops a second process from writing it");
            }
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(Error::io(&path))?;
        Ok(RunLock { _file: file })
    }
}

/// `Ok(true)`: locked; `Ok(false)`: another open file holds it; `Err`: locks unsupported.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a file descriptor this `File` owns and keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(err),
        }
    }
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<bool> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "run-folder locks need a Unix system",
    ))
}
