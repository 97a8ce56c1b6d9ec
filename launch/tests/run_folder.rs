//! Nothing a run or a user wrote is lost through the launcher: a running folder refuses a
//! second writer (exit 2 naming the holder's pid), a failed `--resume --set` leaves the run's
//! config as it was, a run stopped before its first checkpoint resumes from step 0, and output
//! paths that would overwrite a run's files or the user's config are refused unless `--force`.

mod common;

use common::{launch, stderr, trained, SMALL};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts a fresh run of SMALL into `dir/run` in the background, with `sets`.
fn start_background(dir: &Path, sets: &[&str]) -> (Child, PathBuf) {
    let config = dir.join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let run = dir.join("run");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebm-launch"));
    cmd.arg(&config)
        .arg("--out")
        .arg(&run)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for s in sets {
        cmd.args(["--set", s]);
    }
    (cmd.spawn().unwrap(), run)
}

/// Waits (up to a minute) until `ready` holds, failing if the child exits first.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the background run exited ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn checkpoints(run: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("step_") && n.ends_with(".safetensors"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn resume_configs(run: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("config.resume-"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_running_folder_refuses_a_second_writer_naming_its_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run) = start_background(
        tmp.path(),
        &[
            "train.steps=1000000",
            "train.plot_every=0",
            "train.log_every=100",
            "train.checkpoint_every=5",
        ],
    );
    let pid = child.id().to_string();
    let lock = run.join(".lock");
    wait_for(&mut child, "its lock and a checkpoint", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.trim() == pid)
            && !checkpoints(&run).is_empty()
    });
    // --resume of the running folder, and a fresh run into it: exit 2, the holder named.
    let config = tmp.path().join("small.toml");
    for args in [
        vec!["--resume", run.to_str().unwrap()],
        vec![config.to_str().unwrap(), "--out", run.to_str().unwrap()],
    ] {
        let o = launch(&args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("pid {pid}")) && err.contains("in use"),
            "{args:?}: {err}"
        );
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first run must still be running"
    );
    // Once the first is gone (killed: the OS drops its lock, the stale pid file stays), the
    // folder resumes from its newest checkpoint.
    child.kill().unwrap();
    child.wait().unwrap();
    let newest = checkpoints(&run).pop().unwrap();
    let step: u64 = newest["step_".len()..newest.len() - ".safetensors".len()]
        .parse()
        .unwrap();
    let steps = format!("train.steps={}", step + 2);
    let o = launch(&["--resume", run.to_str().unwrap(), "--set", &steps], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(checkpoints(&run).contains(&format!("step_{:07}.safetensors", step + 2)));
}

