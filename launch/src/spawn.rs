//! Starting worker processes: the launcher re-executes its own binary with the same arguments
//! and the worker environment ([`crate::rendezvous::WorkerEnv`]).
//!
//! Each worker is the leader of its own process group, so that stopping it (a signal to the
//! group) also reaches anything it started, and so that a Ctrl-C at the terminal reaches only
//! the launcher, which then stops the workers in order. A worker also dies with the launcher:
//! on Linux through `PR_SET_PDEATHSIG`, elsewhere through the worker's parent watchdog
//! ([`crate::worker`]).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use crate::cli::LaunchError;
use crate::rendezvous::WorkerEnv;

/// A started worker.
#[derive(Debug)]
pub struct Worker {
    pub rank: usize,
    pub child: Child,
}

impl Worker {
    /// The worker's process group (it leads its own).
    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }
}

/// Starts one worker: this binary, the launcher's arguments, `env`, stdout/stderr piped.
pub fn spawn_worker(env: &WorkerEnv, threads: usize) -> Result<Worker, LaunchError> {
    let exe = std::env::current_exe()
        .map_err(|e| LaunchError::run(format!("cannot find this program to re-run: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in env.to_vars() {
        cmd.env(key, value);
    }
    // Ranks share the node's cores: without this every rank starts one thread per core.
    for var in ["RAYON_NUM_THREADS", "OMP_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            cmd.env(var, threads.to_string());
        }
    }
    die_with_parent(&mut cmd);
    let child = cmd
        .spawn()
        .map_err(|e| LaunchError::run(format!("starting worker rank {}: {e}", env.rank)))?;
    Ok(Worker {
        rank: env.rank,
        child,
    })
}

/// Threads per worker so that `nproc` workers fill the machine's cores without oversubscribing.
pub fn threads_per_worker(nproc: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / nproc.max(1)).max(1)
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions
    // (prctl, getppid, _exit); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The launcher may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Sends `signal` to a process group; a group that is already gone is not an error.
pub fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 0 {
        // SAFETY: kill has no memory-safety preconditions; a negative pid names a group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}
