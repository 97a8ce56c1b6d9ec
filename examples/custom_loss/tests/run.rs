//! The user's loss is found by name from TOML, rejects bad parameters naming the key, and
//! trains a model whose samples move toward the data.

use std::process::Command;

fn launch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_custom-loss"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the example binary runs")
}

const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/softplus.toml");

#[test]
fn the_toml_run_trains_with_the_custom_loss() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = launch(&[
        CONFIG,
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.steps=150",
        "--set",
        "eval.steps=200",
        "--set",
        "eval.n_samples=500",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let eval = std::fs::read_to_string(out.join("eval.json")).unwrap();
    let field = |name: &str| -> f64 {
        let rest = &eval[eval.find(&format!("\"{name}\"")).unwrap()..];
        rest.split(':')
            .nth(1)
            .unwrap()
            .split([',', '\n'])
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // After a short run the samples are already much closer to the data than the noise they
    // started from.
    assert!(field("mmd2") < 0.5 * field("mmd2_init"), "{eval}");
}

#[test]
fn bad_parameters_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = launch(&[CONFIG, "--out", out.to_str().unwrap(), "--set", "loss.k=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loss.k"));
}