#[test]
fn a_failed_resume_with_overrides_keeps_the_config_and_a_plain_resume_continues() {
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = trained(ta.path());
    let parts = trained(tb.path());
    // Back to step 10 (as if stopped there), then a resume that diverges at once.
    std::fs::remove_file(parts.join("checkpoints/step_0000020.safetensors")).unwrap();
    let config = std::fs::read(parts.join("config.toml")).unwrap();
    let o = launch(
        &["--resume", parts.to_str().unwrap(), "--set", "optim.lr=1e6"],
        &[],
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("diverged"), "{}", stderr(&o));
    assert_eq!(std::fs::read(parts.join("config.toml")).unwrap(), config);
    assert!(
        resume_configs(&parts).is_empty(),
        "{:?}",
        resume_configs(&parts)
    );
    // A plain resume continues with the original schedule: the run that never stopped.
    let o = launch(&["--resume", parts.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["metrics.jsonl", "eval.json", "samples.npy", "config.toml"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(parts.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(resume_configs(&parts).is_empty());
    // A resume that changes the config and succeeds records it beside the original, and what
    // reads the run (here `sample`) uses it.
    let o = launch(
        &[
            "--resume",
            parts.to_str().unwrap(),
            "--set",
            "train.steps=22",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(resume_configs(&parts), ["config.resume-1.toml"]);
    assert_eq!(std::fs::read(parts.join("config.toml")).unwrap(), config);
    let recorded = std::fs::read_to_string(parts.join("config.resume-1.toml")).unwrap();
    assert!(recorded.contains("steps = 22"), "{recorded}");
}

#[test]
fn a_run_stopped_before_its_first_checkpoint_resumes_from_step_0() {
    let tmp = tempfile::tempdir().unwrap();
    let sets = [
        "train.steps=1000000",
        "train.checkpoint_every=1000000",
        "train.plot_every=0",
    ];
    let (mut child, run) = start_background(tmp.path(), &sets);
    wait_for(&mut child, "its config and metrics", || {
        run.join("config.toml").is_file() && run.join("metrics.jsonl").is_file()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(checkpoints(&run).is_empty());
    let config = std::fs::read(run.join("config.toml")).unwrap();
    // A fresh run is still refused; --resume starts again from step 0 with the run's config.
    let small = tmp.path().join("small.toml");
    let o = launch(
        &[small.to_str().unwrap(), "--out", run.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let short = ["train.steps=10", "train.checkpoint_every=5"];
    let o = launch(
        &[
            "--resume",
            run.to_str().unwrap(),
            "--set",
            short[0],
            "--set",
            short[1],
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("step 0"), "{}", stderr(&o));
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), config);
    // The same as a run with that config that never stopped.
    let other = tempfile::tempdir().unwrap();
    let mut args = vec![
        small.to_str().unwrap().to_string(),
        "--out".into(),
        other.path().join("run").to_str().unwrap().into(),
    ];
    for s in sets.iter().chain(&short) {
        args.extend(["--set".into(), s.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = launch(&args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["metrics.jsonl", "samples.npy", "eval.json"] {
        assert_eq!(
            std::fs::read(run.join(f)).unwrap(),
            std::fs::read(other.path().join("run").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn outputs_never_overwrite_a_runs_files_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let run_s = run.to_str().unwrap();
    let config = std::fs::read(run.join("config.toml")).unwrap();
    let metrics = std::fs::read(run.join("metrics.jsonl")).unwrap();
    let ckpt = run.join("checkpoints/step_0000020.safetensors");
    for target in [
        run.join("config.toml"),
        run.join("metrics.jsonl"),
        ckpt.clone(),
    ] {
        let o = launch(
            &[
                "sample",
                run_s,
                "--n",
                "20",
                "--steps",
                "5",
                "--out",
                target.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(target.to_str().unwrap()),
            "{}",
            stderr(&o)
        );
    }
    let points = tmp.path().join("points.npy");
    candle_core::Tensor::zeros((3, 2), candle_core::DType::F32, &candle_core::Device::Cpu)
        .unwrap()
        .write_npy(&points)
        .unwrap();
    let o = launch(
        &[
            "energy",
            run_s,
            "--points",
            points.to_str().unwrap(),
            "--out",
            run.join("config.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), config);
    assert_eq!(std::fs::read(run.join("metrics.jsonl")).unwrap(), metrics);
    assert!(ckpt.is_file());
    // --force overwrites a run's file on purpose (here its samples.npy).
    let o = launch(
        &[
            "sample",
            run_s,
            "--n",
            "20",
            "--steps",
            "5",
            "--out",
            run.join("samples.npy").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = launch(
        &[
            "sample",
            run_s,
            "--n",
            "20",
            "--steps",
            "5",
            "--out",
            run.join("samples.npy").to_str().unwrap(),
            "--force",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The run still samples from its own config.
    let o = launch(&["sample", run_s, "--n", "20", "--steps", "5"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_fresh_run_does_not_replace_the_users_config_in_its_out_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("exp");
    std::fs::create_dir(&exp).unwrap();
    let mine = format!("# my notes on this experiment\n{SMALL}");
    let config = exp.join("config.toml");
    std::fs::write(&config, &mine).unwrap();
    let args = [
        config.to_str().unwrap(),
        "--out",
        exp.to_str().unwrap(),
        "--set",
        "train.steps=2",
        "--set",
        "train.plot_every=0",
    ];
    let o = launch(&args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(config.to_str().unwrap()) && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), mine);
    assert!(!exp.join("metrics.jsonl").exists() && !exp.join("checkpoints").exists());
    // With --force the run takes the folder (its config.toml becomes the resolved config).
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = launch(&forced, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(&config).unwrap();
    assert!(
        !resolved.contains("my notes") && resolved.contains("steps = 2"),
        "{resolved}"
    );
}

#[test]
fn a_resume_keeps_damaged_metrics_and_says_what_it_does() {
    // Issue 17, D14: unparsable metrics rows were dropped silently on resume, and a resume whose
    // checkpoint is already past train.steps re-evaluated without a word.
    let dir = tempfile::tempdir().unwrap();
    let run = common::trained(dir.path()); // rows at 5, 10, 15, 20; checkpoints 10 and 20
    let metrics = run.join("metrics.jsonl");
    let original = std::fs::read_to_string(&metrics).unwrap();
    let mut lines: Vec<&str> = original.lines().collect();
    lines[1] = "{\"step\": 10, \"loss\": 0.1"; // cut short, as by a crash mid-write
    let damaged = format!("{}\n", lines.join("\n"));
    std::fs::write(&metrics, &damaged).unwrap();
    let resume = |steps: &str| {
        launch(
            &[
                "--resume",
                run.to_str().unwrap(),
                "--set",
                steps,
                "--set",
                "eval.n_samples=20",
                "--set",
                "eval.steps=2",
            ],
            &[],
        )
    };
    let o = resume("train.steps=25");
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("line(s) [2] are not metric rows"), "{err}");
    let kept = run.join("metrics.jsonl.before-resume-20");
    assert_eq!(std::fs::read_to_string(kept).unwrap(), damaged);
    let steps: Vec<String> = std::fs::read_to_string(&metrics)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].to_string())
        .collect();
    assert_eq!(steps, ["5", "15", "20", "25"]);

    let o = resume("train.steps=5");
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("the checkpoint is at step 25 and train.steps = 5: nothing left to train"),
        "{err}"
    );
}

#[test]
fn resume_from_a_chosen_checkpoint_moves_newer_ones_aside() {
    // Issue 17, item 7: `--resume DIR --checkpoint FILE` picks the checkpoint. Resuming from
    // step 10 retrains 11–20 exactly (bit-identical checkpoint), and the old step 20 is kept.
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path()); // checkpoints 10 and 20
    let ckpts = run.join("checkpoints");
    let old20 = std::fs::read(ckpts.join("step_0000020.safetensors")).unwrap();
    let metrics = std::fs::read(run.join("metrics.jsonl")).unwrap();
    let step10 = ckpts.join("step_0000010.safetensors");
    let o = launch(
        &[
            "--resume",
            run.to_str().unwrap(),
            "--checkpoint",
            step10.to_str().unwrap(),
        ],
        &[],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("moved to"), "{err}");
    assert_eq!(
        std::fs::read(ckpts.join("superseded/step_0000020.safetensors")).unwrap(),
        old20,
        "the superseded checkpoint must be kept as it was"
    );
    assert_eq!(
        std::fs::read(ckpts.join("step_0000020.safetensors")).unwrap(),
        old20,
        "steps 11-20 retrained from step 10 must give the same bytes"
    );
    assert_eq!(std::fs::read(run.join("metrics.jsonl")).unwrap(), metrics);

    // A damaged chosen checkpoint is refused by name; --checkpoint needs --resume.
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    let o = launch(
        &[
            "--resume",
            run.to_str().unwrap(),
            "--checkpoint",
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("bad.safetensors"), "{}", stderr(&o));
    let config = dir.path().join("small.toml");
    let o = launch(
        &[
            config.to_str().unwrap(),
            "--checkpoint",
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
