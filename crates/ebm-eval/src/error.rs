//! The error type of ebm-eval. What it shares with training (config, run folder, checkpoint,
//! tensors, plugins, data) stays an [`ebm_train::Error`]; what is evaluation's own has its own
//! variant. [`Error::is_user_input`] says which the user can fix (the launcher exits with 2).

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or running the trained model: ebm-train's error, with its own verdict.
    #[error(transparent)]
    Train(#[from] ebm_train::Error),

    #[error("plot: {0}")]
    Viz(#[from] ebm_viz::Error),

    /// An option of `ebm-launch sample` / `ebm-launch eval` (or the environment it reads) does
    /// not work for this run.
    #[error("{0}")]
    Usage(String),

    /// The feature classifier's file (given with `--classifier`, or the cached one) is not a
    /// classifier, or one for other images.
    #[error("classifier {path}: {message}")]
    ClassifierFile { path: PathBuf, message: String },

    /// The images a classifier is to be trained on have no labels.
    #[error("the {what} images have no labels to train a classifier on")]
    Unlabelled { what: &'static str },

    /// The samples file of `ebm-launch eval --samples` cannot be read, or does not hold finite
    /// float samples of the run's data shape.
    #[error("{path}: {message}")]
    SamplesFile { path: PathBuf, message: String },

    /// The run's samples or metrics are NaN or infinite: the run did not produce a usable model,
    /// whatever else it wrote (exit 1).
    #[error("{0}")]
    NonFinite(String),
}

impl Error {
    /// True for what the user wrote or gave (config, command line, data, run folder, classifier
    /// file): exit code 2.
    pub fn is_user_input(&self) -> bool {
        match self {
            Error::Train(e) => e.is_user_input(),
            Error::Usage(_)
            | Error::ClassifierFile { .. }
            | Error::Unlabelled { .. }
            | Error::SamplesFile { .. } => true,
            Error::Viz(_) | Error::NonFinite(_) => false,
        }
    }

    /// A `Usage` error for `map_err`-free construction.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Train(e.into())
    }
}

impl From<ebm_core::Error> for Error {
    fn from(e: ebm_core::Error) -> Self {
        Error::Train(e.into())
    }
}

impl From<ebm_data::Error> for Error {
    fn from(e: ebm_data::Error) -> Self {
        Error::Train(e.into())
    }
}

/// How an evaluation error crosses the seam into the training loop ([`ebm_train::RunHooks`]
/// return ebm-train's error): ebm-train's own errors come back out unchanged, the rest travel
/// boxed with their verdict.
impl From<Error> for ebm_train::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Train(e) => e,
            other => ebm_train::Error::Hooks {
                user_input: other.is_user_input(),
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_survives_the_seam_into_the_loop() {
        let usage = Error::usage("--n and --thin must be at least 1");
        assert!(usage.is_user_input());
        let crossed = ebm_train::Error::from(usage);
        assert!(matches!(crossed, ebm_train::Error::Hooks { .. }));
        assert!(crossed.is_user_input(), "{crossed}");
        assert!(crossed.to_string().contains("--thin"), "{crossed}");
        // ebm-train's own errors come back out as they went in.
        let run_dir = ebm_train::Error::RunDir {
            path: "run".into(),
            message: "has no checkpoint".into(),
        };
        let back = ebm_train::Error::from(Error::from(run_dir));
        assert!(matches!(back, ebm_train::Error::RunDir { .. }));
        let plot = Error::Viz(ebm_viz::Error::Drawing("backend".into()));
        assert!(!ebm_train::Error::from(plot).is_user_input());
    }
}
