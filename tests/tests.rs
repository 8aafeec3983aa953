//! Integration tests: the built `axon-telemetry` binary against a fake Kubernetes API
//! server and a mock report endpoint, both real HTTP on loopback.

mod support;

// Command line: help, usage errors, opt-out.
mod cli;

// Collecting: aggregation, vocabulary, usage sums, pagination, empty clusters.
mod collect;

// Kubernetes faults: missing CRDs, RBAC, expiry, throttling, outages, deadlines.
mod faults;
