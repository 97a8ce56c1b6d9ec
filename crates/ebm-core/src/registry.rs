//! The plugin registry: built-in and user samplers, losses, interpolants and integrators, found
//! by name at link time (`inventory`). A plugin's parameters are its own serde struct with `deny_unknown_fields`,
//! parsed from the TOML section that names it, so a typo is an error naming the key.
//!
//! ```ignore
//! ebm_core::register_sampler!("my_sampler", |args| {
//!     let params: MyParams = args.parse()?;
//!     Ok(Box::new(MySampler::new(params)))
//! });
//! ```

use crate::{Error, Integrator, Interpolant, Loss, Result, Sampler};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A `[section]` of the config: `kind` picks the plugin, every other key is its parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PluginSpec {
    pub kind: String,
    #[serde(flatten)]
    pub params: toml::Table,
}

impl PluginSpec {
    pub fn new(kind: &str) -> Self {
        PluginSpec {
            kind: kind.into(),
            params: toml::Table::new(),
        }
    }
}

/// What a plugin factory receives.
pub struct PluginArgs<'a> {
    /// Config section, e.g. "sampler", used to name keys in errors.
    pub section: &'a str,
    pub spec: &'a PluginSpec,
}

impl PluginArgs<'_> {
    /// Parses the plugin's parameters; errors name the full key (`sampler.step_size`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        let value = toml::Value::Table(self.spec.params.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string().trim().to_string();
            // serde may report an unknown field at its parent; name the field itself, once.
            let field = message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .filter(|f| path.rsplit('.').next() != Some(*f));
            let mut key = self.section.to_string();
            for part in [path.as_str(), field.unwrap_or("")] {
                if !part.is_empty() && part != "." {
                    key = format!("{key}.{part}");
                }
            }
            Error::config(
                key,
                format!("{message} (in {} `{}`)", self.section, self.spec.kind),
            )
        })
    }
}

/// A registered sampler: its name and its factory.
pub struct SamplerPlugin {
    pub name: &'static str,
    pub build: fn(&PluginArgs) -> Result<Box<dyn Sampler>>,
}

/// A registered loss: its name and its factory.
pub struct LossPlugin {
    pub name: &'static str,
    pub build: fn(&PluginArgs) -> Result<Box<dyn Loss>>,
}

/// A registered interpolant: its name and its factory.
pub struct InterpolantPlugin {
    pub name: &'static str,
    pub build: fn(&PluginArgs) -> Result<Box<dyn Interpolant>>,
}

/// A registered integrator: its name and its factory.
pub struct IntegratorPlugin {
    pub name: &'static str,
    pub build: fn(&PluginArgs) -> Result<Box<dyn Integrator>>,
}

inventory::collect!(SamplerPlugin);
inventory::collect!(LossPlugin);
inventory::collect!(InterpolantPlugin);
inventory::collect!(IntegratorPlugin);

/// Registers a sampler factory under a name usable as `[sampler] kind = "name"`.
#[macro_export]
macro_rules! register_sampler {
    ($name:expr, $build:expr) => {
        $crate::inventory::submit! { $crate::SamplerPlugin { name: $name, build: $build } }
    };
}

/// Registers a loss factory under a name usable as `[loss] kind = "name"`.
#[macro_export]
macro_rules! register_loss {
    ($name:expr, $build:expr) => {
        $crate::inventory::submit! { $crate::LossPlugin { name: $name, build: $build } }
    };
}

/// Registers an interpolant factory under a name usable as `[interpolant] kind = "name"`.
#[macro_export]
macro_rules! register_interpolant {
    ($name:expr, $build:expr) => {
        $crate::inventory::submit! { $crate::InterpolantPlugin { name: $name, build: $build } }
    };
}

/// Registers an integrator factory under a name usable as `[integrator] kind = "name"`.
#[macro_export]
macro_rules! register_integrator {
    ($name:expr, $build:expr) => {
        $crate::inventory::submit! { $crate::IntegratorPlugin { name: $name, build: $build } }
    };
}

