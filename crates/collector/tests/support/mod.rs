//! Test support: the collector in-process, a real PostgreSQL server (from the workspace's
//! test kit, shared with the load benchmark), headless Chromium over
//! the DevTools protocol, and the collector binary as a hermetic command.

pub mod chromium;
pub mod collector;
pub mod command;
pub use axon_telemetry_testkit::postgres;
