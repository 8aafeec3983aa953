//! Command-line pieces both binaries share, so that they take and report them alike: the
//! log flags, durations, and clap's errors on one line.

use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct LogOpts {
    /// Log line format on stderr.
    #[arg(long, env = "AXON_TELEMETRY_LOG_FORMAT", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most detailed log level shown.
    #[arg(long, env = "AXON_TELEMETRY_LOG_LEVEL", value_name = "LEVEL", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One plain line per event, for `kubectl logs`.
    Text,
    /// One JSON object per event, for log pipelines.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// A duration such as `10s`, `1m30s`, `500ms` or ISO 8601 `PT10S`; more than zero.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let parsed: jiff::SignedDuration = value
        .parse()
        .map_err(|_| "expected a duration such as 10s, 1m30s or 500ms".to_owned())?;
    if !parsed.is_positive() {
        return Err("the duration must be more than zero, e.g. 10s".to_owned());
    }
    Duration::try_from(parsed).map_err(|e| e.to_string())
}

/// Clap's multi-line usage error as one line, for log collectors that split on newlines.
pub fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let kept: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    format!("{} (see --help)", kept.join(" "))
}
