//! Worker processes as a user launches them (`--cpus N --spawn`): rendezvous through the store,
//! config agreement, a failing rank stopping the run with no process left behind, Ctrl-C and a
//! dead launcher doing the same, `--gpus` on a build without CUDA, and spawned workers training
//! bit-identically to thread ranks.

mod common;

use common::SMALL;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `dir/small.toml`, written once: two launchers started one after the other (`two_nodes`) must
/// never see it truncated by the second one's rewrite while the first reads it.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("small.toml");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(SMALL) {
        let staged = dir.join(".small.toml.tmp");
        std::fs::write(&staged, SMALL).unwrap();
        std::fs::rename(&staged, &path).unwrap();
    }
    path
}

fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ebm-launch"));
    let config = config(dir);
    let out = dir.join("run");
    cmd.arg(&config)
        .arg("--out")
        .arg(&out)
        .args(args)
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn launch(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, args, env).output().expect("ebm-launch runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Worker pids from the launcher's relayed "worker rank R/N (local L) pid P" lines.
fn worker_pids(stderr: &str) -> Vec<u32> {
    stderr
        .lines()
        .filter(|l| l.contains("] worker rank "))
        .filter_map(|l| l.rsplit("pid ").next()?.trim().parse().ok())
        .collect()
}

/// True if `pid` is gone or a zombie (exited, not yet reaped by someone).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn assert_all_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| !is_gone(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let alive: Vec<_> = pids.iter().filter(|&&p| !is_gone(p)).collect();
    assert!(alive.is_empty(), "orphan workers still running: {alive:?}");
}

#[test]
fn two_and_three_workers_rendezvous_and_agree_on_an_id() {
    for n in [2usize, 3] {
        let dir = tempfile::tempdir().unwrap();
        let o = launch(
            dir.path(),
            &["--cpus", &n.to_string(), "--spawn"],
            &[("EBMLAUNCH_TEST_WORKER", "rendezvous")],
        );
        let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
        assert!(o.status.success(), "n={n}: {stderr}");
        let mut ids: Vec<(usize, String)> = stdout
            .lines()
            .filter_map(|l| {
                let rest = l.split_once("] rank ")?.1;
                let (rank, id) = rest.split_once(" rendezvous id ")?;
                Some((rank.parse().ok()?, id.to_string()))
            })
            .collect();
        ids.sort();
        assert_eq!(ids.len(), n, "n={n}: {stdout}");
        for (r, (rank, id)) in ids.iter().enumerate() {
            assert_eq!(*rank, r);
            assert_eq!(id, &ids[0].1, "rank {r} got another id");
            assert_eq!(id.len(), 32);
        }
        assert_eq!(worker_pids(&stderr).len(), n);
    }
}

#[test]
fn a_failing_rank_stops_the_others_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = launch(
        dir.path(),
        &["--cpus", "3", "--spawn"],
        &[("EBMLAUNCH_TEST_FAIL_RANK", "1")],
    );
    let elapsed = started.elapsed();
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("rank 1 exited with code 1"), "{stderr}");
    assert!(stderr.contains("last lines of rank 1"), "{stderr}");
    assert!(stderr.contains("fails on purpose"), "{stderr}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let pids = worker_pids(&stderr);
    assert_eq!(pids.len(), 3, "{stderr}");
    assert_all_gone(&pids);
}

#[test]
fn a_worker_ignoring_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = launch(
        dir.path(),
        &["--cpus", "2", "--spawn"],
        &[
            ("EBMLAUNCH_TEST_FAIL_RANK", "0"),
            ("EBMLAUNCH_TEST_IGNORE_SIGTERM", "1"),
        ],
    );
    let elapsed = started.elapsed();
    let stderr = text(&o.stderr);
    assert!(stderr.contains("rank 0 exited with code 1"), "{stderr}");
    assert!(
        elapsed >= Duration::from_secs(3),
        "no grace period: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_all_gone(&worker_pids(&stderr));
}

