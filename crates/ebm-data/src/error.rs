//! The crate's error type. Every parameter error names the offending key (e.g. `data.noise`) so a
//! user can find the line in their run's TOML without reading our source.

/// Everything that can go wrong in ebm-data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value or argument is out of range.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidParam { key: String, reason: String },
    /// A saved batcher state does not fit the batcher it is restored into.
    #[error("invalid batcher state: {reason}")]
    InvalidState { reason: String },
    /// A tensor operation failed (device allocation, shape).
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidParam`].
    pub(crate) fn param(key: &str, reason: impl Into<String>) -> Self {
        Error::InvalidParam {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}
