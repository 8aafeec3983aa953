//! axon-telemetry: anonymous, opt-out usage telemetry for the Axon Kubernetes operator and
//! Kelos, the name it has had since v0.13.0.
//!
//! One run asks discovery which of the operator's API groups the cluster serves ([`api`]),
//! lists their objects cluster-wide, reduces them to counts, keeps a random installation ID
//! in a ConfigMap, POSTs one JSON [`report::Report`] and exits.
//!
//! What is sent: task counts by agent type and by phase, TaskSpawners by source, Sessions
//! by type and phase, WorkerPools by phase with their replicas, counts of the other kinds,
//! the source types in use, the API versions read, the number of distinct namespaces,
//! summed cost and tokens, the operator, Kubernetes and reporter versions, the installation
//! ID and a timestamp (TELEMETRY.md documents every field).
//!
//! What never is: names, namespaces, labels, annotations, prompts, branches, models,
//! images, URLs, secrets, messages or any other free text. This holds by construction:
//! objects are decoded into vocabulary enums, hashes and numbers as they are read
//! (`objects`), and the report's types (`report`) cannot hold anything else.
//!
//! The receiving side is the collector, a crate and binary of its own
//! (`crates/collector`) that this one does not link: it parses reports back into the same
//! types ([`report`]), so it cannot store what they cannot hold.

#![forbid(unsafe_code)]

// Public: what `main.rs` and the benchmarks use; the rest is the reporter's own.
mod backoff;
pub mod cli;
mod cluster;
mod collect;
pub mod exit;
mod identity;
mod json;
pub mod objects;
mod send;

/// The report contract, shared with the collector.
pub use axon_telemetry_report as report;
pub use axon_telemetry_report::{api, error_chain};

/// This reporter's own version (Cargo's, as `--version` prints it and as the image is
/// tagged).
pub const REPORTER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The same, as the report writes it: a release tag like the other versions in it.
const REPORTER_TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));

use std::io::Write;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::{info, warn};

pub use crate::identity::CONFIG_MAP_NAME;

