//! Log output fits files, pipes and schedulers: no colour codes when stderr is not a terminal
//! (as in every test here), `--log-format json` gives one JSON object per line (with the rank
//! in multi-rank runs), and `-q` silences the info lines.

mod common;

use common::{launch, stderr, SMALL};

/// Trains the small config for 4 steps with `extra` flags and RUST_LOG=info.
fn train_small(extra: &[&str]) -> std::process::Output {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let out = tmp.path().join("run");
    let args = [
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.steps=4",
    ];
    launch(&[&args[..], extra].concat(), &[("RUST_LOG", "info")])
}

#[test]
fn text_logs_to_a_pipe_have_no_escape_codes() {
    let o = train_small(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("INFO"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "escape codes in piped logs: {err:?}"
    );
}

#[test]
fn json_logs_are_one_object_per_line_with_the_rank() {
    let o = train_small(&["--cpus", "2", "--spawn", "--log-format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    // Log events carry their level and time; a worker's raw stderr lines are wrapped.
    for l in &lines {
        let event = l["level"].is_string() && l["timestamp"].is_string();
        let raw = l["stream"] == "stderr" && l["message"].is_string();
        assert!(event || raw, "{l}");
    }
    assert!(lines.iter().any(|l| l["level"] == "INFO"), "{err}");
    let ranks: std::collections::BTreeSet<u64> =
        lines.iter().filter_map(|l| l["rank"].as_u64()).collect();
    assert_eq!(
        ranks.into_iter().collect::<Vec<_>>(),
        vec![0, 1],
        "each worker's lines carry its rank: {err}"
    );
}

#[test]
fn quiet_drops_info_lines() {
    let o = train_small(&["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("INFO"), "{}", stderr(&o));
}
