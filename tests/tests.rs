//! Integration tests of the reporter: the built `axon-telemetry` binary against a fake
//! Kubernetes API server and a mock report endpoint, both real HTTP on loopback. The
//! collector's own tests are in `crates/collector/tests`.

mod support;

// Command line: help, usage errors, opt-out.
mod cli;

// Collecting: aggregation, vocabulary, usage sums, pagination, empty clusters.
mod collect;

// Kubernetes faults: missing CRDs, RBAC, expiry, throttling, outages, deadlines.
mod faults;

// The installation ID: create, read, races, RBAC.
mod identity;

// Sending: headers, retries, timeouts, TLS, proxies, exit codes.
mod send;

// Dry run: the exact report on stdout, no writes, no sends.
mod dry_run;

// Privacy canaries in every free-text field, at every log level and format.
mod privacy;

// The committed JSON Schemas against real output, and the contract's validation.
mod schema;

// The report reaching a real collector: validated, stored and summarised.
mod end_to_end;

// The Helm chart with pinned Helm 4 and 3: lint, render matrix, schema, docs, install.yaml.
mod chart;

// Release: versions and pins agree across Cargo.toml, the chart and the release workflow.
mod release;
