//! The crate's error type. Every parameter error names the offending key (e.g. `data.noise`) so a
//! user can find the line in their run's TOML without reading our source; every data-file error
//! names the file and the byte offset of the problem, so a bad download can be found with `xxd`.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in ebm-data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value or argument is out of range.
    #[error("invalid value for `{key}`: {reason}")]
    InvalidParam { key: String, reason: String },
    /// A saved batcher state does not fit the batcher it is restored into.
    #[error("invalid batcher state: {reason}")]
    InvalidState { reason: String },
    /// The data directory or one of its files does not exist; `help` says what to put where.
    #[error("{what} not found at {}: {help}", path.display())]
    MissingData {
        what: String,
        path: PathBuf,
        help: String,
    },
    /// A data file exists but is not what it should be. For a gzipped file, `offset` counts bytes
    /// of the decompressed content (the IDX layout), not of the `.gz` file.
    #[error("{}: {kind} at byte {}: {detail}", path.display(), thousands(*offset))]
    BadFile {
        path: PathBuf,
        offset: u64,
        kind: FileErrorKind,
        detail: String,
    },
    /// Reading a data file failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A tensor operation failed (device allocation, shape).
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

/// What is wrong with a data file, for callers (and tests) that match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileErrorKind {
    /// The file ends before the header or the payload it declares.
    Truncated,
    /// The file goes on after the payload its header declares.
    TrailingBytes,
    /// The file does not start like this format at all (a PNG, a text file, ...).
    Foreign,
    /// The right format but the wrong content: an IDX element type other than unsigned bytes, or
    /// a label file where images were expected.
    WrongType,
    /// Dimensions that are zero, overflow, or differ from the dataset's (28×28).
    BadDims,
    /// A class label outside the dataset's classes.
    BadLabel,
    /// Images and labels disagree on the number of samples.
    CountMismatch,
    /// The gzip stream is damaged (bad deflate data or checksum).
    Corrupt,
}

impl fmt::Display for FileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileErrorKind::Truncated => "truncated",
            FileErrorKind::TrailingBytes => "trailing bytes",
            FileErrorKind::Foreign => "not the expected format",
            FileErrorKind::WrongType => "wrong content type",
            FileErrorKind::BadDims => "bad dimensions",
            FileErrorKind::BadLabel => "bad label",
            FileErrorKind::CountMismatch => "count mismatch",
            FileErrorKind::Corrupt => "corrupt gzip stream",
        })
    }
}

/// `47040000` as `47,040,000`: file sizes are easier to compare that way.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // A comma before every digit whose distance from the end is a multiple of three.
    let lead = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == lead {
            out.push(',');
        }
        out.push(c);
    }
    out
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

    /// Shorthand for [`Error::BadFile`].
    pub(crate) fn file(
        path: &std::path::Path,
        offset: u64,
        kind: FileErrorKind,
        detail: impl Into<String>,
    ) -> Self {
        Error::BadFile {
            path: path.to_path_buf(),
            offset,
            kind,
            detail: detail.into(),
        }
    }

    /// True for errors in what the user gave: a parameter, the data folder or a data file, a
    /// saved batcher state. False only for a failed tensor operation, which is ours. (A launcher
    /// exits with 2 for the first kind, 1 for the second.)
    pub fn is_user_input(&self) -> bool {
        !matches!(self, Error::Tensor(_))
    }

    /// The file-error kind, if this is a [`Error::BadFile`].
    pub fn file_kind(&self) -> Option<FileErrorKind> {
        match self {
            Error::BadFile { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_tensor_failures_are_not_user_input() {
        use super::Error;
        assert!(Error::param("data.noise", "must be >= 0").is_user_input());
        let bad = Error::file(
            std::path::Path::new("x.idx"),
            16,
            super::FileErrorKind::Truncated,
            "ends early",
        );
        assert!(bad.is_user_input());
        let tensor = Error::Tensor(candle_core::Error::Msg("oom".into()));
        assert!(!tensor.is_user_input());
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(7_840_016), "7,840,016");
        assert_eq!(super::thousands(47_040_000), "47,040,000");
    }
}
