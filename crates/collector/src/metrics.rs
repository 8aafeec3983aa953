//! `/metrics` in the Prometheus text format: a handful of counters and one histogram,
//! kept in atomics. Small enough that a metrics library would be most of the code it adds.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Why a report was turned away; each is one `reason` label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Invalid,
    UnsupportedSchemaVersion,
    UnsupportedMediaType,
    TooLarge,
    RateLimited,
    Timeout,
    Unavailable,
}

impl Reason {
    const ALL: [Reason; 7] = [
        Reason::Invalid,
        Reason::UnsupportedSchemaVersion,
        Reason::UnsupportedMediaType,
        Reason::TooLarge,
        Reason::RateLimited,
        Reason::Timeout,
        Reason::Unavailable,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Reason::Invalid => "invalid",
            Reason::UnsupportedSchemaVersion => "unsupported_schema_version",
            Reason::UnsupportedMediaType => "unsupported_media_type",
            Reason::TooLarge => "too_large",
            Reason::RateLimited => "rate_limited",
            Reason::Timeout => "timeout",
            Reason::Unavailable => "unavailable",
        }
    }
}

/// Upper bounds, in seconds, of the `POST /v1/report` latency buckets: a stored report
/// takes about a millisecond on SQLite, the tail is a busy database.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: [AtomicU64; Reason::ALL.len()],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    connections_refused: AtomicU64,
    write_timeouts: AtomicU64,
}

impl Metrics {
    /// A stored report; `duplicate` when it replaced one from the same installation and day.
    pub fn accepted(&self, duplicate: bool) {
        self.accepted.fetch_add(1, Relaxed);
        if duplicate {
            self.duplicates.fetch_add(1, Relaxed);
        }
    }

    pub fn rejected(&self, reason: Reason) {
        let i = Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.rejected[i].fetch_add(1, Relaxed);
    }

    /// The time one `POST /v1/report` took, whatever its answer.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros
            .fetch_add(elapsed.as_micros().min(u64::MAX.into()) as u64, Relaxed);
    }

    /// A connection closed at once: its client address held its maximum of connections.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Relaxed);
    }

    /// A connection closed because its client took none of a response for too long.
    pub fn write_timed_out(&self) {
        self.write_timeouts.fetch_add(1, Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        };
        // A counter without labels: its help, type and one sample.
        let single = |out: &mut String, name: &str, help: &str, n: &AtomicU64| {
            counter(out, name, help);
            let _ = writeln!(out, "{name} {}", n.load(Relaxed));
        };
        single(
            &mut out,
            "axon_telemetry_reports_accepted_total",
            "Reports stored, including those that replaced the same installation's report of the day.",
            &self.accepted,
        );
        single(
            &mut out,
            "axon_telemetry_reports_duplicate_total",
            "Accepted reports that replaced the same installation's earlier report of the day.",
            &self.duplicates,
        );
        counter(
            &mut out,
            "axon_telemetry_reports_rejected_total",
            "Reports turned away, by reason.",
        );
        for (reason, n) in Reason::ALL.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "axon_telemetry_reports_rejected_total{{reason=\"{}\"}} {}",
                reason.label(),
                n.load(Relaxed)
            );
        }
        let name = "axon_telemetry_report_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to answer POST /v1/report, whatever the answer.\n# TYPE {name} histogram"
        );
        for (bound, n) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", n.load(Relaxed));
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.latency_sum_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        single(
            &mut out,
            "axon_telemetry_connections_refused_total",
            "Connections closed at once because their client address held its maximum of connections.",
            &self.connections_refused,
        );
        single(
            &mut out,
            "axon_telemetry_write_timeouts_total",
            "Connections closed because their client took none of a response for the request timeout.",
            &self.write_timeouts,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_lists_every_series() {
        let metrics = Metrics::default();
        metrics.accepted(false);
        metrics.accepted(true);
        metrics.rejected(Reason::TooLarge);
        metrics.observe(Duration::from_millis(3));
        metrics.observe(Duration::from_millis(40));
        metrics.connection_refused();
        let text = metrics.render();
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "axon_telemetry_reports_accepted_total 2",
                "axon_telemetry_reports_duplicate_total 1",
                "axon_telemetry_reports_rejected_total{reason=\"invalid\"} 0",
                "axon_telemetry_reports_rejected_total{reason=\"unsupported_schema_version\"} 0",
                "axon_telemetry_reports_rejected_total{reason=\"unsupported_media_type\"} 0",
                "axon_telemetry_reports_rejected_total{reason=\"too_large\"} 1",
                "axon_telemetry_reports_rejected_total{reason=\"rate_limited\"} 0",
                "axon_telemetry_reports_rejected_total{reason=\"timeout\"} 0",
                "axon_telemetry_reports_rejected_total{reason=\"unavailable\"} 0",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.001\"} 0",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.0025\"} 0",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.005\"} 1",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.01\"} 1",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.025\"} 1",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.05\"} 2",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.1\"} 2",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"0.25\"} 2",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"1\"} 2",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"5\"} 2",
                "axon_telemetry_report_request_duration_seconds_bucket{le=\"+Inf\"} 2",
                "axon_telemetry_report_request_duration_seconds_sum 0.043",
                "axon_telemetry_report_request_duration_seconds_count 2",
                "axon_telemetry_connections_refused_total 1",
                "axon_telemetry_write_timeouts_total 0",
            ]
        );
    }
}
