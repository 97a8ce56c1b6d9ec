//! The launcher's log output: human text (coloured only on a terminal, `NO_COLOR` respected) or
//! one JSON object per line for files, pipes and schedulers; `-q`/`-v` move the level.

use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// The format this process logs in, for the lines the launcher relays from its workers.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// `--log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, fields, the rank span of multi-rank runs).
    Json,
}

/// The logging flags, accepted before or after a subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub log_format: LogFormat,
    /// Less output: -q warnings and errors only, -qq errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    /// More output: -v debug, -vv trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl LogArgs {
    /// The level the flags ask for (without -q/-v, `RUST_LOG` when set).
    pub fn level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (0, 0) => "info",
            (0, 1) => "debug",
            (0, _) => "trace",
            (1, _) => "warn",
            _ => "error",
        }
    }
}

/// Colour only where a person reads it: stderr is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the process's subscriber; a second call (tests run the CLI repeatedly) keeps the
/// first.
pub fn init(args: &LogArgs) {
    let _ = FORMAT.set(args.log_format);
    // -q/-v say what this command wants; without them RUST_LOG, else info.
    let filter = match (args.quiet, args.verbose) {
        (0, 0) => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(args.level())),
        _ => tracing_subscriber::EnvFilter::new(args.level()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match args.log_format {
        LogFormat::Text => builder
            .with_ansi(use_colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// A worker's stderr line as the launcher prints it: text lines prefixed with the rank; in JSON
/// mode each line stays one JSON object, with `"rank"` added (lines that are not JSON, e.g. a
/// panic message, become `{"rank": r, "stream": "stderr", "message": line}`).
pub fn relay_line(rank: usize, line: &str) -> String {
    relay_line_as(FORMAT.get().copied().unwrap_or_default(), rank, line)
}

fn relay_line_as(format: LogFormat, rank: usize, line: &str) -> String {
    match format {
        LogFormat::Text => format!("[rank {rank}] {line}"),
        LogFormat::Json => {
            let mut object = match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(o)) => o,
                _ => {
                    let mut o = serde_json::Map::new();
                    o.insert("stream".into(), "stderr".into());
                    o.insert("message".into(), line.into());
                    o
                }
            };
            object.entry("rank").or_insert(rank.into());
            serde_json::Value::Object(object).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn relayed_lines_keep_their_format_and_name_the_rank() {
        assert_eq!(relay_line_as(LogFormat::Text, 2, "hi"), "[rank 2] hi");
        let parse = |s: String| serde_json::from_str::<serde_json::Value>(&s).unwrap();
        let j = parse(relay_line_as(
            LogFormat::Json,
            1,
            r#"{"level":"INFO","x":3}"#,
        ));
        assert_eq!((j["rank"].as_u64(), j["x"].as_u64()), (Some(1), Some(3)));
        let j = parse(relay_line_as(LogFormat::Json, 3, "thread panicked"));
        assert_eq!(j["rank"].as_u64(), Some(3));
        assert_eq!(j["message"].as_str(), Some("thread panicked"));
    }

    #[test]
    fn quiet_and_verbose_move_the_level() {
        let at = |quiet, verbose| {
            LogArgs {
                quiet,
                verbose,
                ..LogArgs::default()
            }
            .level()
        };
        assert_eq!(at(0, 0), "info");
        assert_eq!(at(0, 1), "debug");
        assert_eq!(at(0, 3), "trace");
        assert_eq!(at(1, 0), "warn");
        assert_eq!(at(2, 0), "error");
    }
}
