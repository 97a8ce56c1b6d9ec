//! The configuration half of a check, shared by samplers and losses: the plugin builds from its
//! section, an unknown key is a config error naming it, and each declared bad value is a config
//! error naming its key (an error, never a panic).

use crate::failure::{failure, guarded, Failure};
use ebm_core::PluginSpec;

/// A key no plugin has: every plugin must reject it (serde's `deny_unknown_fields`).
pub const UNKNOWN_KEY: &str = "not_a_parameter_of_this_plugin";

/// `kind = "<name>"` plus the keys of `params` (TOML text, e.g. `"scale = 0.5"`).
pub(crate) fn spec(plugin: &str, name: &str, params: &str) -> Result<PluginSpec, Failure> {
    let mut spec = PluginSpec::new(name);
    spec.params = toml::from_str(params).map_err(|e| {
        failure(
            plugin,
            "config",
            format!("the check's parameters `{params}` are not TOML: {e}"),
        )
    })?;
    Ok(spec)
}

/// A value the plugin must reject: TOML text merged over the good parameters, and the key
/// (without the section) the error must name.
#[derive(Clone, Debug)]
pub(crate) struct BadValue {
    pub toml: String,
    pub key: String,
}

/// Builds `good` (must work), then `good` + [`UNKNOWN_KEY`] and `good` + each bad value (each
/// must be a config error naming `section.key`).
pub(crate) fn check_config<T>(
    plugin: &str,
    section: &str,
    good: &PluginSpec,
    bad: &[BadValue],
    build: impl Fn(&str, &PluginSpec) -> ebm_core::Result<T>,
) -> Result<T, Failure> {
    let built = guarded(plugin, "config", || build(section, good))?;
    let mut cases = vec![BadValue {
        toml: format!("{UNKNOWN_KEY} = 1"),
        key: UNKNOWN_KEY.into(),
    }];
    cases.extend(bad.iter().cloned());
    for case in &cases {
        let mut spec = good.clone();
        let over: toml::Table = toml::from_str(&case.toml).map_err(|e| {
            failure(
                plugin,
                "bad parameters",
                format!("`{}` is not TOML: {e}", case.toml),
            )
        })?;
        spec.params.extend(over);
        let outcome = guarded(plugin, "bad parameters", || Ok(build(section, &spec).err()))?;
        let key = format!("{section}.{}", case.key);
        match outcome {
            None => {
                return Err(failure(
                    plugin,
                    "bad parameters",
                    format!(
                        "accepted `{}`; it must be a config error naming `{key}`",
                        case.toml
                    ),
                ))
            }
            Some(e) if !(e.is_config() && e.to_string().contains(&key)) => {
                return Err(failure(
                    plugin,
                    "bad parameters",
                    format!(
                        "`{}` gave \"{e}\"; it must be a config error (exit code 2) naming `{key}`",
                        case.toml
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(built)
}

/// Fails the "registered" check unless `name` is among the linked plugins of this `kind`
/// ("sampler", "loss"), naming the macro that registers one.
pub(crate) fn require_registered(
    plugin: &str,
    kind: &str,
    name: &str,
    linked: &[&str],
) -> Result<(), Failure> {
    if linked.contains(&name) {
        return Ok(());
    }
    Err(failure(
        plugin,
        "registered",
        format!(
            "no {kind} of that name is linked (known: {linked:?}); register it with \
             ebm_core::register_{kind}! and make sure the test links its crate"
        ),
    ))
}