/// Starts a run whose workers all wait, and returns it with their pids once all have started.
fn start_waiting_run(dir: &Path, n: usize) -> (Child, Vec<u32>) {
    let (child, pids, _) = start_waiting_run_with(dir, n, &[]);
    (child, pids)
}

/// [`start_waiting_run`] with more launcher arguments; also returns the receiver of the
/// launcher's later stderr lines. The pids are in rank order.
fn start_waiting_run_with(
    dir: &Path,
    n: usize,
    args: &[&str],
) -> (Child, Vec<u32>, mpsc::Receiver<String>) {
    let n_text = n.to_string();
    let mut all = vec!["--cpus", n_text.as_str(), "--spawn"];
    all.extend_from_slice(args);
    let mut child = command(dir, &all, &[("EBMLAUNCH_TEST_FAIL_RANK", "99")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut pids = vec![0u32; n];
    let mut seen = 0;
    while seen < n {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("workers did not start");
        // "… worker rank R/N (local L) pid P"
        let rank = line
            .split("worker rank ")
            .nth(1)
            .and_then(|r| r.split('/').next()?.parse::<usize>().ok());
        if let (Some(rank), Some(&pid)) = (rank, worker_pids(&line).first()) {
            pids[rank] = pid;
            seen += 1;
        }
    }
    // Let them pass the rendezvous and settle into waiting.
    std::thread::sleep(Duration::from_millis(500));
    (child, pids, rx)
}

#[test]
fn a_frozen_rank_is_named_within_the_heartbeat_timeout() {
    // Issue 17, D4: a worker stopped with SIGSTOP used to leave the launcher waiting silently
    // (collective timeout 1,800 s), or blaming the rank that waited for it.
    let dir = tempfile::tempdir().unwrap();
    let (mut launcher, pids, rx) =
        start_waiting_run_with(dir.path(), 3, &["--set", "dist.heartbeat_timeout=2"]);
    // SAFETY: plain kill(2) to a worker we started.
    unsafe { libc::kill(pids[1] as i32, libc::SIGSTOP) };
    let started = Instant::now();
    let status = launcher.wait().unwrap();
    let elapsed = started.elapsed();
    // The launcher has exited: its stderr reaches EOF, and the reader thread drops the sender.
    let stderr: Vec<String> = rx.iter().collect();
    let stderr = stderr.join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rank 1 stopped responding: no heartbeat for"),
        "{stderr}"
    );
    assert!(stderr.contains("dist.heartbeat_timeout = 2"), "{stderr}");
    assert!(!stderr.contains("rank 0 stopped"), "{stderr}");
    // 2 s of silence, up to 1 s between looks, the grace period for the others, SIGKILL.
    assert!(elapsed < Duration::from_secs(12), "took {elapsed:?}");
    assert_all_gone(&pids);
}

#[test]
fn waiting_ranks_keep_beating() {
    // Workers busy for longer than the timeout (here: asleep) are not frozen.
    let dir = tempfile::tempdir().unwrap();
    let (mut launcher, pids, _rx) =
        start_waiting_run_with(dir.path(), 2, &["--set", "dist.heartbeat_timeout=1.5"]);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        launcher.try_wait().unwrap().is_none(),
        "the launcher stopped a run whose workers were alive"
    );
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    assert_all_gone(&pids);
}

#[test]
fn ctrl_c_stops_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    let (mut launcher, pids) = start_waiting_run(dir.path(), 2);
    // SAFETY: plain kill(2) to the launcher we started.
    unsafe { libc::kill(launcher.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let status = launcher.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "{status}");
    assert_all_gone(&pids);
}

#[test]
fn workers_die_with_a_killed_launcher() {
    let dir = tempfile::tempdir().unwrap();
    let (mut launcher, pids) = start_waiting_run(dir.path(), 2);
    launcher.kill().unwrap(); // SIGKILL: the launcher gets no chance to stop anyone
    launcher.wait().unwrap();
    assert_all_gone(&pids);
}

