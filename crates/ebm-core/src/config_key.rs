//! Naming the key a deserialisation error is about: the full dotted key of a table's field
//! (`sampler.step_size`, `model.layers[0].strid`), also where serde can only name the table
//! (internally tagged enums such as `eval.init` or `loss.init` buffer their table before choosing
//! the variant, and lose the path). Plugin sections and the `[data]`/`[model]` re-parse share it.

use serde::de::DeserializeOwned;

/// `table` (the value at the config key `section`) as a `T`; a failure as `(key, message)` with
/// the full key: the path serde tracked, the field itself for an unknown one (serde reports it
/// at its parent), or inside a tagged table the child holding the value the message found.
pub fn parse_table<T: DeserializeOwned>(
    section: &str,
    table: &toml::Table,
) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let path = e.path().to_string();
        // toml may end the message with an "in `key`" line of its own: the key is named here.
        let message = e.inner().to_string();
        let message = message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .filter(|f| path.rsplit('.').next() != Some(*f));
        let mut key = section.to_string();
        for part in [path.as_str(), field.unwrap_or("")] {
            if !part.is_empty() && part != "." {
                key = format!("{key}.{part}");
            }
        }
        let wrong_value =
            message.starts_with("invalid type") || message.starts_with("invalid value");
        let mut parts = path.split('.').filter(|p| !p.is_empty());
        let inner = parts
            .next()
            .and_then(|first| table.get(first))
            .and_then(|v| parts.try_fold(v, |v, part| v.get(part)));
        match inner.filter(|v| v.is_table() && wrong_value) {
            Some(tagged) => by_found_value(&key, tagged, &message).unwrap_or((key, message)),
            None => (key, message),
        }
    })
}

/// For a table with no typed re-parse (a tagged table such as `eval.init`): the child key the
/// message is about, when exactly one child holds the value the message says was found
/// (`found string "text"`, `` found float `1.5` ``) or is the unknown field it names.
pub fn by_found_value(path: &str, table: &toml::Value, message: &str) -> Option<(String, String)> {
    let children = table.as_table()?;
    if let Some(field) = message
        .strip_prefix("unknown field: found `")
        .and_then(|m| m.split('`').next())
    {
        return Some((format!("{path}.{field}"), message.to_string()));
    }
    // figment writes "invalid type: found string \"x\", …", serde "invalid type: string \"x\", …".
    let found = match message.split_once("found ") {
        Some((_, rest)) => rest,
        None => message.split_once(": ")?.1,
    };
    let matching: Vec<&String> = children
        .iter()
        .filter(|(_, v)| match v {
            // serde writes `integer \`3\``, figment `unsigned int 3`: accept either.
            toml::Value::String(s) => found.starts_with(&format!("string \"{s}\"")),
            toml::Value::Integer(i) => shows(found, &i.to_string()),
            toml::Value::Float(f) => shows(found, &f.to_string()),
            toml::Value::Boolean(b) => shows(found, &b.to_string()),
            toml::Value::Array(_) => found.starts_with("sequence"),
            toml::Value::Table(_) => found.starts_with("map"),
            toml::Value::Datetime(_) => false,
        })
        .map(|(k, _)| k)
        .collect();
    match matching.as_slice() {
        [key] => Some((format!("{path}.{key}"), message.to_string())),
        _ => None,
    }
}

/// Whether a "found …" description shows `value` (as `` `v` `` or as its last word).
fn shows(found: &str, value: &str) -> bool {
    let first = found.split([',', '\n']).next().unwrap_or_default();
    first.contains(&format!("`{value}`")) || first.trim_end().ends_with(&format!(" {value}"))
}
