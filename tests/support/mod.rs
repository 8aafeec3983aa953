//! Test support: the fake Kubernetes API, object fixtures and the loopback server come from
//! `axon-telemetry-testkit` (shared with the demo and the benchmarks); the mock report
//! endpoint and the reporter as a hermetic command are the integration tests' own.

pub mod command;
pub mod endpoint;
pub use axon_telemetry_testkit::{fake_kube, fixtures};
