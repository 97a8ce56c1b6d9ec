//! Loading a `RunConfig`: the TOML file, then `EBM_` environment variables, then `--set key=value`
//! pairs, each overriding the previous (figment). Errors name the key and where its value came from.
//!
//! Environment keys use `__` for nesting: `EBM_TRAIN__STEPS=100` sets `train.steps`.

use crate::{Error, Result, RunConfig};
use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use std::path::Path;

/// A parsed config and the layers it came from (kept to name the origin of a key in errors).
pub struct LoadedConfig {
    pub config: RunConfig,
    figment: Figment,
}

impl LoadedConfig {
    /// Where the value of `key` came from: the file path, the environment, or the command line.
    pub fn origin_of(&self, key: &str) -> String {
        // A key the user mistyped has no value of its own; fall back to its table's origin.
        let mut k = key;
        loop {
            if let Some(m) = self.figment.find_metadata(k) {
                return describe(m);
            }
            match k.rfind('.') {
                Some(i) => k = &k[..i],
                None => return String::new(),
            }
        }
    }

    /// Adds the origin to a config error.
    pub fn locate(&self, e: Error) -> Error {
        match e {
            Error::Core(c) => Error::Core(c.with_origin(|k| self.origin_of(k))),
            other => other,
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

/// The `--set key=value` pairs as a figment layer named after the command line.
struct CommandLine(Dict);

impl Provider for CommandLine {
    fn metadata(&self) -> Metadata {
        Metadata::named("--set on the command line")
    }

    fn data(&self) -> std::result::Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.0.clone()))
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
    let text = std::fs::read_to_string(file).map_err(Error::io(file))?;
    if let Err(e) = text.parse::<toml::Table>() {
        return Err(Error::Config(format!(
            "{}: invalid TOML: {e}",
            file.display()
        )));
    }
    let mut figment = Figment::new()
        .merge(Toml::file_exact(file))
        .merge(Env::prefixed("EBM_").split("__"));
    let mut cli = Dict::new();
    for pair in sets {
        let (key, value) = parse_set(pair)?;
        // Built directly (not through another Figment) so the values carry no foreign tags and
        // `find_metadata` names "--set on the command line" as their origin.
        let value =
            Value::serialize(value).map_err(|e| Error::Config(format!("--set `{pair}`: {e}")))?;
        let nested = key.rsplit('.').fold(value, |inner, part| {
            Value::from(Dict::from([(part.to_string(), inner)]))
        });
        if let Value::Dict(_, d) = nested {
            cli = merge_dicts(cli, d);
        }
    }
    figment = figment.merge(CommandLine(cli));
    let config: RunConfig = figment
        .extract()
        .map_err(|e| Error::Config(format_figment_error(e)))?;
    let loaded = LoadedConfig { config, figment };
    loaded.config.validate().map_err(|e| loaded.locate(e))?;
    Ok(loaded)
}

fn merge_dicts(mut base: Dict, over: Dict) -> Dict {
    for (k, v) in over {
        let merged = match (base.remove(&k), v) {
            (Some(Value::Dict(t, a)), Value::Dict(_, b)) => Value::Dict(t, merge_dicts(a, b)),
            (_, v) => v,
        };
        base.insert(k, merged);
    }
    base
}

/// figment's errors list every problem; each line says the key and the source.
fn format_figment_error(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("config key `{}`", e.path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(describe)
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default();
            format!("{key}{source}: {}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
