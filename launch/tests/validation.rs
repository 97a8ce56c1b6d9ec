//! Issue 17, D5/D6/D8: every value is checked at load — non-finite numbers, NaN or zero-length
//! schedules, fixed-size arrays, an empty MLP, a zero temperature, a bank smaller than the batch,
//! and sizes that cannot fit in memory — with exit 2 naming the key and where it came from, and
//! never an aborted allocation.

mod common;

use common::{launch, stderr, SMALL};

/// Runs SMALL with `sets` and asserts exit 2, each of `needles` in stderr, no panic or abort,
/// and no run started.
fn refused(sets: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let out = dir.path().join("run");
    let mut args = vec![config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = launch(&args, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{sets:?}: expected exit 2: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{sets:?}: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "{sets:?}: `{n}` not in: {err}");
    }
    assert!(
        !out.join("metrics.jsonl").exists(),
        "{sets:?}: a rejected config must not start a run"
    );
}

#[test]
fn non_finite_numbers_and_bad_schedules_exit_2_naming_the_key() {
    refused(&["optim.lr=inf"], &["optim.lr", "finite", "--set"]);
    refused(&["optim.lr=nan"], &["optim.lr"]);
    refused(&["sampler.step_size=inf"], &["sampler.step_size", "finite"]);
    refused(
        &["optim.lr={kind=\"linear\",start=nan,end=1e-4,steps=10}"],
        &["optim.lr.start", "finite"],
    );
    refused(
        &["optim.lr={kind=\"warmup\",steps=5,then={kind=\"cosine\",start=1e-3,end=nan,steps=10}}"],
        &["optim.lr.then.end"],
    );
    refused(
        &["optim.lr={kind=\"linear\",start=1e-3,end=1e-4,steps=0}"],
        &["optim.lr.steps", "> 0"],
    );
    refused(&["optim.eps=inf"], &["optim.eps"]);
    // The evaluation sampler is built after training: its parameters are checked before it.
    refused(
        &["eval.sampler={kind=\"langevin\",step_size=inf}"],
        &["eval.sampler.step_size", "--set"],
    );
}

#[test]
fn silently_accepted_values_are_refused() {
    refused(
        &["optim.betas=[0.9, 0.99, 0.5]"],
        &["optim.betas", "exactly 2"],
    );
    refused(&["optim.betas=[0.9]"], &["optim.betas", "exactly 2"]);
    refused(&["eval.mmd_bandwidth=inf"], &["eval.mmd_bandwidth"]);
    refused(&["eval.mmd_bandwidth=0"], &["eval.mmd_bandwidth"]);
    refused(&["model.hidden=[]"], &["model.hidden", "hidden layer"]);
    refused(
        &["sampler.kind=annealed_langevin", "sampler.temperature=0"],
        &["sampler.temperature", "> 0"],
    );
    // bf16 is for CUDA GPUs (issue 15); on the CPU it is an error, not a silent f32 run.
    refused(
        &["train.precision=\"bf16\""],
        &["train.precision", "CUDA", "\"f32\"", "--set"],
    );
    refused(&["train.precision=\"fp16\""], &["train.precision"]);
    refused(&["dist.heartbeat_timeout=0"], &["dist.heartbeat_timeout"]);
    refused(&["dist.heartbeat_timeout=inf"], &["dist.heartbeat_timeout"]);
    // A bank smaller than the batch used to fail at step 1 with exit 1.
    refused(
        &["loss.buffer_capacity=10"],
        &["loss.buffer_capacity", "train.batch_size", "--set"],
    );
}

#[test]
fn huge_sizes_are_refused_naming_the_key_instead_of_aborting() {
    refused(
        &["loss.buffer_capacity=1000000000000"],
        &["loss.buffer_capacity", "memory", "--set"],
    );
    refused(
        &["model.hidden=[1000000000, 1000000000]"],
        &["model.hidden", "memory"],
    );
    refused(&["data.n_samples=1000000000000"], &["data.n_samples"]);
    refused(
        &["eval.n_samples=1000000000000"],
        &["eval.n_samples", "memory"],
    );
}