use crate::cli::Config;
use crate::cluster::Cluster;
use crate::report::{Report, release_version};
use crate::send::Sender;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach Kubernetes")]
    Connect(#[source] cluster::Error),
    #[error("cannot prepare to send the report")]
    SendSetup(#[source] send::SetupError),
    #[error("could not discover which API groups the cluster serves")]
    Discovery(#[source] cluster::Error),
    #[error("could not get the installation ID")]
    Identity(#[source] Box<identity::Error>),
    #[error("could not collect the report")]
    Collect(#[source] Box<collect::Error>),
    #[error(
        "the run's deadline of {0:?} passed before the report was collected: \
         raise --deadline, or look for a slow or unreachable API server"
    )]
    Deadline(Duration),
    #[error(
        "the run's deadline of {0:?} passed while setting up the Kubernetes client: \
         look for a credential plugin (exec) in the kubeconfig that does not answer"
    )]
    ConnectDeadline(Duration),
    #[error("could not print the report on stdout")]
    Stdout(#[source] std::io::Error),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a run ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The report could not be delivered; a warning says why.
    NotSent,
    DryRun,
    Disabled,
}

/// Runs one report on a current-thread runtime: requests go one at a time, and decoding
/// list pages, the CPU-heavy part, is cheapest on that same thread (`collect::list`).
pub fn run(config: &Config) -> Result<Outcome> {
    if let Some(reason) = config.disabled_by {
        info!("telemetry is disabled because {reason}: nothing is collected or sent");
        return Ok(Outcome::Disabled);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let outcome = runtime.block_on(collect_and_send(config));
    // Not waiting for a credential plugin that outlived the deadline (cluster::connect).
    runtime.shutdown_background();
    outcome
}

async fn collect_and_send(config: &Config) -> Result<Outcome> {
    info!(
        "axon-telemetry {} sends anonymous usage counts of Axon (Kelos) objects, nothing else \
         (TELEMETRY.md lists every field). To opt out: helm upgrade <release> <chart> --reuse-values \
         --set telemetry.enabled=false, or kubectl delete cronjob axon-telemetry -n {}",
        REPORTER_VERSION, config.namespace
    );
    // First, so that a bad kubeconfig exits at once, not after the random delay; within
    // the deadline, as an exec credential plugin runs here.
    let kube = timeout(config.deadline, Cluster::connect())
        .await
        .map_err(|_| Error::ConnectDeadline(config.deadline))?
        .map_err(Error::Connect)?;
    let endpoint = send::redacted(&config.endpoint);
    let sender = if config.dry_run {
        None
    } else {
        if send::is_plain_http_off_host(&config.endpoint) {
            warn!(
                "{endpoint} is plain http: the report crosses the network unencrypted (fine for a collector inside this cluster, otherwise use https)"
            );
        }
        let sender = Sender::new(
            config.endpoint.clone(),
            config.send_timeout,
            config.ca_file.as_deref(),
        )
        .map_err(Error::SendSetup)?;
        // Only a report that will be sent waits; a dry run is someone looking now.
        let delay = spread_delay(config.max_delay, backoff::jitter());
        if !delay.is_zero() {
            info!(
                "waiting {:#} before reporting: a random delay up to --max-delay {:#}, so that clusters do not all report at once",
                jiff::SignedDuration::try_from(delay).unwrap_or_default(),
                jiff::SignedDuration::try_from(config.max_delay).unwrap_or_default()
            );
            tokio::time::sleep(delay).await;
        }
        Some(sender)
    };
    // Every request, exec credential plugins included, runs within the deadline.
    let deadline = Instant::now() + config.deadline;
    let report = timeout_at(deadline, build(&kube, config))
        .await
        .map_err(|_| Error::Deadline(config.deadline))??;

    let Some(sender) = sender else {
        let pretty = serde_json::to_string_pretty(&report).expect("a report always serializes");
        writeln!(std::io::stdout().lock(), "{pretty}").map_err(Error::Stdout)?;
        info!(
            "dry run: the report is on stdout; nothing was sent and nothing was written to the cluster"
        );
        return Ok(Outcome::DryRun);
    };
    let body = serde_json::to_string(&report).expect("a report always serializes");
    info!(report = %body, "sending the report to {endpoint}");
    match timeout_at(deadline, sender.send(&body)).await {
        Ok(Ok(delivered)) => {
            info!("{endpoint} accepted the report (HTTP {})", delivered.status);
            Ok(Outcome::Sent)
        }
        Ok(Err(e)) => {
            warn!("the report was not sent: {}", error_chain(&e));
            Ok(Outcome::NotSent)
        }
        Err(_) => {
            warn!(
                "the report was not sent: the run's deadline of {:?} passed while sending",
                config.deadline
            );
            Ok(Outcome::NotSent)
        }
    }
}

/// A point in `[0, max)`, in whole seconds when `max` is a minute or more (a readable log
/// line; finer spreading buys nothing at that scale).
fn spread_delay(max: Duration, unit: f64) -> Duration {
    let delay = max.mul_f64(unit.clamp(0.0, 1.0));
    if max >= Duration::from_secs(60) {
        Duration::from_secs(delay.as_secs())
    } else {
        delay
    }
}

/// Reads the installation ID, collects the aggregates and reads the versions.
async fn build(kube: &Cluster, config: &Config) -> Result<Report> {
    let version = config
        .axon_version
        .clone()
        .unwrap_or_else(|| report::UNKNOWN_VERSION.to_owned());
    let store = identity::ClusterStore {
        kube,
        namespace: &config.namespace,
    };
    let id = identity::get_or_create(&store, &config.namespace, config.dry_run)
        .await
        .map_err(|e| Error::Identity(Box::new(e)))?;
    let apis = served_apis(kube).await?;
    let aggregates = collect::aggregate(kube, &apis, config.page_size)
        .await
        .map_err(|e| Error::Collect(Box::new(e)))?;
    // Last: when the API server is down, the steps above already failed with the reason.
    let k8s_version = match kube.server_version().await {
        Ok(raw) => release_version(&raw),
        Err(e) => {
            warn!("reporting k8sVersion \"unknown\": {}", error_chain(&e));
            report::UNKNOWN_VERSION.to_owned()
        }
    };
    let now = Timestamp::now();
    Ok(Report {
        schema_version: report::SCHEMA_VERSION,
        installation_id: id.uuid(),
        version,
        reporter_version: REPORTER_TAG.to_owned(),
        k8s_version,
        // Whole seconds: sub-second precision says nothing and helps fingerprinting.
        timestamp: Timestamp::from_second(now.as_second()).unwrap_or(now),
        api: Some(apis.iter().map(api::Api::id).collect()),
        tasks: aggregates.tasks,
        task_spawners: Some(aggregates.task_spawners),
        sessions: Some(aggregates.sessions),
        worker_pools: Some(aggregates.worker_pools),
        features: aggregates.features,
        scale: aggregates.scale,
        usage: aggregates.usage,
    })
}

/// The operator's API versions to read: for each group the cluster serves, its best
/// version ([`api::choose`]).
async fn served_apis(kube: &Cluster) -> Result<Vec<api::Api>> {
    let served = kube
        .served_group_versions()
        .await
        .map_err(Error::Discovery)?;
    let apis =
        api::choose(|group, version| served.iter().any(|gv| *gv == format!("{group}/{version}")));
    if apis.is_empty() {
        warn!(
            "the cluster serves neither axon.io nor kelos.dev: Axon (Kelos) is not installed, or its CRDs \
             are missing; reporting zero objects"
        );
    }
    for api in &apis {
        info!("reading the operator's objects from {}", api.id());
    }
    Ok(apis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_delays_stay_below_the_maximum() {
        let max = Duration::from_secs(1800);
        assert_eq!(spread_delay(max, 0.0), Duration::ZERO);
        assert_eq!(spread_delay(max, 0.5), Duration::from_secs(900));
        assert_eq!(spread_delay(max, 0.999_999), Duration::from_secs(1799));
        assert_eq!(
            spread_delay(Duration::from_millis(10), 0.5),
            Duration::from_millis(5)
        );
        assert_eq!(spread_delay(Duration::ZERO, 0.7), Duration::ZERO);
    }
}
