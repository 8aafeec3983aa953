//! Test support: a fake Kubernetes API, a mock report endpoint, object fixtures and the
//! reporter as a hermetic command.
//! `examples/demo.rs` reuses the fake API and fixtures.

#![allow(dead_code)]

// Integration tests only (`cfg(test)`): it needs the binary path Cargo gives them.
#[cfg(test)]
pub mod command;
pub mod endpoint;
pub mod fake_kube;
pub mod fixtures;
pub mod server;
