//! A worker process: one rank of a run the launcher started (it re-ran this binary with the
//! worker environment). Connects to the store, agrees with every rank on the config, builds its
//! collective, and trains. Rank 0 alone writes the run folder (the trainer enforces it).
//!
//! Test hooks (environment, for launch/tests only): `EBMLAUNCH_TEST_WORKER=rendezvous` stops after the
//! rendezvous and prints the id rank 0 shared; `EBMLAUNCH_TEST_FAIL_RANK=R` makes rank R exit 1 after
//! the rendezvous while the others wait; `EBMLAUNCH_TEST_CONFIG_SALT_RANK=R` makes rank R publish an
//! altered config hash; `EBMLAUNCH_TEST_IGNORE_SIGTERM` makes the waiting ranks ignore SIGTERM
//! (so that the launcher must escalate to SIGKILL); `EBMLAUNCH_TEST_EXIT_AFTER_CHECKPOINT=R:S` makes
//! rank R exit 1 once checkpoint S exists, in the group's first start only (`--max-restarts`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ebm_dist::{Collective, StoreClient, TcpCollective};
use ebm_eval::{EvalHooks, EvalReport};
use ebm_train::{LoadedConfig, Start, TrainSummary};

use crate::cli::{Device, LaunchError};
use crate::rendezvous::{self, WorkerEnv};

/// How long a collective waits for the slowest rank (a step, an evaluation, a checkpoint) unless
/// `EBMLAUNCH_DIST_TIMEOUT` (seconds) says otherwise.
const DEFAULT_COLLECTIVE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Trains one rank of a multi-process run with `collective`: the one place where a worker
/// process hands its rank to the trainer.
pub fn train_rank(
    loaded: &LoadedConfig,
    dir: &Path,
    start: Start,
    collective: Arc<dyn Collective>,
) -> Result<TrainSummary<EvalReport>, LaunchError> {
    Ok(
        ebm_train::Trainer::new_distributed(loaded, dir, start, collective)?
            .run(&mut EvalHooks::new())?,
    )
}

/// Trains `ranks` ranks as threads of this process (`--cpus N` without `--spawn`).
pub fn train_local_ranks(
    loaded: &LoadedConfig,
    dir: &Path,
    start: Start,
    ranks: usize,
) -> Result<TrainSummary<EvalReport>, LaunchError> {
    Ok(ebm_train::run_local_ranks(
        loaded,
        dir,
        start,
        ranks,
        EvalHooks::new(),
    )?)
}