/// Names of every linked sampler, sorted.
pub fn sampler_names() -> Vec<&'static str> {
    let mut v: Vec<_> = inventory::iter::<SamplerPlugin>
        .into_iter()
        .map(|p| p.name)
        .collect();
    v.sort_unstable();
    v
}

/// Names of every linked loss, sorted.
pub fn loss_names() -> Vec<&'static str> {
    let mut v: Vec<_> = inventory::iter::<LossPlugin>
        .into_iter()
        .map(|p| p.name)
        .collect();
    v.sort_unstable();
    v
}

fn unknown(section: &str, name: &str, known: Vec<&'static str>) -> Error {
    Error::UnknownPlugin {
        section: section.into(),
        name: name.into(),
        origin: String::new(),
        known: known.into_iter().map(String::from).collect(),
    }
}

/// Builds the sampler `spec.kind` from `[section]`.
pub fn build_sampler(section: &str, spec: &PluginSpec) -> Result<Box<dyn Sampler>> {
    let plugin = inventory::iter::<SamplerPlugin>
        .into_iter()
        .find(|p| p.name == spec.kind)
        .ok_or_else(|| unknown(section, &spec.kind, sampler_names()))?;
    (plugin.build)(&PluginArgs { section, spec })
}

/// Builds the loss `spec.kind` from `[section]`.
pub fn build_loss(section: &str, spec: &PluginSpec) -> Result<Box<dyn Loss>> {
    let plugin = inventory::iter::<LossPlugin>
        .into_iter()
        .find(|p| p.name == spec.kind)
        .ok_or_else(|| unknown(section, &spec.kind, loss_names()))?;
    (plugin.build)(&PluginArgs { section, spec })
}

// The newer registries repeat the sampler/loss lookup; a macro writes it once for both.
macro_rules! lookup {
    ($names:ident, $build:ident, $plugin:ty, $out:ty, $what:literal) => {
        #[doc = concat!("Names of every linked ", $what, ", sorted.")]
        pub fn $names() -> Vec<&'static str> {
            let mut v: Vec<_> = inventory::iter::<$plugin>
                .into_iter()
                .map(|p| p.name)
                .collect();
            v.sort_unstable();
            v
        }

        #[doc = concat!("Builds the ", $what, " `spec.kind` from `[section]`.")]
        pub fn $build(section: &str, spec: &PluginSpec) -> Result<Box<$out>> {
            let plugin = inventory::iter::<$plugin>
                .into_iter()
                .find(|p| p.name == spec.kind)
                .ok_or_else(|| unknown(section, &spec.kind, $names()))?;
            (plugin.build)(&PluginArgs { section, spec })
        }
    };
}

lookup! { interpolant_names, build_interpolant, InterpolantPlugin, dyn Interpolant, "interpolant" }
lookup! { integrator_names, build_integrator, IntegratorPlugin, dyn Integrator, "integrator" }

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        step_size: f64,
        #[serde(default)]
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: f64,
    }

    fn args_err(toml_text: &str) -> String {
        let spec: PluginSpec = toml::from_str(toml_text).unwrap();
        let args = PluginArgs {
            section: "sampler",
            spec: &spec,
        };
        args.parse::<P>().unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_full_key() {
        let e = args_err("kind = \"x\"\nstep_sise = 1.0");
        assert!(
            e.contains("`sampler.step_sise`:") && e.contains("step_size") && !e.contains('\n'),
            "{e}"
        );
        let e = args_err("kind = \"x\"\nstep_size = \"big\"");
        assert!(e.contains("`sampler.step_size`"), "{e}");
        let e = args_err("kind = \"x\"\nstep_size = 1.0\ninner = { b = 1 }");
        assert!(e.contains("`sampler.inner.b`"), "{e}");
    }

    #[test]
    fn unknown_plugin_lists_known_names() {
        let spec = PluginSpec::new("nope");
        let e = build_loss("loss", &spec).err().unwrap();
        assert!(e.is_config());
        assert!(e.to_string().contains("unknown loss `nope`"), "{e}");
    }
}
