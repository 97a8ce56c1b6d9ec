//! The launcher as a user runs it: bad configs are exit code 2 with the key and the file named,
//! seeded runs repeat exactly, and a resumed run is indistinguishable from an uninterrupted one.

mod common;

use common::{launch, stderr, SMALL};
use std::path::{Path, PathBuf};

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `config` (with `--set` pairs) into `out` and asserts success.
fn train(config: &Path, out: &Path, sets: &[&str]) {
    let mut args = vec![config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = launch(&args, &[]);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
}

fn assert_config_error(text: &str, sets: &[&str], must_contain: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "bad.toml", text);
    let out = dir.path().join("run");
    let mut args = vec![config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = launch(&args, &[]);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected exit 2, got {:?}: {err}",
        o.status.code()
    );
    assert!(!err.contains("panicked"), "{err}");
    for needle in must_contain {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    assert!(
        !out.join("metrics.jsonl").exists(),
        "a rejected config must not start a run"
    );
}

#[test]
fn malformed_configs_exit_2_naming_the_key_and_file() {
    // Unknown key in a core table, with the file named.
    assert_config_error(
        &SMALL.replacen("steps = 20", "stepz = 20", 1),
        &[],
        &["train.stepz", "bad.toml"],
    );
    // Unknown key inside a plugin's parameters.
    assert_config_error(
        &SMALL.replace("step_size = 0.01", "step_sise = 0.01"),
        &[],
        &["sampler.step_sise", "bad.toml", "step_size"],
    );
    // Wrong type.
    assert_config_error(
        &SMALL.replace("batch_size = 64", "batch_size = \"big\""),
        &[],
        &["train.batch_size"],
    );
    assert_config_error(&SMALL.replace("k = 5", "k = \"five\""), &[], &["loss.k"]);
    // Unknown plugin, listing the known ones.
    assert_config_error(
        &SMALL.replace("kind = \"langevin\"", "kind = \"langevine\""),
        &[],
        &["sampler.kind", "langevine", "langevin", "bad.toml"],
    );
    assert_config_error(
        &SMALL.replace("kind = \"contrastive_divergence\"", "kind = \"cd\""),
        &[],
        &["loss.kind", "contrastive_divergence"],
    );
    // Out-of-range values.
    assert_config_error(
        &SMALL.replace("step_size = 0.01", "step_size = -0.01"),
        &[],
        &["sampler.step_size", "> 0", "bad.toml"],
    );
    assert_config_error(SMALL, &["data.noise=-1"], &["data.noise", "--set"]);
    assert_config_error(
        SMALL,
        &["train.batch_size=100000"],
        &["train.batch_size", "n_samples"],
    );
    // Unknown dataset kind, unknown top-level table, broken TOML.
    assert_config_error(
        &SMALL.replace("two_moons", "three_moons"),
        &[],
        &["three_moons", "eight_gaussians"],
    );
    assert_config_error(&format!("{SMALL}\n[trian]\nsteps = 1\n"), &[], &["trian"]);
    assert_config_error("[data\nkind = 1", &[], &["invalid TOML", "bad.toml"]);
    assert_config_error(SMALL, &["train.steps"], &["key=value"]);
}

#[test]
fn missing_config_and_bad_flags_exit_2() {
    let o = launch(&["/nonexistent/run.toml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/run.toml"));
    let o = launch(&["--no-such-flag"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    // --resume of a folder with no run: its config.toml is missing.
    let o = launch(&["--resume", dir.path().to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("config.toml"), "{}", stderr(&o));
    // --resume of a folder with a config but no checkpoints.
    std::fs::write(dir.path().join("config.toml"), SMALL).unwrap();
    let o = launch(&["--resume", dir.path().to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("checkpoints"), "{}", stderr(&o));
}

#[test]
fn a_run_writes_its_folder_and_env_and_set_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("run");
    let o = launch(
        &[
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            "train.steps=10",
        ],
        &[("EBM_TRAIN__LOG_EVERY", "5"), ("EBM_TRAIN__STEPS", "999")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "config.toml",
        "metrics.jsonl",
        "samples.npy",
        "eval.json",
        "plots/loss.png",
        "plots/energy.png",
        "plots/landscape_final.png",
        "checkpoints/step_0000010.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // --set beats the environment, which beats the file.
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        resolved.contains("steps = 10") && resolved.contains("log_every = 5"),
        "{resolved}"
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "rows at steps 5 and 10");
    // samples.npy: float32, shape (200, 2), readable as numpy's format 1.0.
    let npy = std::fs::read(out.join("samples.npy")).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    let header =
        String::from_utf8_lossy(&npy[10..10 + u16::from_le_bytes([npy[8], npy[9]]) as usize])
            .to_string();
    assert!(
        header.contains("'descr': '<f4'") && header.replace(' ', "").contains("(200,2"),
        "{header}"
    );
    assert_eq!(npy.len(), 10 + header.len() + 200 * 2 * 4);
    // A second fresh run into the same folder is refused, and the first is untouched.
    let o = launch(
        &[config.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.jsonl")).unwrap(),
        metrics
    );
}

#[test]
fn same_seed_gives_identical_metrics_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    train(&config, &a, &[]);
    train(&config, &b, &[]);
    train(&config, &c, &["seed=4"]);
    let read = |p: &Path, f: &str| std::fs::read(p.join(f)).unwrap();
    assert_eq!(read(&a, "metrics.jsonl"), read(&b, "metrics.jsonl"));
    assert_eq!(read(&a, "samples.npy"), read(&b, "samples.npy"));
    assert_ne!(read(&a, "metrics.jsonl"), read(&c, "metrics.jsonl"));
}

#[test]
fn resume_after_stopping_is_identical_to_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "small.toml", SMALL);
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    train(&config, &whole, &[]);
    // Stop at step 7 (checkpoint at 5 and the final one at 7), then continue to 20 from the newest.
    train(&config, &parts, &["train.steps=7"]);
    // Simulate a crash after step 7's rows were logged but before its checkpoint: drop the
    // newest checkpoint so the resume starts from step 5 and must rewrite rows 6 and 7.
    std::fs::remove_file(parts.join("checkpoints/step_0000007.safetensors")).unwrap();
    let o = launch(
        &[
            "--resume",
            parts.to_str().unwrap(),
            "--set",
            "train.steps=20",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |p: &Path, f: &str| std::fs::read_to_string(p.join(f)).unwrap();
    assert_eq!(read(&whole, "metrics.jsonl"), read(&parts, "metrics.jsonl"));
    assert_eq!(
        std::fs::read(whole.join("samples.npy")).unwrap(),
        std::fs::read(parts.join("samples.npy")).unwrap()
    );
    assert_eq!(read(&whole, "eval.json"), read(&parts, "eval.json"));
}

#[test]
fn set_with_a_table_replaces_the_whole_table() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{SMALL}\n[eval.init]\nkind = \"normal\"\nmean = 0.5\nstd = 2.0\n");
    let config = write_config(dir.path(), "small.toml", &text);
    let out = dir.path().join("run");
    train(
        &config,
        &out,
        &[
            "train.steps=2",
            "eval.init={kind=\"uniform\",low=-1.5,high=2.5}",
        ],
    );
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        resolved.contains("kind = \"uniform\"") && !resolved.contains("mean = 0.5"),
        "{resolved}"
    );
}
