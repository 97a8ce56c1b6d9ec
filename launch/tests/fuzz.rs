//! Issue 17, item 9: a seeded fuzz test of the config loader and of resuming from damaged
//! checkpoints. Every leaf key of a small run's resolved config (plugin defaults included, as
//! `ebm-launch check` prints it) gets values of the wrong type, non-finite numbers, negative
//! sizes and unknown kinds, and every table an unknown key; the config file itself is truncated
//! and has bytes flipped. Each case runs `ebm-launch check`: it must never panic or abort, and a
//! value that cannot be right must exit 2 naming its key. Then a trained run's newest checkpoint
//! is damaged in several ways: `--resume` must skip it for the older one and lose nothing.
//! The counts are printed (`cargo test --test fuzz -- --nocapture`).

mod common;

use common::{launch, stderr, SMALL};
use std::path::Path;
use std::process::Output;

/// One config fault and what it must produce.
struct Case {
    /// The `--set` pair.
    set: String,
    /// The key the error must name; `None`: any outcome but a crash is fine (the value may be
    /// valid, e.g. a truncated file that is still a config).
    key: Option<String>,
}

/// Leaf keys of `table` (dotted), with their values.
fn leaves(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaves(&key, t, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// Tables of `table` (dotted), the root as "".
fn tables(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    out.push(prefix.to_string());
    for (k, v) in table {
        if let toml::Value::Table(t) = v {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            tables(&key, t, out);
        }
    }
}

/// The wrong values for a leaf of this value's type, each of which must be refused.
fn faults(value: &toml::Value) -> Vec<&'static str> {
    use toml::Value::*;
    match value {
        Integer(_) => vec!["\"text\"", "[1, 2]", "-1", "true", "1.5"],
        Float(_) => vec!["\"text\"", "[1.0]", "nan", "inf", "-inf", "true"],
        Boolean(_) => vec!["3", "\"yes\""],
        String(_) => vec!["7", "\"no_such_value\"", "[\"a\"]"],
        Array(_) => vec!["\"text\"", "{a = 1}", "[\"x\", \"y\"]"],
        _ => vec![],
    }
}

fn check(config: &Path, sets: &[&str]) -> Output {
    let mut args = vec!["check", config.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    launch(&args, &[])
}

/// No panic, abort or signal: exit 0, or 2 with an `error:` line.
fn assert_clean(what: &str, o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{what}: {err}"
    );
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{what}: exit {:?}: {err}",
        o.status
    );
}

