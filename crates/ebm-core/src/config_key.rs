//! Naming the key inside a table that a deserialisation error is about, where serde can only
//! name the table (internally tagged enums such as `eval.init` or `loss.init` buffer their table
//! before choosing the variant, and lose the path).

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
