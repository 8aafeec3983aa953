//! Test support: the collector in-process, a real PostgreSQL server, headless Chromium over
//! the DevTools protocol, and the collector binary as a hermetic command.

pub mod chromium;
pub mod collector;
pub mod command;
pub mod postgres;
