//! [`EventWriter`]: one TensorBoard event file, `events.out.tfevents.<secs>.<hostname>`, written
//! record by record and flushed at each logged step (a run can be killed at any time; a record cut
//! short at the end is dropped by the next resume).
//!
//! TensorBoard cannot be told to forget steps, so [`EventWriter::resume`] rewrites: it reads every
//! event file of the folder, keeps the records up to the resumed step, writes them into one new
//! file (synced to disk), then deletes the old ones. A resumed run therefore shows each step once,
//! like `metrics.jsonl` (whose kept rows are also copied byte for byte).

use super::proto::{Event, Summary, Value, What};
use super::record::{self, RecordReader};
use super::summary;
use crate::run_dir::sync_dir;
use crate::{Error, Result};
use prost::Message;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How every event file's name starts (TensorBoard's convention).
pub const FILE_PREFIX: &str = "events.out.tfevents.";

/// The `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// After a resume at step S: S and the tags the kept records hold at S. Values written again
    /// at S under those tags (a finished run resumed re-runs its final figures) are skipped, so
    /// no (tag, step) appears twice.
    kept_at: Option<(u64, HashSet<String>)>,
}

impl EventWriter {
    /// A new event file in `dir` (created if needed), starting with the file-version event.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let existing = event_files(dir)?;
        let mut writer = Self::create_file(&new_file_path(dir, &existing))?;
        writer.flush()?;
        Ok(writer)
    }

    /// Continues the event files in `dir` after a resume at `step`: the records of every existing
    /// file up to `step` (file-version events aside, byte for byte, each once) go into one new
    /// file, which is synced before the old files are deleted. A record that is cut short or
    /// damaged ends what is kept of its file (with a warning).
    pub fn resume(dir: &Path, step: u64) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let old = event_files(dir)?;
        let (records, tags_at_step) = kept_records(&old, step)?;
        let mut writer = Self::create_file(&new_file_path(dir, &old))?;
        for data in &records {
            record::write(&mut writer.out, data).map_err(Error::io(&writer.path))?;
        }
        writer.flush()?;
        writer
            .out
            .get_ref()
            .sync_all()
            .map_err(Error::io(&writer.path))?;
        sync_dir(dir)?;
        for path in &old {
            std::fs::remove_file(path).map_err(Error::io(path))?;
        }
        writer.kept_at = Some((step, tags_at_step));
        Ok(writer)
    }

    fn create_file(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(Error::io(path))?;
        let mut writer = EventWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            kept_at: None,
        };
        writer.write_event(&Event {
            wall_time: wall_time(),
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.into())),
        })?;
        Ok(writer)
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn scalar(&mut self, tag: &str, step: u64, value: f64) -> Result<()> {
        self.write_values(step, vec![summary::scalar(tag, value)])
    }

    /// Several scalars of one step, in one event.
    pub fn scalars(&mut self, step: u64, values: &[(String, f64)]) -> Result<()> {
        let values = values
            .iter()
            .map(|(tag, v)| summary::scalar(tag, *v))
            .collect();
        self.write_values(step, values)
    }

    /// A PNG image; its width, height and colorspace are read from its header. An error (and
    /// nothing written) when `png` is not a PNG.
    pub fn image_png(&mut self, tag: &str, step: u64, png: &[u8]) -> Result<()> {
        let value = summary::image_png(tag, png).map_err(|message| Error::Io {
            path: self.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("image `{tag}`: {message}"),
            ),
        })?;
        self.write_values(step, vec![value])
    }

    /// The histogram of the finite `values` ([`summary::HISTOGRAM_BUCKETS`] buckets from their min
    /// to their max); nothing when none is finite.
    pub fn histogram(&mut self, tag: &str, step: u64, values: &[f64]) -> Result<()> {
        match summary::histogram(values) {
            Some(histo) => self.write_values(
                step,
                vec![Value {
                    tag: tag.to_string(),
                    metadata: None,
                    kind: Some(super::proto::Kind::Histo(histo)),
                }],
            ),
            None => Ok(()),
        }
    }

    /// Text for the text plugin (TensorBoard renders it as Markdown).
    pub fn text(&mut self, tag: &str, step: u64, text: &str) -> Result<()> {
        self.write_values(step, vec![summary::text(tag, text)])
    }

    /// Hands what was written to the OS (not a sync to disk: a killed process loses nothing, a
    /// lost machine may).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::io(&self.path))
    }

    fn write_values(&mut self, step: u64, mut values: Vec<Value>) -> Result<()> {
        if let Some((kept_step, tags)) = &self.kept_at {
            if *kept_step == step {
                values.retain(|v| !tags.contains(&v.tag));
            }
        }
        if values.is_empty() {
            return Ok(());
        }
        self.write_event(&Event {
            wall_time: wall_time(),
            step: i64::try_from(step).unwrap_or(i64::MAX),
            what: Some(What::Summary(Summary { value: values })),
        })
    }

    fn write_event(&mut self, event: &Event) -> Result<()> {
        record::write(&mut self.out, &event.encode_to_vec()).map_err(Error::io(&self.path))
    }
}