#[test]
fn config_disagreement_is_an_error_naming_the_rank() {
    let dir = tempfile::tempdir().unwrap();
    let o = launch(
        dir.path(),
        &["--cpus", "3", "--spawn"],
        &[("EBMLAUNCH_TEST_CONFIG_SALT_RANK", "2")],
    );
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("config mismatch: rank 2 (hash"), "{stderr}");
    assert!(!stderr.contains("config mismatch: rank 1"), "{stderr}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn gpus_without_cuda_support_exits_2_with_the_rebuild_hint() {
    let dir = tempfile::tempdir().unwrap();
    let o = launch(dir.path(), &["--gpus", "2"], &[]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cargo build --release -p ebm-launch --features cuda"),
        "{stderr}"
    );
    assert!(stderr.contains("--cpus N"), "{stderr}");
    assert!(!dir.path().join("run").exists());
}

#[test]
fn inconsistent_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--spawn"][..],
        &["--cpus", "0"],
        &["--cpus", "2", "--gpus", "2"],
        &["--cpus", "2", "--spawn", "--nnodes", "2"],
        &[
            "--cpus",
            "2",
            "--spawn",
            "--nnodes",
            "2",
            "--node-rank",
            "2",
            "--master-port",
            "1",
        ],
        &["--cpus", "2", "--nnodes", "2", "--master-port", "1"],
    ] {
        let o = launch(dir.path(), args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn spawned_workers_train_bit_identically_to_thread_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], out: &str| {
        let mut cmd = command(dir.path(), args, &[]);
        // `command` already passes --out run; a later --out would conflict, so use a subfolder.
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        let dest = dir.path().join(out);
        std::fs::rename(dir.path().join("run"), &dest).unwrap();
        (dest, text(&o.stdout))
    };
    let (threads, _) = run(&["--cpus", "2"], "threads");
    let (spawned, stdout) = run(&["--cpus", "2", "--spawn"], "spawned");
    for file in ["metrics.jsonl", "samples.npy"] {
        let a = std::fs::read(threads.join(file)).unwrap();
        let b = std::fs::read(spawned.join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between thread ranks and worker processes"
        );
    }
    // Only rank 0 reports.
    assert!(stdout.contains("[rank 0] run folder"), "{stdout}");
    assert!(!stdout.contains("[rank 1] run folder"), "{stdout}");
}

