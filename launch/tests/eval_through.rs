//! `[eval] through_checkpoints = K`: `ebm-launch eval` draws its samples through the run's K
//! newest kept checkpoints (`steps / K` sampler steps with each, oldest first). The same chains
//! made by hand with `sample --checkpoint` and `sample --init` score identically; asking for more
//! checkpoints than the run keeps is a config error (exit 2) naming the key, and a run that kept
//! fewer samples through those it has, with a warning.

mod common;

use common::{launch, stderr, train_small};
use std::path::Path;

/// SMALL with checkpoints at steps 10 and 20 and a noise-free eval sampler (so the legs can be
/// replayed by `sample`, whose random stream restarts with every call).
fn train(dir: &Path, sets: &[&str]) -> std::process::Output {
    let base = [
        "--set",
        "train.plot_every=0",
        "--set",
        "train.checkpoint_every=10",
        "--set",
        "eval.sampler={kind=\"gradient_descent\"}",
    ];
    train_small(dir, &[&base[..], sets].concat())
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn eval_samples_through_the_newest_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let o = train(tmp.path(), &["--set", "eval.through_checkpoints=2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = tmp.path().join("run");
    let (r, p) = (run.to_str().unwrap(), |n: &str| tmp.path().join(n));
    let ais = ["--ais-chains", "16", "--ais-temperatures", "20"];
    let o = launch(
        &[
            &["eval", r, "--out", p("through").to_str().unwrap()],
            &ais[..],
        ]
        .concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let through = report(&p("through/report.json"));
    let path = through["through_checkpoints"].as_array().unwrap();
    assert_eq!(path.len(), 1, "{through}");
    assert!(path[0]
        .as_str()
        .unwrap()
        .ends_with("step_0000010.safetensors"));
    assert!(through["checkpoint"]
        .as_str()
        .unwrap()
        .ends_with("step_0000020.safetensors"));

    // By hand: 10 steps with step 10's weights, then 10 with step 20's, scored as a file.
    let ckpt10 = run.join("checkpoints/step_0000010.safetensors");
    let (a, b) = (p("a.npy"), p("b.npy"));
    let o = launch(
        &[
            "sample",
            r,
            "--n",
            "200",
            "--steps",
            "10",
            "--checkpoint",
            ckpt10.to_str().unwrap(),
        ]
        .iter()
        .chain(&["--out", a.to_str().unwrap()])
        .copied()
        .collect::<Vec<_>>(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let args = [
        "sample",
        r,
        "--init",
        a.to_str().unwrap(),
        "--steps",
        "10",
        "--out",
    ];
    let o = launch(&[&args[..], &[b.to_str().unwrap()]].concat(), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let args = ["eval", r, "--samples", b.to_str().unwrap(), "--out"];
    let o = launch(
        &[&args[..], &[p("file").to_str().unwrap()], &ais[..]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let file = report(&p("file/report.json"));
    for key in ["mmd2", "energy_distance", "mmd2_floor"] {
        assert_eq!(through["samples"][key], file["samples"][key], "{key}");
    }

    // Step 10 has no kept checkpoint before it: its samples go through it alone, with a warning.
    let args = ["eval", r, "--checkpoint", ckpt10.to_str().unwrap(), "--out"];
    let o = launch(
        &[&args[..], &[p("early").to_str().unwrap()], &ais[..]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("through_checkpoints = 2"),
        "{}",
        stderr(&o)
    );
    assert!(report(&p("early/report.json"))
        .get("through_checkpoints")
        .is_none());
}

#[test]
fn more_checkpoints_than_the_run_keeps_is_a_config_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = train(tmp.path(), &["--set", "eval.through_checkpoints=4"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("eval.through_checkpoints") && err.contains("train.keep_checkpoints"),
        "{err}"
    );
    let o = train(tmp.path(), &["--set", "eval.through_checkpoints=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("eval.through_checkpoints"),
        "{}",
        stderr(&o)
    );
}
