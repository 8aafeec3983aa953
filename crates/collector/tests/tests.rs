//! Integration tests of the collector: its HTTP API, its dashboard in a real browser, and
//! the binary as a process. The reporter's report reaching a collector is tested with the
//! reporter (`tests/end_to_end.rs` at the top of the repository).

mod support;

// The HTTP API on SQLite and on a real PostgreSQL server; PostgreSQL's connection faults.
mod api;

// Clients that hold connections and never read: per-address limits, the write deadline.
mod connections;

// The dashboard in headless Chromium: figures, a screenshot, no outside requests.
mod dashboard;

// `axon-telemetry-collector` as a process: flags, start-up failures, logs, SIGTERM.
mod serve;
