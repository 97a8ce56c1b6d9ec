//! The crate's error type: drawing failures, file-system failures, and inputs
//! that cannot describe a picture.

/// Everything that can go wrong while producing a PNG.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Plotters failed to draw; the message starts with the output path.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// Creating the directory, writing or renaming the file failed; the message
    /// names the path involved.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The arguments do not describe a drawable picture (bad bounds, wrong
    /// energy length, an output path without a file name, ...).
    #[error("invalid input: {what}")]
    InvalidInput { what: String },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Error::InvalidInput { what: what.into() }
    }
}
