//! The error type of ebm-train. [`Error::is_user_input`] separates "what the user wrote or gave
//! is wrong" (config, command line, data files, run folders: the launcher exits with 2) from
//! failures while running (exit 1).

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] ebm_core::Error),

    /// The config (file, `EBM_` environment, `--set`) or the command line could not be read or
    /// parsed (figment's message names the key and the source).
    #[error("{0}")]
    Config(String),

    #[error(transparent)]
    Tensor(#[from] candle_core::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },

    /// Something ebm wrote itself (the resolved config, a rank's state, a report) could not be
    /// serialized: a bug, not the user's input.
    #[error("cannot serialize {what}: {message}")]
    Serialize { what: &'static str, message: String },

    /// Bytes one rank sent another (a rank's state, the eval report) did not decode.
    #[error("{what} from rank {rank} is malformed: {message}")]
    Wire {
        what: &'static str,
        rank: usize,
        message: String,
    },

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

    /// The run's [`crate::RunHooks`] (progress figures, end-of-run evaluation) failed with an
    /// error of their own crate; `user_input` is that error's own verdict.
    #[error("{source}")]
    Hooks {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        user_input: bool,
    },
}

impl Error {
    /// True for mistakes in what the user wrote or gave (config, command line, data files, run
    /// folders): the launcher exits with 2 for these, 1 for failures while running.
    pub fn is_user_input(&self) -> bool {
        match self {
            Error::Config(_) | Error::RunDir { .. } => true,
            Error::Core(e) => e.is_config(),
            Error::Data(e) => e.is_user_input(),
            Error::Rank { source, .. } => source.is_user_input(),
            Error::Hooks { user_input, .. } => *user_input,
            _ => false,
        }
    }

    /// The older name of [`Error::is_user_input`].
    pub fn is_config(&self) -> bool {
        self.is_user_input()
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

    /// A [`Error::Serialize`] for `what` (for `map_err`).
    pub fn serialize<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Error {
        move |e| Error::Serialize {
            what,
            message: e.to_string(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_user_gave_is_user_input() {
        let missing = ebm_data::Error::MissingData {
            what: "Fashion-MNIST".into(),
            path: "/nowhere".into(),
            help: "install it".into(),
        };
        let bad_state = ebm_data::Error::InvalidState {
            reason: "wrong length".into(),
        };
        let bad_value = ebm_data::Error::InvalidParam {
            key: "data.noise".into(),
            reason: "must be >= 0".into(),
        };
        assert!(Error::from(missing).is_user_input());
        // A saved batcher state that does not fit comes from the run folder the user gave.
        assert!(Error::from(bad_state).is_user_input());
        // A bad `[data]` value is a config error with its key, like any other key.
        let e = Error::from(bad_value);
        assert!(matches!(e, Error::Core(_)) && e.is_user_input(), "{e}");
        assert!(Error::Config("--set `x`: expected key=value".into()).is_user_input());
        let internal = [
            Error::Serialize {
                what: "the resolved config",
                message: "unsupported".into(),
            },
            Error::Wire {
                what: "the run's report",
                rank: 0,
                message: "invalid utf-8".into(),
            },
        ];
        for e in internal {
            assert!(!e.is_user_input(), "{e}");
        }
        let hooks = |user_input| Error::Hooks {
            source: "plot failed".into(),
            user_input,
        };
        assert!(hooks(true).is_user_input() && !hooks(false).is_user_input());
        let on_rank = Error::Rank {
            rank: 1,
            source: Box::new(Error::RunDir {
                path: "run".into(),
                message: "taken".into(),
            }),
        };
        assert!(on_rank.is_user_input() && on_rank.is_config());
    }
}
