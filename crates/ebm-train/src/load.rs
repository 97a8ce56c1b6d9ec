//! Loading a `RunConfig`: the TOML file, then `EBM_` environment variables, then `--set key=value`
//! pairs, each overriding the previous (figment). Errors name the key and where its value came from.
//!
//! Environment keys use `__` for nesting: `EBM_TRAIN__STEPS=100` sets `train.steps`.

use crate::{Error, Result, RunConfig};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use std::path::Path;

/// A parsed config and the layers it came from (kept to name the origin of a key in errors).
pub struct LoadedConfig {
    pub config: RunConfig,
    origins: Origins,
}

/// Where each key's value came from.
struct Origins {
    /// The file and environment layers.
    layers: Figment,
    /// Keys set with `--set`.
    set_keys: Vec<String>,
}

impl LoadedConfig {
    /// Where the value of `key` came from: the file path, the environment, or the command line.
    pub fn origin_of(&self, key: &str) -> String {
        self.origins.origin_of(key)
    }

    /// Adds the origin to a config error.
    pub fn locate(&self, e: Error) -> Error {
        match e {
            Error::Core(c) => Error::Core(c.with_origin(|k| self.origin_of(k))),
            other => other,
        }
    }
}

impl Origins {
    fn origin_of(&self, key: &str) -> String {
        let under = |set: &String| {
            key == set || key.starts_with(&format!("{set}.")) || key.starts_with(&format!("{set}["))
        };
        if self.set_keys.iter().any(under) {
            return "--set on the command line".into();
        }
        // A key the user mistyped has no value of its own; fall back to its table's origin.
        let mut k = key;
        loop {
            if let Some(m) = self.layers.find_metadata(k) {
                return describe(m);
            }
            match k.rfind('.') {
                Some(i) => k = &k[..i],
                None => return String::new(),
            }
        }
    }
}

fn describe(m: &Metadata) -> String {
    match &m.source {
        Some(Source::File(p)) => p.display().to_string(),
        Some(Source::Custom(c)) => c.clone(),
        _ => m.name.to_string(),
    }
}

/// Parses `key=value`; the value is read as TOML (numbers, booleans, arrays, inline tables) and
/// falls back to a plain string, so `--set data.kind=two_moons` needs no quotes.
fn parse_set(pair: &str) -> Result<(String, toml::Value)> {
    let (key, raw) = pair
        .split_once('=')
        .ok_or_else(|| Error::Config(format!("--set `{pair}`: expected key=value")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(Error::Config(format!(
            "--set `{pair}`: `{key}` is not a key path like train.steps"
        )));
    }
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.trim().to_string()));
    Ok((key.to_string(), value))
}

/// Loads `file`, then `EBM_*` environment variables, then `sets`, and validates the result.
pub fn load(file: &Path, sets: &[String]) -> Result<LoadedConfig> {
    if !file.is_file() {
        return Err(Error::Config(format!(
            "config file {} does not exist or is not a file",
            file.display()
        )));
    }
    // Figment silently treats an unreadable TOML file as empty; read it ourselves first.
    let bytes = std::fs::read(file).map_err(Error::io(file))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Config(format!(
            "{}: not a TOML config: byte {} is not UTF-8 text (a binary or otherwise encoded file?)",
            file.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    if let Err(e) = text.parse::<toml::Table>() {
        return Err(Error::Config(format!(
            "{}: invalid TOML: {e}",
            file.display()
        )));
    }
    let layers = Figment::new()
        .merge(Toml::file_exact(file))
        .merge(Env::prefixed("EBM_").split("__"));
    let mut tree = layers
        .data()
        .map_err(|e| Error::Config(format_figment_error(e, &|_| String::new(), &|_, _| None)))?
        .remove(&Profile::Default)
        .unwrap_or_default();
    // `--set` replaces what is at its key, tables included: `--set 'eval.init={kind="uniform",
    // low=-2,high=2}'` must not inherit the file's `mean` and `std` as a deep merge would.
    let mut set_keys = Vec::new();
    for pair in sets {
        let (key, value) = parse_set(pair)?;
        let value =
            Value::serialize(value).map_err(|e| Error::Config(format!("--set `{pair}`: {e}")))?;
        set_at(&mut tree, &key, value)
            .map_err(|m| Error::Config(format!("--set `{pair}`: {m}")))?;
        set_keys.push(key);
    }
    let origins = Origins { layers, set_keys };
    // The failing table as the user wrote it, to name the key inside it that failed: `[data]`
    // and `[model]` by their types, other tagged tables (`eval.init`) by the value found.
    let subtree = |path: &[String]| {
        let mut node = tree.get(path.first()?)?;
        for part in &path[1..] {
            node = node.as_dict()?.get(part)?;
        }
        toml::Value::try_from(node).ok()
    };
    let refine = |path: &[String], message: &str| {
        let table = subtree(path)?;
        match path {
            [name] if name == "data" || name == "model" => crate::locate::locate(name, &table),
            _ => crate::locate::by_found_value(&dotted(path), &table, message),
        }
    };
    let config: RunConfig = Figment::from(Serialized::defaults(tree.clone()))
        .extract()
        .map_err(|e| {
            let origin = |k: &str| match k {
                // A key missing from the whole config (an empty file: no `[data]`).
                "" => file.display().to_string(),
                k => origins.origin_of(k),
            };
            Error::Config(format_figment_error(e, &origin, &refine))
        })?;
    let loaded = LoadedConfig { config, origins };
    loaded.config.validate().map_err(|e| loaded.locate(e))?;
    Ok(loaded)
}

/// Puts `value` at the dotted `key`, replacing whatever was there.
fn set_at(tree: &mut Dict, key: &str, value: Value) -> std::result::Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut node = tree;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_string(), value);
            return Ok(());
        }
        let child = node
            .entry(part.to_string())
            .or_insert_with(|| Value::from(Dict::new()));
        node = match child {
            Value::Dict(_, d) => d,
            _ => return Err(format!("`{part}` is a value, not a table")),
        };
    }
    Ok(())
}

/// A figment error path as a key: `optim.betas[0]`, as the other errors write array elements.
fn dotted(path: &[String]) -> String {
    let mut key = String::new();
    for part in path {
        if part.parse::<usize>().is_ok() && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    key
}

/// A more precise `(key, message)` for an error at `path` with `message`, where one can be found.
type Refine<'a> = dyn Fn(&[String], &str) -> Option<(String, String)> + 'a;

/// figment's errors list every problem; each line says the key and the source.
fn format_figment_error(
    e: figment::Error,
    origin_of: &dyn Fn(&str) -> String,
    refine: &Refine<'_>,
) -> String {
    e.into_iter()
        .map(|e| {
            let (path, kind) = refine(&e.path, &e.kind.to_string())
                .unwrap_or_else(|| (dotted(&e.path), e.kind.to_string()));
            let key = if path.is_empty() {
                String::new()
            } else {
                format!("config key `{path}`")
            };
            // The resolved tree was rebuilt from the layers, so ask them (not the error's
            // metadata) where the key came from.
            let origin = match (path.is_empty(), &e.metadata) {
                (true, Some(m)) => describe(m),
                (true, None) => origin_of(""),
                (false, _) => origin_of(&path),
            };
            match (key.is_empty(), origin.is_empty()) {
                (_, true) => format!("{key}: {kind}"),
                (true, false) => format!("{origin}: {kind}"),
                (false, false) => format!("{key} (from {origin}): {kind}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
