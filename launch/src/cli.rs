//! The data-parallel flags, the immutable launch spec they resolve to, and the launcher's error
//! type with its exit codes (torchrun's layering: CLI → spec → agent → processes).

use clap::Args;

/// How many ranks, on what, and where the rendezvous store is.
#[derive(Debug, Clone, Default, Args)]
pub struct DistArgs {
    /// Data-parallel training on N GPUs of this node: one worker process per GPU, over NCCL
    /// (needs a build with `--features cuda`).
    #[arg(long, value_name = "N", conflicts_with = "cpus")]
    pub gpus: Option<usize>,
    /// Data-parallel training with N CPU ranks: threads of this process, or with --spawn one
    /// worker process per rank.
    #[arg(long, value_name = "N")]
    pub cpus: Option<usize>,
    /// With --cpus: one worker process per rank (collectives through the rendezvous store)
    /// instead of threads.
    #[arg(long, requires = "cpus")]
    pub spawn: bool,
    /// Number of nodes (machines) taking part; every node runs the same command.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub nnodes: usize,
    /// This node's rank in 0..nnodes; node 0 runs the rendezvous store.
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub node_rank: usize,
    /// Address of node 0's rendezvous store (node 0 binds it; loopback unless told otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub master_addr: String,
    /// Port of the rendezvous store (default: a free port; required with --nnodes > 1).
    #[arg(long, value_name = "PORT")]
    pub master_port: Option<u16>,
    /// Restart the worker processes up to N times after one fails or stops responding (not on
    /// a config error, a divergence or Ctrl-C): all of them resume from the newest verified
    /// checkpoint after a back-off of 1, 2, 4, … s (at most 30). N counts the restarts of the
    /// whole run, over all nodes; every node's launcher must be given the same N.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_restarts: usize,
}

/// What runs the ranks' collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Gpu,
}

/// The launch, decided once from the flags: nothing in it is filled in later.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub device: Device,
    /// Worker processes on this node.
    pub nproc: usize,
    pub nnodes: usize,
    pub node_rank: usize,
    pub master_addr: String,
    /// `None`: node 0 picks a free port.
    pub master_port: Option<u16>,
    /// Restarts of the worker group allowed after a worker failure.
    pub max_restarts: usize,
}

impl LaunchSpec {
    pub fn world_size(&self) -> usize {
        self.nproc * self.nnodes
    }
}

/// How the run executes.
#[derive(Debug, Clone)]
pub enum Mode {
    /// One process, one rank: the plain trainer.
    Single,
    /// N ranks as threads of this process.
    Threads(usize),
    /// Worker processes, watched by this launcher.
    Processes(LaunchSpec),
}

impl DistArgs {
    /// Checks the flags together and resolves the mode.
    pub fn mode(&self) -> Result<Mode, LaunchError> {
        let usage = |m: &str| Err(LaunchError::Usage(m.to_string()));
        if self.nnodes == 0 {
            return usage("--nnodes must be at least 1");
        }
        if self.node_rank >= self.nnodes {
            return usage(&format!(
                "--node-rank {} is not below --nnodes {}",
                self.node_rank, self.nnodes
            ));
        }
        let multi_node = self.nnodes > 1;
        if multi_node && self.master_port.is_none() {
            return usage("--nnodes > 1 needs --master-port (every node must know it)");
        }
        if self.max_restarts > 0 && self.gpus.is_none() && !self.spawn {
            return usage("--max-restarts restarts worker processes: add --spawn (or use --gpus)");
        }
        let (device, nproc) = match (self.gpus, self.cpus) {
            (Some(0), _) | (_, Some(0)) => return usage("--gpus / --cpus must be at least 1"),
            (Some(n), _) => (Device::Gpu, n),
            (None, Some(n)) if self.spawn => (Device::Cpu, n),
            (None, Some(n)) if !multi_node => return Ok(Mode::Threads(n)),
            (None, Some(_)) => {
                return usage("--nnodes > 1 needs worker processes: add --spawn (or use --gpus)")
            }
            (None, None) if multi_node => {
                return usage("--nnodes > 1 needs --gpus N or --cpus N --spawn")
            }
            (None, None) => return Ok(Mode::Single),
        };
        Ok(Mode::Processes(LaunchSpec {
            device,
            nproc,
            nnodes: self.nnodes,
            node_rank: self.node_rank,
            master_addr: self.master_addr.clone(),
            master_port: self.master_port,
            max_restarts: self.max_restarts,
        }))
    }
}

/// Everything the launcher and its workers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The command line is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Training (or loading its config) failed; the error says whether it was the user's input.
    #[error(transparent)]
    Train(#[from] ebm_train::Error),
    /// `sample` or `eval` failed; the error says whether it was the user's input.
    #[error(transparent)]
    Eval(#[from] ebm_eval::Error),
    /// Communication between ranks failed.
    #[error(transparent)]
    Dist(#[from] ebm_dist::Error),
    /// The ranks resolved different configs (exit 2).
    #[error("{0}")]
    ConfigMismatch(String),
    /// Starting or watching workers failed, or a worker failed (exit `code`).
    #[error("{message}")]
    Run { message: String, code: u8 },
}

impl LaunchError {
    pub fn run(message: impl Into<String>) -> Self {
        LaunchError::Run {
            message: message.into(),
            code: 1,
        }
    }

    /// 2 for what the user wrote or gave (command line, config, data files, run folders), 1 for
    /// failures while running (or the failing worker's code).
    pub fn exit_code(&self) -> u8 {
        match self {
            LaunchError::Usage(_) | LaunchError::ConfigMismatch(_) => 2,
            LaunchError::Train(e) if e.is_user_input() => 2,
            LaunchError::Eval(e) if e.is_user_input() => 2,
            LaunchError::Train(_) | LaunchError::Eval(_) | LaunchError::Dist(_) => 1,
            LaunchError::Run { code, .. } => *code,
        }
    }
}