/// A free loopback port (bound and released at once).
fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// Two launchers on loopback (`--nnodes 2`, one worker each, the store on node 0) with `args`
/// and `env`; returns both outputs, node 0's first.
fn two_nodes(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Output) {
    let port = free_port();
    let mut env = env.to_vec();
    env.push(("EBMLAUNCH_TOKEN", "loopback-test-secret"));
    let node = |rank: &str| {
        let mut all = vec![
            "--nnodes",
            "2",
            "--node-rank",
            rank,
            "--cpus",
            "1",
            "--spawn",
            "--master-port",
            &port,
        ];
        all.extend_from_slice(args);
        let mut cmd = command(dir, &all, &env);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (node0, node1) = (node("0"), node("1"));
    (
        node0.wait_with_output().unwrap(),
        node1.wait_with_output().unwrap(),
    )
}

#[test]
fn two_nodes_on_loopback_train_like_one_node_with_two_ranks() {
    // Issue 17, item 8: `--nnodes 2` end to end (two launchers, node ranks 0 and 1, one worker
    // each, the store on node 0) writes what one launcher with two worker processes writes.
    let dir = tempfile::tempdir().unwrap();
    let (node0, node1) = two_nodes(dir.path(), &[], &[]);
    for (name, o) in [("node 0", node0), ("node 1", node1)] {
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
    }
    std::fs::rename(dir.path().join("run"), dir.path().join("two_nodes")).unwrap();
    let o = launch(dir.path(), &["--cpus", "2", "--spawn"], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = |run: &str, f: &str| std::fs::read(dir.path().join(run).join(f)).unwrap();
    for f in [
        "metrics.jsonl",
        "samples.npy",
        "eval.json",
        "checkpoints/step_0000020.safetensors",
    ] {
        assert!(
            file("two_nodes", f) == file("run", f),
            "{f} differs between 2 nodes × 1 rank and 1 node × 2 ranks"
        );
    }
}

/// The restart tests' run length: rank 1's hook thread must see checkpoint 10 long before the
/// end, even on a machine so busy that the thread waits its turn for many steps.
const LONGER: [&str; 2] = ["--set", "train.steps=200"];
/// Rank 1 dies once checkpoint 10 exists, in the group's first start only.
const CRASH: [(&str, &str); 1] = [("EBMLAUNCH_TEST_EXIT_AFTER_CHECKPOINT", "1:10")];

/// A folder holding `uninterrupted/`: the restart tests' run with two workers, not interrupted.
fn uninterrupted_run() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = launch(
        dir.path(),
        &[&["--cpus", "2", "--spawn"], &LONGER[..]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::rename(dir.path().join("run"), dir.path().join("uninterrupted")).unwrap();
    dir
}

/// `dir/run` ended with the same metrics, samples and evaluation as `dir/uninterrupted`.
fn assert_same_as_uninterrupted(dir: &Path) {
    for f in ["metrics.jsonl", "samples.npy", "eval.json"] {
        let a = std::fs::read(dir.join("uninterrupted").join(f)).unwrap();
        let b = std::fs::read(dir.join("run").join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs from the uninterrupted run after a restart"
        );
    }
}

#[test]
fn a_failure_on_one_node_restarts_or_stops_every_node() {
    // Issue 17, item 8 across nodes: rank 1 (node 1) dies once checkpoint 10 exists. With
    // --max-restarts 1 both launchers restart their workers (one restart for the run) and the
    // run ends as if uninterrupted; without, node 0 is told to stop instead of leaving its
    // worker blocked in a collective.
    let dir = uninterrupted_run();
    let (node0, node1) = two_nodes(
        dir.path(),
        &[&["--max-restarts", "1"], &LONGER[..]].concat(),
        &CRASH,
    );
    let (err0, err1) = (text(&node0.stderr), text(&node1.stderr));
    assert!(node0.status.success(), "node 0: {err0}\nnode 1: {err1}");
    assert!(node1.status.success(), "node 1: {err1}");
    assert!(err1.contains("restart 1/1"), "{err1}");
    assert!(
        err0.contains("another node's worker failed: restart 1/1"),
        "{err0}"
    );
    assert_same_as_uninterrupted(dir.path());

    std::fs::remove_dir_all(dir.path().join("run")).unwrap();
    let started = Instant::now();
    let (node0, node1) = two_nodes(dir.path(), &LONGER, &CRASH);
    assert_eq!(node1.status.code(), Some(1), "{}", text(&node1.stderr));
    assert_eq!(node0.status.code(), Some(1), "{}", text(&node0.stderr));
    assert!(
        text(&node0.stderr).contains("a worker on another node failed"),
        "{}",
        text(&node0.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_restarted_group_resumes_and_ends_like_an_uninterrupted_run() {
    // Issue 17, item 8: `--max-restarts` (torchrun's elastic restart on one node). Rank 1 dies
    // once checkpoint 10 exists; the launcher restarts both workers, which resume from the
    // newest verified checkpoint, and the run ends with the same files as one never interrupted.
    let dir = uninterrupted_run();
    let o = launch(
        dir.path(),
        &[
            &["--cpus", "2", "--spawn", "--max-restarts", "1"],
            &LONGER[..],
        ]
        .concat(),
        &CRASH,
    );
    let stderr = text(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("rank 1 exited with code 1"), "{stderr}");
    assert!(stderr.contains("restart 1/1 in 1 s"), "{stderr}");
    assert_same_as_uninterrupted(dir.path());

    // Without --max-restarts the same crash fails the run.
    std::fs::remove_dir_all(dir.path().join("run")).unwrap();
    let o = launch(
        dir.path(),
        &[&["--cpus", "2", "--spawn"], &LONGER[..]].concat(),
        &CRASH,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

#[test]
fn max_restarts_needs_worker_processes() {
    let dir = tempfile::tempdir().unwrap();
    let o = launch(dir.path(), &["--cpus", "2", "--max-restarts", "1"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--spawn"), "{}", text(&o.stderr));
}
