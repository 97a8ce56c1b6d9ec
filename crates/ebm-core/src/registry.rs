//! The plugin registry: built-in and user samplers, losses, interpolants and integrators, found
//! by name at link time (`inventory`). All four kinds are one generic [`Plugin<T>`], listed and
//! built by one pair of generic functions, so they share the lookup and its errors. A plugin's
//! parameters are its own serde struct with `deny_unknown_fields`, parsed from the TOML section
//! that names it, so a typo is an error naming the key.
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
use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    /// What each plugin section's parameters resolved to on this thread (every default filled
    /// in), recorded by [`PluginArgs::parse_resolved`] for `ebm-launch check`.
    static RESOLVED: RefCell<BTreeMap<String, toml::Table>> = const { RefCell::new(BTreeMap::new()) };
}

/// The parameters every plugin built on this thread since the last call resolved to, by
/// section (`"sampler"`, `"loss"`, `"eval.sampler"`), with defaults filled in; clears them.
/// Plugins that parse with [`PluginArgs::parse`] alone are not listed.
pub fn take_resolved_params() -> BTreeMap<String, toml::Table> {
    RESOLVED.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

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
    /// [`PluginArgs::parse`], remembering the parameters with every default filled in (see
    /// [`take_resolved_params`]), so a user can see what their section resolved to.
    pub fn parse_resolved<T: DeserializeOwned + Serialize>(&self) -> Result<T> {
        let params: T = self.parse()?;
        if let Ok(toml::Value::Table(table)) = toml::Value::try_from(&params) {
            RESOLVED.with(|r| r.borrow_mut().insert(self.section.to_string(), table));
        }
        Ok(params)
    }

    /// Parses the plugin's parameters; errors name the full key (`sampler.step_size`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        crate::parse_table(self.section, &self.spec.params).map_err(|(key, message)| {
            Error::config(
                key,
                format!("{message} (in {} `{}`)", self.section, self.spec.kind),
            )
        })
    }
}

/// A registered plugin whose factory builds a `Box<T>` (`T` is `dyn Sampler`, `dyn Loss`, ...).
/// One generic type, so the four plugin kinds share one registry mechanism: registration
/// ([`inventory`]), listing and lookup are each written once below.
pub struct Plugin<T: ?Sized + 'static> {
    pub name: &'static str,
    pub build: fn(&PluginArgs) -> Result<Box<T>>,
}

/// A registered sampler: its name and its factory.
pub type SamplerPlugin = Plugin<dyn Sampler>;
/// A registered loss: its name and its factory.
pub type LossPlugin = Plugin<dyn Loss>;
/// A registered interpolant: its name and its factory.
pub type InterpolantPlugin = Plugin<dyn Interpolant>;
/// A registered integrator: its name and its factory.
pub type IntegratorPlugin = Plugin<dyn Integrator>;

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

/// Names of every linked plugin of one kind, sorted.
fn names<T: ?Sized + 'static>() -> Vec<&'static str>
where
    Plugin<T>: inventory::Collect,
{
    let mut v: Vec<_> = inventory::iter::<Plugin<T>>
        .into_iter()
        .map(|p| p.name)
        .collect();
    v.sort_unstable();
    v
}

/// Builds the plugin `spec.kind` of one kind from `[section]`; an unknown name is a config
/// error on `section.kind` that lists the known ones.
fn build<T: ?Sized + 'static>(section: &str, spec: &PluginSpec) -> Result<Box<T>>
where
    Plugin<T>: inventory::Collect,
{
    let plugin = inventory::iter::<Plugin<T>>
        .into_iter()
        .find(|p| p.name == spec.kind)
        .ok_or_else(|| Error::UnknownPlugin {
            section: section.into(),
            name: spec.kind.clone(),
            origin: String::new(),
            known: names::<T>().into_iter().map(String::from).collect(),
        })?;
    (plugin.build)(&PluginArgs { section, spec })
}

/// Names of every linked sampler, sorted.
pub fn sampler_names() -> Vec<&'static str> {
    names::<dyn Sampler>()
}

/// Builds the sampler `spec.kind` from `[section]`.
pub fn build_sampler(section: &str, spec: &PluginSpec) -> Result<Box<dyn Sampler>> {
    build(section, spec)
}

/// Names of every linked loss, sorted.
pub fn loss_names() -> Vec<&'static str> {
    names::<dyn Loss>()
}

/// Builds the loss `spec.kind` from `[section]`.
pub fn build_loss(section: &str, spec: &PluginSpec) -> Result<Box<dyn Loss>> {
    build(section, spec)
}

/// Names of every linked interpolant, sorted.
pub fn interpolant_names() -> Vec<&'static str> {
    names::<dyn Interpolant>()
}

/// Builds the interpolant `spec.kind` from `[section]`.
pub fn build_interpolant(section: &str, spec: &PluginSpec) -> Result<Box<dyn Interpolant>> {
    build(section, spec)
}

/// Names of every linked integrator, sorted.
pub fn integrator_names() -> Vec<&'static str> {
    names::<dyn Integrator>()
}

/// Builds the integrator `spec.kind` from `[section]`.
pub fn build_integrator(section: &str, spec: &PluginSpec) -> Result<Box<dyn Integrator>> {
    build(section, spec)
}

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

    /// A do-nothing integrator, registered twice under names that sort differently from their
    /// registration order, to test the shared mechanism without linking the plugin crates.
    struct Still;
    impl Integrator for Still {
        fn name(&self) -> &'static str {
            "still"
        }
        fn step(
            &self,
            _: &crate::Drift,
            x: &candle_core::Tensor,
            _: f64,
            _: f64,
            _: Option<&candle_core::Tensor>,
        ) -> Result<candle_core::Tensor> {
            Ok(x.clone())
        }
    }
    fn build_still(_: &PluginArgs) -> Result<Box<dyn Integrator>> {
        Ok(Box::new(Still))
    }
    crate::register_integrator!("zz_test_still", build_still);
    crate::register_integrator!("aa_test_still", build_still);

    #[test]
    fn registered_plugins_are_listed_sorted_and_built_by_name() {
        let names = integrator_names();
        let (a, z) = (
            names.iter().position(|n| *n == "aa_test_still"),
            names.iter().position(|n| *n == "zz_test_still"),
        );
        assert!(matches!((a, z), (Some(a), Some(z)) if a < z), "{names:?}");
        let built = build_integrator("integrator", &PluginSpec::new("zz_test_still")).unwrap();
        assert_eq!(built.name(), "still");
        // The other kinds are separate registries: an integrator is no loss.
        assert!(!loss_names().contains(&"zz_test_still"));
        let e = build_integrator("flow.integrator", &PluginSpec::new("nope"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("`flow.integrator.kind`")
                && e.contains("unknown flow.integrator `nope`")
                && e.contains("aa_test_still, zz_test_still"),
            "{e}"
        );
    }

    #[test]
    fn unknown_plugin_lists_known_names() {
        let spec = PluginSpec::new("nope");
        let e = build_loss("loss", &spec).err().unwrap();
        assert!(e.is_config());
        assert!(e.to_string().contains("unknown loss `nope`"), "{e}");
    }
}
