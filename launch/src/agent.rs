//! The launcher's side of a multi-process run (torchrun's agent): check the devices, serve the
//! rendezvous store on node 0, start this node's workers, and watch them to the end.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{LaunchError, LaunchSpec};
use crate::heartbeat::HeartbeatMonitor;
use crate::restart::Control;
use crate::watch::Outcome;
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
/// heartbeats: a local worker silent for `heartbeat_timeout` fails the run, and the other nodes'
/// launchers' decisions). With `--max-restarts N` a failed worker group is started again, up to N
/// times across all nodes, every worker resuming from the newest verified checkpoint (torchrun's
/// elastic restart); without a restart left, the other nodes are told to stop.
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
    // Node 0 serves the store for the whole run, every generation of workers; it must outlive
    // them (each generation's keys carry its own prefix).
    let server = if spec.node_rank == 0 {
        let addr = (spec.master_addr.as_str(), spec.master_port.unwrap_or(0));
        let server =
            ebm_dist::StoreServer::bind(addr, &token).map_err(|e| match spec.master_port {
                // The user's choice of port or address (exit 2), e.g. a port already in use.
                Some(port) => LaunchError::Usage(format!(
                    "--master-addr {} --master-port {port}: {e}; pick a free port",
                    spec.master_addr
                )),
                None => e.into(),
            })?;
        Some(server)
    } else {
        None
    };
    let port = match (&server, spec.master_port) {
        (Some(server), _) => server.port(),
        (None, Some(port)) => port,
        (None, None) => return Err(LaunchError::Usage("--master-port is required".into())),
    };
    watch::install_stop_handlers();
    let control = Arc::new(Control::connect(
        (spec.master_addr.as_str(), port),
        &token,
        rendezvous::RENDEZVOUS_TIMEOUT,
    )?);
    let mut generation = 0;
    let outcome = loop {
        let group = Group {
            spec,
            dir,
            heartbeat_timeout,
            token: &token,
            port,
            generation,
        };
        match group.run(&control) {
            Outcome::Finished => break Ok(()),
            Outcome::Restart(g) => {
                tracing::warn!(
                    "another node's worker failed: restart {g}/{} (every worker resumes from the \
                     newest verified checkpoint of {})",
                    spec.max_restarts,
                    dir.display()
                );
                generation = g;
            }
            Outcome::Aborted(why) => {
                break Err(LaunchError::run(format!(
                    "{why}; stopped this node's workers"
                )))
            }
            Outcome::Failed(e) if generation < spec.max_restarts && restartable(&e) => {
                let wait = backoff(generation + 1);
                tracing::warn!(
                    "{e}\nrestart {}/{} in {} s: every worker resumes from the newest verified \
                     checkpoint of {}",
                    generation + 1,
                    spec.max_restarts,
                    wait.as_secs(),
                    dir.display()
                );
                match control.restart_after(generation, wait, &watch::sleep_unless_stopped) {
                    Ok(g) => generation = g,
                    Err(e) => break Err(e),
                }
            }
            Outcome::Failed(e) => {
                control.abort();
                break Err(e);
            }
        }
    };
    drop(server);
    outcome
}

/// The back-off before restart `n` (1, 2, 4, … s, at most 30).
fn backoff(n: usize) -> Duration {
    Duration::from_secs(1 << (n.saturating_sub(1)).min(5)).min(Duration::from_secs(30))
}

/// Whether a failed group is worth starting again: a worker failed or went silent (exit 1), not
/// a config error (2), a signal, or a divergence (which a resume would only repeat).
fn restartable(e: &LaunchError) -> bool {
    matches!(e, LaunchError::Run { code: 1, message } if !message.contains("training diverged"))
}

/// One generation of this node's worker group.
struct Group<'a> {
    spec: &'a LaunchSpec,
    dir: &'a Path,
    heartbeat_timeout: Duration,
    token: &'a str,
    port: u16,
    generation: usize,
}

impl Group<'_> {
    /// Starts the workers and watches them to their end.
    fn run(&self, control: &Arc<Control>) -> Outcome {
        let spec = self.spec;
        let threads = spawn::threads_per_worker(spec.nproc);
        let mut workers = Vec::with_capacity(spec.nproc);
        for local_rank in 0..spec.nproc {
            let env = rendezvous::WorkerEnv {
                rank: spec.node_rank * spec.nproc + local_rank,
                local_rank,
                world_size: spec.world_size(),
                local_world_size: spec.nproc,
                master_addr: spec.master_addr.clone(),
                master_port: self.port,
                token: self.token.to_string(),
                run_dir: self.dir.to_path_buf(),
                launcher_pid: std::process::id(),
                device: spec.device,
                restart: self.generation,
            };
            match spawn::spawn_worker(&env, threads) {
                Ok(worker) => workers.push(worker),
                Err(e) => {
                    // Whatever started must not outlive the launch.
                    for w in &mut workers {
                        spawn::signal_group(w.pgid(), libc::SIGKILL);
                        let _ = w.child.wait();
                    }
                    return Outcome::Failed(e);
                }
            }
        }
        let ranks: Vec<usize> = workers.iter().map(|w| w.rank).collect();
        let monitor = HeartbeatMonitor::new(
            (spec.master_addr.as_str(), self.port),
            self.token,
            &rendezvous::key_prefix(self.generation),
            ranks,
            self.heartbeat_timeout,
        );
        let mut watch =
            watch::Watch::new(workers).with_control(Arc::clone(control), self.generation);
        match monitor {
            Ok(monitor) => watch = watch.with_heartbeat(monitor),
            // Without the store the workers' own rendezvous fails and says so; the watch still
            // sees exits.
            Err(e) => tracing::warn!("not watching heartbeats: the store is unreachable ({e})"),
        }
        watch.run()
    }
}
