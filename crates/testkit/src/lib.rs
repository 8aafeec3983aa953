//! Test support: the reporter's integration tests (`tests/`), its demo (`examples/demo.rs`)
//! and its benchmarks (`benches/`), and the collector's tests and load benchmark, use the
//! same pieces.
//! - [`server`]: one loopback HTTP(S) server on a thread of its own, with any body type
//!   (whole bodies for the tests, streamed lists for the scale benchmark).
//! - [`fake_kube`]: the fake Kubernetes API the tests and the demo run the reporter against.
//! - [`fixtures`]: objects shaped after each release's CRDs.
//! - [`generate`]: realistic objects generated from (seed, index), with their ground truth,
//!   for the benchmarks.
//! - [`postgres`]: a real PostgreSQL server on a free port, for the collector.
//! - [`random`]: random numbers of a fixed seed, for generated test cases.

pub mod fake_kube;
pub mod fixtures;
pub mod generate;
pub mod postgres;
pub mod random;
pub mod server;
