//! Test support: a fake Kubernetes API, a mock report endpoint, object fixtures, the
//! reporter as a hermetic command, the collector in-process, and a real PostgreSQL server.
//! `examples/demo.rs` reuses the fake API and fixtures.

#![allow(dead_code)]

// Integration tests only (`cfg(test)`): it needs the binary path Cargo gives them.
pub mod collector;
#[cfg(test)]
pub mod command;
pub mod endpoint;
pub mod fake_kube;
pub mod fixtures;
pub mod postgres;
pub mod server;