#[test]
fn malformed_values_and_files_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let o = check(&config, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let resolved = out
        .split_once("# the resolved config, every default filled in\n")
        .expect("check prints the resolved config")
        .1;
    let resolved: toml::Table = resolved.parse().expect("the resolved config is TOML");
    // From here on the config is the resolved one: every key is in the file, so a `--set` of
    // one key changes that key alone (not a default table it would otherwise replace).
    std::fs::write(&config, toml::to_string(&resolved).unwrap()).unwrap();

    let mut leaf_keys = Vec::new();
    leaves("", &resolved, &mut leaf_keys);
    let mut cases: Vec<Case> = Vec::new();
    for (key, value) in &leaf_keys {
        // `seed` takes any u64; a negative one is the only fault it can have.
        let values = match key.as_str() {
            "seed" => vec!["-1", "\"text\""],
            _ => faults(value),
        };
        for v in values {
            // "no_such_value" is only a fault for the enumerated strings.
            if v == "\"no_such_value\"" && !key.ends_with("kind") && !enumerated(key) {
                continue;
            }
            cases.push(Case {
                set: format!("{key}={v}"),
                key: Some(key.clone()),
            });
        }
    }
    let mut table_keys = Vec::new();
    tables("", &resolved, &mut table_keys);
    for t in &table_keys {
        let key = if t.is_empty() {
            "no_such_key".to_string()
        } else {
            format!("{t}.no_such_key")
        };
        cases.push(Case {
            set: format!("{key}=1"),
            key: Some(key),
        });
    }

    let (mut tried, mut named, mut accepted) = (0, 0, Vec::new());
    for case in &cases {
        let o = check(&config, &[&case.set]);
        tried += 1;
        assert_clean(&case.set, &o);
        let err = stderr(&o);
        match (&case.key, o.status.code()) {
            (Some(key), Some(2)) => {
                // The key itself, or an element of it (`model.hidden[0]`), in backquotes.
                assert!(
                    err.contains(&format!("`{key}`")) || err.contains(&format!("`{key}[")),
                    "--set {}: exit 2 without naming `{key}`: {err}",
                    case.set
                );
                named += 1;
            }
            (Some(_), _) => accepted.push(case.set.clone()),
            (None, _) => {}
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted {} value(s) that cannot be right: {accepted:?}",
        accepted.len()
    );

    // The file itself: truncated at every 7th byte, and 40 seeded single-byte corruptions.
    let bytes = SMALL.as_bytes();
    let mut file_cases = 0;
    let damaged = dir.path().join("damaged.toml");
    let mut state: u32 = 12345;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        state >> 8
    };
    let mut variants: Vec<Vec<u8>> = (0..bytes.len())
        .step_by(7)
        .map(|n| bytes[..n].to_vec())
        .collect();
    for _ in 0..40 {
        let mut b = bytes.to_vec();
        let i = next() as usize % b.len();
        b[i] = (next() % 256) as u8;
        variants.push(b);
    }
    for b in &variants {
        std::fs::write(&damaged, b).unwrap();
        let o = check(&damaged, &[]);
        assert_clean(
            &format!("damaged file {:?}", String::from_utf8_lossy(b)),
            &o,
        );
        file_cases += 1;
    }
    println!(
        "config fuzz: {tried} value faults over {} keys and {} tables: {named} exit 2 naming the \
         key, {} accepted; {file_cases} damaged files: no panic, exit 0 or 2",
        leaf_keys.len(),
        table_keys.len(),
        accepted.len()
    );
}

/// String keys whose value is one of a fixed set (others, like a data directory, take any text).
fn enumerated(key: &str) -> bool {
    [
        "model.activation",
        "model.output",
        "model.pool",
        "train.precision",
    ]
    .contains(&key)
}

#[test]
fn damaged_newest_checkpoints_are_skipped_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::trained(dir.path()); // checkpoints at steps 10 and 20
    let ckpts = run.join("checkpoints");
    let newest = ckpts.join("step_0000020.safetensors");
    let original = std::fs::read(&newest).unwrap();
    let older = std::fs::read(ckpts.join("step_0000010.safetensors")).unwrap();
    let mut damages: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated to half", original[..original.len() / 2].to_vec()),
        ("header only", original[..64.min(original.len())].to_vec()),
    ];
    for at in [0.2, 0.6, 0.99] {
        let mut b = original.clone();
        let i = (b.len() as f64 * at) as usize;
        b[i] ^= 0x40;
        damages.push(("one byte flipped", b));
    }
    // Edited metadata keeps the tensors' checksum valid (issue 17, D14).
    damages.push(("step edited", edit_meta(&original, "step", "99999999")));
    damages.push(("world size 0", edit_meta(&original, "dist.world_size", "0")));
    for (what, bytes) in &damages {
        std::fs::write(&newest, bytes).unwrap();
        let o = launch(
            &[
                "--resume",
                run.to_str().unwrap(),
                "--set",
                "train.steps=21",
                "--set",
                "eval.n_samples=20",
                "--set",
                "eval.steps=2",
            ],
            &[],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{what}: {err}");
        assert!(err.contains("skipping checkpoint"), "{what}: {err}");
        assert_eq!(
            std::fs::read(ckpts.join("step_0000010.safetensors")).unwrap(),
            older,
            "{what}: the older checkpoint changed"
        );
        // The resumed run went on from step 10 and rewrote 20 and 21: undo for the next case.
        let _ = std::fs::remove_file(ckpts.join("step_0000021.safetensors"));
    }
    println!(
        "checkpoint fuzz: {} damaged newest checkpoints: each skipped for step 10, exit 0",
        damages.len()
    );
}

/// `bytes` (a safetensors file) with metadata `key` set to `value`, the header re-encoded.
fn edit_meta(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][key] = serde_json::Value::String(value.into());
    let mut text = serde_json::to_vec(&header).unwrap();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}
