//! Logs on stderr, as plain lines for `kubectl logs` or as JSON for log pipelines, the same
//! for the reporter and the collector; and errors on one line.
//!
//! Dependencies log at `warn` and above only: their debug output describes requests, and
//! the reporter's own lines already say what it asks and why. kube's request tracing is
//! off entirely: it logs every failed request at `error` inside a span carrying the URL,
//! and a list URL's continue token encodes the name of an object. The reporter logs each
//! failure itself, with context and without URLs.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::cli::{LogFormat, LogLevel};

/// The crates whose own lines are shown at the chosen level: the reporter, the collector
/// and this one.
const OWN_TARGETS: [&str; 3] = [
    "axon_telemetry",
    "axon_telemetry_collector",
    "axon_telemetry_report",
];

pub fn init(format: LogFormat, level: LogLevel) {
    let level = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let filter = Targets::new()
        .with_targets(OWN_TARGETS.map(|target| (target, level)))
        .with_target("kube_client", LevelFilter::OFF)
        .with_default(level.min(LevelFilter::WARN));
    let registry = tracing_subscriber::registry().with(filter);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        // Kubernetes timestamps every line already (`kubectl logs --timestamps`).
        LogFormat::Text => registry
            .with(layer.without_time().with_target(false))
            .init(),
        LogFormat::Json => registry
            .with(
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false),
            )
            .init(),
    }
}

/// An error and its causes on one line, skipping a cause its parent already quotes.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chains_skip_causes_their_parent_already_quotes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: inner detail")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("inner detail")]
        struct Inner(#[source] std::io::Error);
        let error = Outer(Inner(std::io::Error::other("root cause")));
        assert_eq!(error_chain(&error), "outer: inner detail: root cause");
    }
}
