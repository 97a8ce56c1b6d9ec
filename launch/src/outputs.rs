//! Output paths checked before anything is written: a command never overwrites a file of a run
//! (its resolved configs, `metrics.jsonl`, `eval.json`, `samples.npy`, its checkpoints), and a
//! fresh run never replaces files it did not write in its `--out` folder (the user's own
//! `config.toml`, often the very config given). Both are usage errors (exit 2) naming the path,
//! unless `--force`.

use crate::cli::LaunchError;
use ebm_train::RunDir;
use std::path::Path;

/// What a fresh run writes at the top of its folder that could already be there.
const FRESH_RUN_FILES: [&str; 3] = ["config.toml", "samples.npy", "eval.json"];

/// Refuses writing any of `outputs` that is an existing file of a run (unless `force`).
pub(crate) fn refuse_run_files<'a>(
    outputs: impl IntoIterator<Item = &'a Path>,
    force: bool,
) -> Result<(), LaunchError> {
    if force {
        return Ok(());
    }
    for path in outputs {
        if path.exists() && RunDir::is_run_file(path) {
            let run = path.parent().unwrap_or(Path::new("."));
            return Err(LaunchError::Usage(format!(
                "--out {} would overwrite a file of the run in {}: pick another --out (or pass \
                 --force to overwrite it)",
                path.display(),
                run.display()
            )));
        }
    }
    Ok(())
}

/// A fresh run into `dir` (given `config`): refuses a folder holding files the run would
/// replace but did not write (unless `force`). A folder that holds a run is left to the trainer,
/// which refuses it under the folder's lock.
pub(crate) fn check_fresh_out(dir: &Path, config: &Path, force: bool) -> Result<(), LaunchError> {
    if force || RunDir::holds_run(dir) {
        return Ok(());
    }
    for name in FRESH_RUN_FILES {
        let path = dir.join(name);
        if path.exists() {
            let what = if same_file(&path, config) {
                "it is the config this run was given"
            } else {
                "it is not a file of a run"
            };
            return Err(LaunchError::Usage(format!(
                "--out {}: a fresh run would overwrite {} ({what}); pick another --out, or pass \
                 --force to overwrite it",
                dir.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// True when both paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
