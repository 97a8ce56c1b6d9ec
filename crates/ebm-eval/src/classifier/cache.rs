//! Saving and finding the evaluation classifier. Its weights are a safetensors file whose
//! metadata holds the [`ClassifierInfo`] as JSON; by default it lives in the user's cache
//! (`$XDG_CACHE_HOME/ebm`, else `~/.cache/ebm`), one file per data kind, trained on first use.

use super::{train_classifier, Classifier, ClassifierConfig, ClassifierInfo};
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use ebm_data::{DataConfig, Split};
use ebm_train::write_atomic;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const INFO_KEY: &str = "ebm.classifier";

/// Where the classifier of `data_kind` is cached when no path is given: `None` when neither
/// `XDG_CACHE_HOME` nor `HOME` is set.
pub fn default_path(data_kind: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(
        base.join("ebm")
            .join(format!("classifier_{data_kind}.safetensors")),
    )
}

/// Writes the weights and `info` to `path` (atomically; parent folders are created).
pub fn save(path: &Path, net: &Classifier, info: &ClassifierInfo) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ebm_train::Error::io(dir))?;
    }
    let tensors: Vec<(String, Tensor)> = net
        .params()
        .into_iter()
        .map(|p| (p.name, p.var.as_tensor().clone()))
        .collect();
    let json = serde_json::to_string(info)
        .map_err(ebm_train::Error::serialize("the classifier's info"))?;
    let meta = HashMap::from([(INFO_KEY.to_string(), json)]);
    Ok(write_atomic(path, |tmp| {
        safetensors::tensor::serialize_to_file(tensors.iter().map(|(n, t)| (n, t)), Some(meta), tmp)
            .map_err(|e| ebm_train::Error::Checkpoint {
                path: tmp.to_path_buf(),
                message: e.to_string(),
            })
    })?)
}

/// Reads a classifier saved by [`save`]; errors name the file and what is wrong with it.
pub fn load(path: &Path) -> Result<(Classifier, ClassifierInfo)> {
    let bad = |message: String| Error::ClassifierFile {
        path: path.to_path_buf(),
        message: format!("not an ebm classifier: {message}"),
    };
    let bytes = std::fs::read(path).map_err(ebm_train::Error::io(path))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(INFO_KEY))
        .ok_or_else(|| bad(format!("no `{INFO_KEY}` metadata")))?;
    let info: ClassifierInfo = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let mut tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| bad(e.to_string()))?;
    let mut layers = Vec::new();
    for i in 0..=info.hidden.len() {
        let mut take = |name: String| {
            tensors
                .remove(&name)
                .ok_or_else(|| bad(format!("`{name}` missing")))
        };
        layers.push((
            take(format!("layers.{i}.weight"))?,
            take(format!("layers.{i}.bias"))?,
        ));
    }
    Ok((Classifier::from_tensors(layers)?, info))
}

/// The classifier for `data`'s images: read from `path` if it exists (checked against the
/// data kind and image shape), else trained on `data`'s training split and saved there. The
/// flag says whether it was trained now.
pub fn load_or_train(
    path: &Path,
    data: &DataConfig,
    cfg: &ClassifierConfig,
) -> Result<(Classifier, ClassifierInfo, bool)> {
    let shape = data.sample_shape();
    if path.is_file() {
        let (net, info) = load(path)?;
        if info.data_kind != data.kind() || info.input_shape != shape {
            return Err(Error::ClassifierFile {
                path: path.to_path_buf(),
                message: format!(
                    "classifier was trained on {} images of shape {:?}, this run has {} images of shape {shape:?}",
                    info.data_kind,
                    info.input_shape,
                    data.kind()
                ),
            });
        }
        return Ok((net, info, false));
    }
    tracing::info!(path = %path.display(), "training the evaluation classifier (once; cached)");
    let train = data.load_split(Split::Train)?;
    let test = data.load_split(Split::Test)?;
    let (net, info) = train_classifier(&train, &test, data.kind(), cfg)?;
    save(path, &net, &info)?;
    Ok((net, info, true))
}
