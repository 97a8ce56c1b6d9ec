//! The one error type of ebm-core. Config errors carry the key and where it came from so the
//! launcher can print "what is wrong and where" and exit with code 2.

/// Result alias used across the core.
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),

    /// A configuration value is wrong: unknown key, wrong type, out of range.
    #[error("config key `{key}`{}: {message}", origin_suffix(.origin))]
    Config {
        key: String,
        origin: String,
        message: String,
    },

    /// A `kind = "..."` names no registered plugin.
    #[error("config key `{section}.kind`{}: unknown {section} `{name}`; known: {}", origin_suffix(.origin), .known.join(", "))]
    UnknownPlugin {
        section: String,
        name: String,
        origin: String,
        known: Vec<String>,
    },

    /// Saved state (checkpoint, RNG state) does not fit what is being restored.
    #[error("cannot restore {what}: {message}")]
    State { what: String, message: String },

    /// A call that cannot be honoured with these arguments or in this state (a precondition of
    /// the API, not a config key): `what` is the operation, e.g. "compute diagnostics".
    #[error("cannot {what}: {message}")]
    InvalidArgument { what: String, message: String },

    /// Tensors or buffers whose shapes do not fit together: `what` names the value (an input an
    /// energy cannot take, or inside a fast path a broken invariant, which is a bug). Exit 1.
    #[error("wrong shape for {what}: {message}")]
    Shape { what: String, message: String },

    /// A numerical method gave up (step-size underflow, too many steps): `what` names it.
    #[error("{what} failed: {message}")]
    Numerical { what: String, message: String },

    /// Second-order autograd was needed but candle detaches gradients in this process.
    #[error(
        "{what} needs double backward, but candle detaches gradients in this process: call \
         ebm_core::ensure_double_backward() at start-up (before any backward) or set {}=1",
        crate::DOUBLE_BACKWARD_ENV
    )]
    DoubleBackwardInactive { what: String },

    /// A gradient-field network (`[model] output = "field"`) was asked for energy values.
    #[error(
        "{what} outputs a gradient field, not energy values (`[model] output = \"field\"`): \
         use a sampler that only follows ∇ₓE, not one whose Metropolis test or replica swaps \
         compare energies"
    )]
    NoEnergyValues { what: String },

    /// A plugin was driven outside what it supports (a step past the end of its run, a kernel
    /// without a diagnostic its driver needs, a path degenerate where it is used). Not the
    /// user's input, so not a config error.
    #[error("{plugin}: {message}")]
    Plugin { plugin: String, message: String },

    /// Free-form text, for users' plugins that have no better variant. The built-in crates use
    /// the typed variants above.
    #[error("{0}")]
    Msg(String),
}

fn origin_suffix(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!(" (from {origin})")
    }
}

impl Error {
    /// [`Error::InvalidArgument`]: `what` is the operation ("cannot {what}: {message}").
    pub fn invalid_argument(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            what: what.into(),
            message: message.into(),
        }
    }

    /// [`Error::Shape`]: `what` names the value whose shape is wrong.
    pub fn shape(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Shape {
            what: what.into(),
            message: message.into(),
        }
    }

    /// [`Error::Numerical`]: `what` names the method that gave up.
    pub fn numerical(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Numerical {
            what: what.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Plugin`] error of the plugin named `plugin`.
    pub fn plugin(plugin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Plugin {
            plugin: plugin.into(),
            message: message.into(),
        }
    }

    /// A configuration error for `key` with no known origin yet (the caller adds it).
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            origin: String::new(),
            message: message.into(),
        }
    }

    /// True for errors caused by what the user wrote (the launcher exits with code 2 for these).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. } | Error::UnknownPlugin { .. })
    }

    /// Fills in the origin (file or environment) of a config error that has none.
    pub fn with_origin(self, origin_of: impl Fn(&str) -> String) -> Self {
        match self {
            Error::Config {
                key,
                origin,
                message,
            } if origin.is_empty() => Error::Config {
                origin: origin_of(&key),
                key,
                message,
            },
            Error::UnknownPlugin {
                section,
                name,
                origin,
                known,
            } if origin.is_empty() => Error::UnknownPlugin {
                origin: origin_of(&format!("{section}.kind")),
                section,
                name,
                known,
            },
            other => other,
        }
    }
}