/// The event files of `dir` (names starting with [`FILE_PREFIX`]) in name order, which is the
/// order they were written in; none when `dir` does not exist.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let entry = entry.map_err(Error::io(dir))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(FILE_PREFIX) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Every event of one file, checking both CRCs of every record: an error for a damaged or
/// truncated file, or a record that is not an event.
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let file = File::open(path).map_err(Error::io(path))?;
    RecordReader::new(BufReader::new(file))
        .map(|record| {
            let data = record.map_err(Error::io(path))?;
            Event::decode(&data[..]).map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })
        })
        .collect()
}

/// The records of `files` to keep on a resume at `step` (see [`EventWriter::resume`]) and the
/// tags they hold at `step` itself.
fn kept_records(files: &[PathBuf], step: u64) -> Result<(Vec<Vec<u8>>, HashSet<String>)> {
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    let mut tags_at_step = HashSet::new();
    for path in files {
        let file = File::open(path).map_err(Error::io(path))?;
        for record in RecordReader::new(BufReader::new(file)) {
            let data = match record {
                Ok(data) => data,
                Err(e) => {
                    tracing::warn!(file = %path.display(), "TensorBoard event file: {e}; what follows in it is dropped");
                    break;
                }
            };
            let Ok(event) = Event::decode(&data[..]) else {
                tracing::warn!(file = %path.display(), "TensorBoard event file: a record is not an event; dropped");
                continue;
            };
            let in_range = u64::try_from(event.step).is_ok_and(|s| s <= step);
            if !in_range || matches!(event.what, Some(What::FileVersion(_))) {
                continue;
            }
            // A resume that stopped between writing its new file and deleting the old ones left
            // the kept records twice, byte for byte.
            if !seen.insert(fingerprint(&data)) {
                continue;
            }
            if event.step as u64 == step {
                if let Some(What::Summary(s)) = &event.what {
                    tags_at_step.extend(s.value.iter().map(|v| v.tag.clone()));
                }
            }
            kept.push(data);
        }
    }
    Ok((kept, tags_at_step))
}

fn fingerprint(data: &[u8]) -> (u64, usize) {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    (h.finish(), data.len())
}

/// `dir/events.out.tfevents.<secs>.<hostname>` with `secs` now, or past every existing file's,
/// so the new file is unique and sorts after the others (TensorBoard reads a folder's files in
/// name order).
fn new_file_path(dir: &Path, existing: &[PathBuf]) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let newest = existing
        .iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.strip_prefix(FILE_PREFIX)?;
            name.split('.').next()?.parse::<u64>().ok()
        })
        .max();
    let secs = newest.map_or(now, |n| now.max(n + 1));
    dir.join(format!("{FILE_PREFIX}{secs}.{}", hostname()))
}

/// This machine's name, as safe file-name characters.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