/// The worker's whole life; `config_path` and `start` come from the (same) command line.
pub fn run_worker(config_path: &Path, sets: &[String], start: Start) -> Result<(), LaunchError> {
    let env = WorkerEnv::from_env()?;
    // A restarted group (`--max-restarts`) resumes whatever the command line said.
    let start = if env.restart > 0 {
        Start::Resume
    } else {
        start
    };
    if env.restart == 0 {
        exit_after_checkpoint_for_tests(&env);
    }
    exit_if_orphaned(env.launcher_pid);
    // The launcher's test asserts that no worker outlives a failed run; it needs our pid.
    eprintln!(
        "worker rank {}/{} (local {}) pid {}",
        env.rank,
        env.world_size,
        env.local_rank,
        std::process::id()
    );
    let loaded = ebm_train::load(config_path, sets)?;
    let addr = (env.master_addr.as_str(), env.master_port);
    // Every key of this group carries its generation's prefix (see `--max-restarts`).
    let prefix = rendezvous::key_prefix(env.restart);
    let store = StoreClient::connect(addr, &env.token, rendezvous::RENDEZVOUS_TIMEOUT)?
        .with_prefix(prefix.clone());
    crate::heartbeat::start_beating(
        (env.master_addr.clone(), env.master_port),
        env.token.clone(),
        prefix.clone(),
        env.rank,
    );

    // Before this rank joins the config agreement, so the failing rank (which waits for every
    // rank's hash) cannot fail, and the launcher cannot send SIGTERM, before it is ignored.
    if test_var("EBMLAUNCH_TEST_FAIL_RANK").is_some_and(|r| r != env.rank)
        && std::env::var_os("EBMLAUNCH_TEST_IGNORE_SIGTERM").is_some()
    {
        // SAFETY: setting a signal's disposition to "ignore" installs no handler code.
        unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    }
    let mut hash = config_hash(&loaded, &env, &start)?;
    if test_var("EBMLAUNCH_TEST_CONFIG_SALT_RANK") == Some(env.rank) {
        hash ^= 0x5a5a;
    }
    rendezvous::check_config_agreement(&store, env.rank, env.world_size, hash)?;

    if std::env::var("EBMLAUNCH_TEST_WORKER").as_deref() == Ok("rendezvous") {
        let id = rendezvous::share_id(&store, env.rank, "test/id", || {
            Ok(rendezvous::fresh_token().into_bytes())
        })?;
        println!(
            "rank {} rendezvous id {}",
            env.rank,
            String::from_utf8_lossy(&id)
        );
        return Ok(());
    }
    if let Some(failing) = test_var("EBMLAUNCH_TEST_FAIL_RANK") {
        if env.rank == failing {
            return Err(LaunchError::run(format!(
                "rank {failing} fails on purpose (EBMLAUNCH_TEST_FAIL_RANK)"
            )));
        }
        std::thread::sleep(Duration::from_secs(120));
        return Ok(());
    }

    let summary = match env.device {
        Device::Cpu => {
            let timeout = std::env::var("EBMLAUNCH_DIST_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .map_or(DEFAULT_COLLECTIVE_TIMEOUT, Duration::from_secs);
            // The collective gets its own connection, with the long timeout of a training step.
            let client = StoreClient::connect(addr, &env.token, timeout)?.with_prefix(prefix);
            let collective = TcpCollective::new(client, env.rank, env.world_size)?;
            train_rank(&loaded, &env.run_dir, start, Arc::new(collective))?
        }
        Device::Gpu => gpu_rank(&loaded, &store, &env, start)?,
    };
    if env.rank == 0 {
        crate::print_summary(&env.run_dir, &summary);
    }
    Ok(())
}

/// Hashes what every rank must agree on: the resolved config, the run folder, fresh or resume,
/// and the world size.
fn config_hash(loaded: &LoadedConfig, env: &WorkerEnv, start: &Start) -> Result<u64, LaunchError> {
    let config = serde_json::to_string(&loaded.config)
        .map_err(|e| LaunchError::run(format!("serialising the config: {e}")))?;
    // Fresh or resumed, and from which checkpoint (`{start:?}`): every rank must agree.
    let agreed = format!(
        "{config}\n{}\n{start:?}\n{}",
        env.run_dir.display(),
        env.world_size
    );
    Ok(rendezvous::fnv1a(agreed.as_bytes()))
}

/// Test hook `EBMLAUNCH_TEST_EXIT_AFTER_CHECKPOINT=R:S`: rank R exits with code 1 (a crash, as
/// far as the launcher can tell) once checkpoint S exists, in the group's first start only.
fn exit_after_checkpoint_for_tests(env: &WorkerEnv) {
    let Ok(spec) = std::env::var("EBMLAUNCH_TEST_EXIT_AFTER_CHECKPOINT") else {
        return;
    };
    let Some((rank, step)) = spec
        .split_once(':')
        .and_then(|(r, s)| Some((r.parse::<usize>().ok()?, s.parse::<u64>().ok()?)))
    else {
        return;
    };
    if rank != env.rank {
        return;
    }
    let path = env
        .run_dir
        .join("checkpoints")
        .join(ebm_train::checkpoint::file_name(step));
    std::thread::spawn(move || loop {
        if path.is_file() {
            eprintln!(
                "rank {rank} exits on purpose after {} (test hook)",
                path.display()
            );
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(5));
    });
}

fn test_var(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// Exits when the launcher is gone (its pid is no longer our parent): the portable fallback of
/// `PR_SET_PDEATHSIG`.
fn exit_if_orphaned(launcher_pid: u32) {
    let check = move || std::os::unix::process::parent_id() != launcher_pid;
    if check() {
        eprintln!("the launcher (pid {launcher_pid}) is gone; exiting");
        std::process::exit(1);
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        if check() {
            eprintln!("the launcher (pid {launcher_pid}) is gone; exiting");
            std::process::exit(1);
        }
    });
}

/// A GPU rank: trains on GPU `LOCAL_RANK` with NCCL on candle's stream for that device; the
/// NCCL unique id goes through the store. NCCL calls have no timeout: a rank that dies mid-step
/// leaves the others blocked until the launcher's watch stops them.
#[cfg(feature = "cuda-train")]
fn gpu_rank(
    loaded: &LoadedConfig,
    store: &StoreClient,
    env: &WorkerEnv,
    start: Start,
) -> Result<TrainSummary<EvalReport>, LaunchError> {
    let device = ebm_train::device::cuda_device(env.local_rank)?;
    let cuda = device
        .as_cuda_device()
        .map_err(|e| LaunchError::run(format!("GPU {}: {e}", env.local_rank)))?;
    let collective = ebm_dist::CudaCollective::from_store(
        store,
        "rdzv/nccl-id",
        cuda,
        env.rank,
        env.world_size,
    )?;
    let mut trainer = ebm_train::Trainer::new_distributed_on(
        loaded,
        &env.run_dir,
        start,
        Arc::new(collective),
        device,
    )?;
    Ok(trainer.run(&mut EvalHooks::new())?)
}

/// A GPU rank on a build without candle's CUDA backend: the NCCL unique id goes through the
/// store and the communicator is built (so the rendezvous is exercised), then it stops.
#[cfg(all(feature = "cuda", not(feature = "cuda-train")))]
fn gpu_rank(
    _loaded: &LoadedConfig,
    store: &StoreClient,
    env: &WorkerEnv,
    _start: Start,
) -> Result<TrainSummary<EvalReport>, LaunchError> {
    let _comm = ebm_dist::nccl::NcclCollective::from_store_on_device(
        store,
        "rdzv/nccl-id",
        env.local_rank,
        env.rank,
        env.world_size,
    )?;
    Err(LaunchError::run(
        "this build cannot train on GPUs (the NCCL communicator was created): rebuild with \
         cargo build --release -p ebm-launch --features cuda-train, or use --cpus N",
    ))
}

#[cfg(not(feature = "cuda"))]
fn gpu_rank(
    _loaded: &LoadedConfig,
    _store: &StoreClient,
    _env: &WorkerEnv,
    _start: Start,
) -> Result<TrainSummary<EvalReport>, LaunchError> {
    Err(LaunchError::Usage(crate::NO_CUDA.into()))
}
