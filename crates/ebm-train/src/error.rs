//! The error type of ebm-train. `is_config` separates "what the user wrote is wrong" (the
//! launcher exits with 2) from failures while running.

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ebm_core::Error),

    /// The config could not be read or parsed (figment's message names the key and the source).
    #[error("{0}")]
    Config(String),

    #[error(transparent)]
    Tensor(#[from] candle_core::Error),

    #[error("plot: {0}")]
    Viz(#[from] ebm_viz::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },

    /// Energies or gradients became NaN/inf. Nothing after the last good checkpoint is written.
    #[error("training diverged at step {step}: {what}. {advice}")]
    Diverged {
        step: u64,
        what: String,
        advice: String,
    },

    /// A collective among the ranks failed (a peer is gone, the ranks disagree, a timeout).
    #[error("collective: {0}")]
    Dist(#[from] ebm_dist::Error),

    /// The ranks' weights are no longer bit-identical (`dist.check_every` caught it).
    #[error("ranks diverged at step {step}: {message}")]
    RanksDiverged { step: u64, message: String },

    /// What went wrong on one rank of a data-parallel run.
    #[error("rank {rank}: {source}")]
    Rank {
        rank: usize,
        #[source]
        source: Box<Error>,
    },

    /// A rank's thread panicked.
    #[error("rank {rank} panicked: {message}")]
    RankPanicked { rank: usize, message: String },

    /// The data set could not be loaded: a data file or folder, a batcher state, or a tensor
    /// failure while building batches. (Parameter errors become [`Error::Core`] config errors,
    /// which know the file a key came from.)
    #[error("data: {0}")]
    Data(ebm_data::Error),

    /// The run folder is not usable (exists already, or has nothing to resume).
    #[error("run folder {path}: {message}")]
    RunDir { path: PathBuf, message: String },
}

impl Error {
    /// True for mistakes in what the user asked for (config, `--out`, `--resume`): the launcher
    /// exits with 2 for these, 1 for failures while running.
    pub fn is_config(&self) -> bool {
        match self {
            Error::Config(_) | Error::RunDir { .. } => true,
            Error::Core(e) => e.is_config(),
            Error::Data(e) => e.is_user_input(),
            Error::Rank { source, .. } => source.is_config(),
            _ => false,
        }
    }

    /// True for the error a rank gets because *another* rank failed first (its peer left the
    /// group), so a multi-rank run can report the root cause rather than its echoes.
    pub fn is_peer_failure(&self) -> bool {
        match self {
            Error::Dist(ebm_dist::Error::GroupBroken { .. }) => true,
            Error::Rank { source, .. } => source.is_peer_failure(),
            _ => false,
        }
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

impl From<ebm_data::Error> for Error {
    fn from(e: ebm_data::Error) -> Self {
        match e {
            ebm_data::Error::InvalidParam { key, reason } => {
                Error::Core(ebm_core::Error::config(key, reason))
            }
            other => Error::Data(other),
        }
    }
}
