//! `metrics.jsonl`: one JSON object per logged step, `{"step": 50, "loss": …, "e_data": …}`.
//! On resume, rows after the checkpoint's step are dropped first, so the file reads exactly as
//! if the run had never stopped.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One logged row: the step and named values.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub step: u64,
    pub values: Vec<(String, f64)>,
}

impl Row {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert("step".into(), self.step.into());
        for (k, v) in &self.values {
            map.insert(
                k.clone(),
                serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into),
            );
        }
        serde_json::Value::Object(map).to_string()
    }

    fn from_json(line: &str) -> Option<Row> {
        let serde_json::Value::Object(map) = serde_json::from_str(line).ok()? else {
            return None;
        };
        let step = map.get("step")?.as_u64()?;
        let values = map
            .iter()
            .filter(|(k, _)| k.as_str() != "step")
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        Some(Row { step, values })
    }
}

/// The append-only metrics file and the rows written so far (for the curves).
pub struct MetricsLog {
    path: PathBuf,
    rows: Vec<Row>,
}

impl MetricsLog {
    /// A new, empty log.
    pub fn create(path: &Path) -> Result<Self> {
        std::fs::write(path, "").map_err(Error::io(path))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            rows: Vec::new(),
        })
    }

    /// The existing log with every row after `step` removed. Kept lines are copied byte for byte
    /// (re-serialising parsed floats would not reproduce every digit).
    ///
    /// Nothing is dropped silently: a missing file is a warning, and lines that are not metric
    /// rows (a line cut short by a crash, an edit) are named in a warning and the whole original
    /// file is kept beside it as `metrics.jsonl.before-resume-<step>`.
    pub fn resume(path: &Path, step: u64) -> Result<Self> {
        let text = if path.exists() {
            let bytes = std::fs::read(path).map_err(Error::io(path))?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            if step > 0 {
                tracing::warn!(
                    "{} is missing: the rows up to step {step} are lost; a new one starts",
                    path.display()
                );
            }
            String::new()
        };
        let bad: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty() && Row::from_json(line).is_none())
            .map(|(i, _)| i + 1)
            .collect();
        if !bad.is_empty() {
            let mut keep = path.as_os_str().to_owned();
            keep.push(format!(".before-resume-{step}"));
            let keep = PathBuf::from(keep);
            std::fs::write(&keep, &text).map_err(Error::io(&keep))?;
            tracing::warn!(
                "{}: line(s) {bad:?} are not metric rows and are left out; the original file is \
                 kept as {}",
                path.display(),
                keep.display()
            );
        }
        let kept: Vec<(&str, Row)> = text
            .lines()
            .filter_map(|line| Row::from_json(line).map(|row| (line, row)))
            .filter(|(_, row)| row.step <= step)
            .collect();
        let body: String = kept.iter().map(|(line, _)| format!("{line}\n")).collect();
        std::fs::write(path, body).map_err(Error::io(path))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            rows: kept.into_iter().map(|(_, row)| row).collect(),
        })
    }

    pub fn append(&mut self, row: Row) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(Error::io(&self.path))?;
        writeln!(f, "{}", row.to_json()).map_err(Error::io(&self.path))?;
        self.rows.push(row);
        Ok(())
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// (step, value) pairs of one metric, for plotting.
    pub fn series(&self, key: &str) -> Vec<(f64, f64)> {
        self.rows
            .iter()
            .filter_map(|r| r.get(key).map(|v| (r.step as f64, v)))
            .collect()
    }
}
