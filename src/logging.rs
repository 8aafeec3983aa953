//! Logs on stderr, as plain lines for `kubectl logs` or as JSON for log pipelines.
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

pub fn init(format: LogFormat, level: LogLevel) {
    let level = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
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
