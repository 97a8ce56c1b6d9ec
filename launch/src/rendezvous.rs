//! The environment contract between the launcher and its workers (torchrun's names, set in one
//! place), the per-run token, and the rendezvous every worker runs through the store: agree on
//! the config, share an id.
//!
//! Our variables start with `EBMLAUNCH_`, not `EBM_`: every `EBM_*` variable is a config override
//! (`EBM_TRAIN__STEPS=100`), and the config loader rejects keys it does not know.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use ebm_dist::StoreClient;

use crate::cli::{Device, LaunchError};

/// Set on a worker process: run as a worker, not as a launcher.
pub const WORKER_MARKER: &str = "EBMLAUNCH_WORKER";
/// The per-run secret every store request carries.
pub const TOKEN_VAR: &str = "EBMLAUNCH_TOKEN";
/// The worker group's restart count (see `--max-restarts`).
pub const RESTART_VAR: &str = "EBMLAUNCH_RESTART";
/// The run folder the launcher resolved (so that every rank uses the same one).
pub const RUN_DIR_VAR: &str = "EBMLAUNCH_RUN_DIR";
/// The launcher's pid: a worker whose parent changes exits (the launcher died).
pub const LAUNCHER_PID_VAR: &str = "EBMLAUNCH_PARENT_PID";
/// `cpu` or `gpu`.
pub const DEVICE_VAR: &str = "EBMLAUNCH_DEVICE";

/// How long a worker waits for the store and its peers during the rendezvous.
pub const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(120);

/// One worker's place in the run, as handed over in its environment.
#[derive(Debug, Clone)]
pub struct WorkerEnv {
    pub rank: usize,
    pub local_rank: usize,
    pub world_size: usize,
    pub local_world_size: usize,
    pub master_addr: String,
    pub master_port: u16,
    pub token: String,
    pub run_dir: PathBuf,
    pub launcher_pid: u32,
    pub device: Device,
    /// How many times the launcher has restarted the worker group (0: the first start); a
    /// restarted worker resumes from the run folder's newest verified checkpoint.
    pub restart: usize,
}

impl WorkerEnv {
    /// The variables a worker process gets.
    pub fn to_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            (WORKER_MARKER, "1".into()),
            ("RANK", self.rank.to_string()),
            ("LOCAL_RANK", self.local_rank.to_string()),
            ("WORLD_SIZE", self.world_size.to_string()),
            ("LOCAL_WORLD_SIZE", self.local_world_size.to_string()),
            ("MASTER_ADDR", self.master_addr.clone()),
            ("MASTER_PORT", self.master_port.to_string()),
            (TOKEN_VAR, self.token.clone()),
            (RUN_DIR_VAR, self.run_dir.display().to_string()),
            (LAUNCHER_PID_VAR, self.launcher_pid.to_string()),
            (
                DEVICE_VAR,
                match self.device {
                    Device::Cpu => "cpu".into(),
                    Device::Gpu => "gpu".into(),
                },
            ),
            (RESTART_VAR, self.restart.to_string()),
        ]
    }

    /// Reads the contract back in a worker.
    pub fn from_env() -> Result<Self, LaunchError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let get = |name: &str| {
            vars.get(name).cloned().ok_or_else(|| {
                LaunchError::Usage(format!(
                    "worker environment lacks {name} (set by the launcher)"
                ))
            })
        };
        let num = |name: &str| -> Result<usize, LaunchError> {
            get(name)?
                .parse()
                .map_err(|_| LaunchError::Usage(format!("{name} is not a number")))
        };
        let env = WorkerEnv {
            rank: num("RANK")?,
            local_rank: num("LOCAL_RANK")?,
            world_size: num("WORLD_SIZE")?,
            local_world_size: num("LOCAL_WORLD_SIZE")?,
            master_addr: get("MASTER_ADDR")?,
            master_port: get("MASTER_PORT")?
                .parse()
                .map_err(|_| LaunchError::Usage("MASTER_PORT is not a port".into()))?,
            token: get(TOKEN_VAR)?,
            run_dir: PathBuf::from(get(RUN_DIR_VAR)?),
            launcher_pid: get(LAUNCHER_PID_VAR)?
                .parse()
                .map_err(|_| LaunchError::Usage(format!("{LAUNCHER_PID_VAR} is not a pid")))?,
            device: match get(DEVICE_VAR)?.as_str() {
                "gpu" => Device::Gpu,
                _ => Device::Cpu,
            },
            restart: match vars.get(RESTART_VAR) {
                Some(v) => v
                    .parse()
                    .map_err(|_| LaunchError::Usage(format!("{RESTART_VAR} is not a number")))?,
                None => 0,
            },
        };
        if env.rank >= env.world_size || env.local_rank >= env.local_world_size {
            return Err(LaunchError::Usage(format!(
                "RANK {} / LOCAL_RANK {} out of range for WORLD_SIZE {} / LOCAL_WORLD_SIZE {}",
                env.rank, env.local_rank, env.world_size, env.local_world_size
            )));
        }
        Ok(env)
    }
}

/// The store-key prefix of a worker group's generation `restart`: every key a worker reads or
/// writes carries it, so a restarted group never reads what a failed one left in the store.
pub fn key_prefix(restart: usize) -> String {
    format!("g{restart}/")
}

/// A fresh random token for one run (128 bits, hex).
pub fn fresh_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// FNV-1a, 64 bits: stable across processes and builds (unlike `DefaultHasher`'s promise).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Publishes this rank's config hash and checks that every rank's equals rank 0's. On a
/// mismatch the error names every rank that differs.
pub fn check_config_agreement(
    store: &StoreClient,
    rank: usize,
    world_size: usize,
    hash: u64,
) -> Result<(), LaunchError> {
    let key = |r: usize| format!("rdzv/config/{r}");
    store.set(&key(rank), &hash.to_be_bytes())?;
    let hashes = (0..world_size)
        .map(|r| {
            let bytes = store.get(&key(r))?;
            let bytes: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                LaunchError::run(format!("rank {r} published a malformed config hash"))
            })?;
            Ok(u64::from_be_bytes(bytes))
        })
        .collect::<Result<Vec<u64>, LaunchError>>()?;
    let differing: Vec<String> = (1..world_size)
        .filter(|&r| hashes[r] != hashes[0])
        .map(|r| format!("rank {r} (hash {:016x})", hashes[r]))
        .collect();
    if differing.is_empty() {
        return Ok(());
    }
    Err(LaunchError::ConfigMismatch(format!(
        "config mismatch: {} resolved a different config than rank 0 (hash {:016x}); every \
         node must run the same command with the same files, EBM_* variables and --set",
        differing.join(", "),
        hashes[0]
    )))
}

/// Rank 0 makes an id with `make` and publishes it under `key`; every rank returns it.
pub fn share_id(
    store: &StoreClient,
    rank: usize,
    key: &str,
    make: impl FnOnce() -> Result<Vec<u8>, LaunchError>,
) -> Result<Vec<u8>, LaunchError> {
    if rank == 0 {
        let id = make()?;
        store.set(key, &id)?;
        Ok(id)
    } else {
        Ok(store.get(key)?)
    }
}
