//! Test support: a fake Kubernetes API, a mock report endpoint, object fixtures, the
//! reporter as a hermetic command, the collector in-process, a real PostgreSQL server, and
//! headless Chromium over the DevTools protocol.
//! `examples/demo.rs` reuses the fake API and fixtures.

#![allow(dead_code)]

pub mod chromium;
pub mod collector;
// Integration tests only (`cfg(test)`): it needs the binary path Cargo gives them.
#[cfg(test)]
pub mod command;
pub mod endpoint;
pub mod fake_kube;
pub mod fixtures;
pub mod postgres;
pub mod server;
