//! The one error type of ebm-dist. Every variant says which operation failed and why, so a
//! launcher can print it next to the failing rank.

use std::time::Duration;

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation (flattening, reshaping, moving between devices) failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),

    /// A collective carries f32 only; tensor `index` of the list has another dtype.
    #[error("tensor {index} has dtype {dtype:?}; collectives carry f32 tensors only")]
    Dtype {
        index: usize,
        dtype: candle_core::DType,
    },

    /// A rank of the group is gone (dropped, panicked, or its lock was poisoned), so the
    /// collective can never complete.
    #[error("rank {rank}: process group is broken: {reason}")]
    GroupBroken { rank: usize, reason: String },

    /// The ranks disagree about the collective they are in: different operations, lengths or roots.
    #[error("rank {rank}: ranks disagree on the collective: {message}")]
    Mismatch { rank: usize, message: String },

    /// An argument is out of range (root ≥ world size, world size 0, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Waited too long for peers, a store key, or a store server.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout { what: String, after: Duration },

    /// A socket operation of the rendezvous store failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Bytes on a store connection do not follow the protocol (bad magic, truncated, too large).
    #[error("store protocol error: {0}")]
    Protocol(String),

    /// The store server refused the request (wrong token, bad counter value, ...).
    #[error("store server rejected the request: {0}")]
    Rejected(String),

    /// An NCCL or CUDA driver call failed.
    #[cfg(feature = "nccl-core")]
    #[error("nccl: {0}")]
    Nccl(String),
}

impl Error {
    /// An I/O error with what was being done when it happened.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
