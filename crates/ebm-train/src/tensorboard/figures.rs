//! The figures a hook call wrote: the PNG files under the run's `plots/` folder (and its
//! subfolders) that are new or changed since a snapshot taken just before the call.
//!
//! A snapshot rather than "modified after the call began": Linux stamps files from a coarse clock
//! that can lag `SystemTime::now()` by a few milliseconds, so a figure written right after the
//! call began could carry an earlier time and be missed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every PNG under a folder with its modification time and length.
#[derive(Clone, Debug, Default)]
pub struct PngSnapshot {
    files: BTreeMap<PathBuf, (Option<SystemTime>, u64)>,
}

impl PngSnapshot {
    /// The PNGs under `dir` now (none if it does not exist; unreadable entries are skipped).
    pub fn take(dir: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect(dir, &mut files);
        PngSnapshot { files }
    }

    /// The PNGs under `dir` that are new or changed since this snapshot, in path order, each with
    /// its tag: the path relative to `dir` without the extension, `/`-separated.
    pub fn written_since(&self, dir: &Path) -> Vec<(String, PathBuf)> {
        PngSnapshot::take(dir)
            .files
            .into_iter()
            .filter(|(path, stamp)| self.files.get(path) != Some(stamp))
            .filter_map(|(path, _)| Some((tag(dir, &path)?, path)))
            .collect()
    }
}

fn collect(dir: &Path, out: &mut BTreeMap<PathBuf, (Option<SystemTime>, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Hidden entries are temporary files of atomic writes.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            collect(&path, out);
        } else if meta.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        {
            out.insert(path, (meta.modified().ok(), meta.len()));
        }
    }
}

fn tag(dir: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(dir).ok()?.with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_rewritten_pngs_are_found_with_their_tags() {
        let dir = tempfile::tempdir().unwrap();
        let plots = dir.path();
        std::fs::create_dir_all(plots.join("grids")).unwrap();
        std::fs::write(plots.join("old.png"), b"old").unwrap();
        std::fs::write(plots.join("kept.png"), b"kept").unwrap();
        let before = PngSnapshot::take(plots);
        std::fs::write(plots.join("old.png"), b"rewritten").unwrap();
        std::fs::write(plots.join("grids/samples.png"), b"new").unwrap();
        std::fs::write(plots.join("notes.txt"), b"not a figure").unwrap();
        std::fs::write(plots.join(".tmp.png"), b"hidden").unwrap();
        let found: Vec<String> = before
            .written_since(plots)
            .into_iter()
            .map(|(tag, _)| tag)
            .collect();
        assert_eq!(found, ["grids/samples", "old"]);
        assert!(PngSnapshot::take(&plots.join("missing"))
            .written_since(&plots.join("missing"))
            .is_empty());
    }
}
