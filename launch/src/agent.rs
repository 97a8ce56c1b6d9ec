//! The launcher's side of a multi-process run (torchrun's agent): check the devices, serve the
//! rendezvous store on node 0, start this node's workers, and watch them to the end.

use std::path::Path;
use std::time::Duration;

use crate::cli::{LaunchError, LaunchSpec};
use crate::heartbeat::HeartbeatMonitor;
use crate::{rendezvous, spawn, watch};

/// `--gpus N`: fails at once, with how to fix it, when this build or this machine cannot.
pub fn check_gpus(n: usize) -> Result<(), LaunchError> {
    #[cfg(feature = "cuda")]
    {
        let seen = ebm_dist::nccl::device_count();
        if seen < n {
            return Err(LaunchError::Usage(format!(
                "--gpus {n}: {seen} GPU(s) visible (check the driver and CUDA_VISIBLE_DEVICES), \
                 or train on CPU ranks with --cpus N"
            )));
        }
        Ok(())
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = n;
        Err(LaunchError::Usage(crate::NO_CUDA.into()))
    }
}

/// This node's part of a multi-process run: the store (node 0), the workers, the watch (exits,
/// and heartbeats: a local worker silent for `heartbeat_timeout` fails the run). With
/// `--max-restarts N` a failed worker group is started again, up to N times, each worker resuming
/// from the newest verified checkpoint (torchrun's elastic restart, on one node).
pub fn launch_workers(
    spec: &LaunchSpec,
    dir: &Path,
    heartbeat_timeout: Duration,
) -> Result<(), LaunchError> {
    let token = match std::env::var(rendezvous::TOKEN_VAR) {
        Ok(token) if !token.is_empty() => token,
        _ if spec.nnodes > 1 => {
            return Err(LaunchError::Usage(format!(
                "--nnodes > 1: set the same secret in {} on every node",
                rendezvous::TOKEN_VAR
            )))
        }
        _ => rendezvous::fresh_token(),
    };
    watch::install_stop_handlers();
    let mut restart = 0;
    loop {
        let outcome = run_group(spec, dir, heartbeat_timeout, &token, restart);
        match outcome {
            Err(e) if restart < spec.max_restarts && restartable(&e) => {
                restart += 1;
                let wait = Duration::from_secs(1 << (restart - 1).min(5)).min(RESTART_BACKOFF_MAX);
                tracing::warn!(
                    "{e}\nrestart {restart}/{} in {} s: every worker resumes from the newest \
                     verified checkpoint of {}",
                    spec.max_restarts,
                    wait.as_secs(),
                    dir.display()
                );
                if watch::sleep_unless_stopped(wait) {
                    return Err(LaunchError::Run {
                        message: "stopped by a signal while waiting to restart".into(),
                        code: 130,
                    });
                }
            }
            other => return other,
        }
    }
}

/// The longest back-off before a restart.
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Whether a failed group is worth starting again: a worker failed or went silent (exit 1), not
/// a config error (2), a signal, or a divergence (which a resume would only repeat).
fn restartable(e: &LaunchError) -> bool {
    matches!(e, LaunchError::Run { code: 1, message } if !message.contains("training diverged"))
}

/// One start of the worker group: a fresh store on node 0 (so that nothing a failed group left
/// in it is read by the next), the workers, the watch.
fn run_group(
    spec: &LaunchSpec,
    dir: &Path,
    heartbeat_timeout: Duration,
    token: &str,
    restart: usize,
) -> Result<(), LaunchError> {
    // Node 0 serves the store for the whole group; it must outlive the workers.
    let server = if spec.node_rank == 0 {
        let addr = (spec.master_addr.as_str(), spec.master_port.unwrap_or(0));
        Some(ebm_dist::StoreServer::bind(addr, token)?)
    } else {
        None
    };
    let port = match (&server, spec.master_port) {
        (Some(server), _) => server.port(),
        (None, Some(port)) => port,
        (None, None) => return Err(LaunchError::Usage("--master-port is required".into())),
    };
    let threads = spawn::threads_per_worker(spec.nproc);
    let mut workers = Vec::with_capacity(spec.nproc);
    for local_rank in 0..spec.nproc {
        let env = rendezvous::WorkerEnv {
            rank: spec.node_rank * spec.nproc + local_rank,
            local_rank,
            world_size: spec.world_size(),
            local_world_size: spec.nproc,
            master_addr: spec.master_addr.clone(),
            master_port: port,
            token: token.to_string(),
            run_dir: dir.to_path_buf(),
            launcher_pid: std::process::id(),
            device: spec.device,
            restart,
        };
        match spawn::spawn_worker(&env, threads) {
            Ok(worker) => workers.push(worker),
            Err(e) => {
                // Whatever started must not outlive the launch.
                for w in &mut workers {
                    spawn::signal_group(w.pgid(), libc::SIGKILL);
                    let _ = w.child.wait();
                }
                return Err(e);
            }
        }
    }
    let ranks: Vec<usize> = workers.iter().map(|w| w.rank).collect();
    let monitor = HeartbeatMonitor::new(
        (spec.master_addr.as_str(), port),
        token,
        ranks,
        heartbeat_timeout,
    );
    let mut watch = watch::Watch::new(workers);
    match monitor {
        Ok(monitor) => watch = watch.with_heartbeat(monitor, heartbeat_timeout),
        // Without the store (node 0 not up yet on a multi-node run) the workers' own rendezvous
        // fails and says so; the watch still sees exits.
        Err(e) => tracing::warn!("not watching heartbeats: the store is unreachable ({e})"),
    }
    let outcome = watch.run();
    drop(server);
    outcome
}
