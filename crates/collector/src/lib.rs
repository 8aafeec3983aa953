//! The collector, `axon-telemetry-collector`: receives reports over HTTP, validates them
//! against schema v1 or v2 (`axon_telemetry_report`), stores one per installation per UTC
//! day, and serves a summary and a dashboard to whoever holds the read token. It shares only
//! the report contract with the reporter, and links no Kubernetes client.
//!
//! Private by construction, like the reporter: only the validated report, re-serialized from
//! its types, is stored (never the body, an address or a header), and logs name routes and
//! outcomes, never paths, addresses or field values.

#![forbid(unsafe_code)]

pub mod cli;
mod connections;
pub mod dashboard;
pub mod exit;
mod http;
mod metrics;
mod ratelimit;
pub mod store;
mod summary;

/// The report contract, shared with the reporter.
pub use axon_telemetry_report as report;
use axon_telemetry_report::{error_chain, validate};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use self::connections::{PerClient, WriteDeadline};
pub use self::http::MAX_BODY_BYTES;
use self::metrics::Metrics;
use self::ratelimit::RateLimiter;
use self::store::{Database, Location};

/// After SIGTERM, time allowed for requests in flight; inside Kubernetes' default grace
/// period of 30 s.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Connections served at once; more wait in the kernel's backlog. Each is a small task,
/// so this bounds memory, not throughput. One client address may hold at most
/// `--connections-per-client` of them.
const MAX_CONNECTIONS: usize = 1024;

/// How often reports older than `--retention-days` are deleted, after once at start.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The collector's clock: the system's, or a test's.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Timestamp::now)
}

/// Everything `serve` needs, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database: Location,
    /// Needed to read `/v1/summary` and `/`; reads are refused when unset.
    pub read_token: Option<String>,
    /// Reports of the last this many UTC days (today included) are kept.
    pub retention_days: u32,
    /// Requests per minute per client address; 0 turns the limit off.
    pub rate_limit: u32,
    /// Connections one client address may hold at once; 0 turns the limit off.
    pub connections_per_client: usize,
    /// Time a client has to send a request's headers, then its body, and to take a response.
    pub request_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the store")]
    Store(#[source] store::Error),
    #[error("cannot watch for SIGTERM")]
    Signal(#[source] std::io::Error),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// The UTC day a moment falls on: reports are counted per UTC day of arrival.
pub fn utc_day(at: Timestamp) -> Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// A started collector.
pub struct Running {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish (up to [`DRAIN_TIMEOUT`]) and returns
    /// once they have.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Opens the store (applying migrations), binds and starts serving.
pub async fn start(settings: &Settings, clock: Clock) -> Result<Running, Error> {
    let db = Database::open(&settings.database)
        .await
        .map_err(Error::Store)?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: settings.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: settings.listen,
        source,
    })?;
    let state = Arc::new(http::State {
        db,
        metrics: Arc::new(Metrics::default()),
        limiter: RateLimiter::new(settings.rate_limit),
        read_token: settings.read_token.clone(),
        request_timeout: settings.request_timeout,
        clock,
    });
    // Before the first request, so that nothing past the retention is ever served.
    prune(&state, settings.retention_days).await;
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, state, settings.clone(), stopped));
    Ok(Running {
        local_addr,
        stop,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<http::State>,
    settings: Settings,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let clients = PerClient::new(settings.connections_per_client);
    let mut retention = tokio::time::interval_at(
        tokio::time::Instant::now() + RETENTION_INTERVAL,
        RETENTION_INTERVAL,
    );
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => break,
            _ = retention.tick() => {
                prune(&state, settings.retention_days).await;
                continue;
            }
            permit = Arc::clone(&permits).acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let (stream, peer) = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: the next accept may succeed.
                    warn!("accepting a connection failed: {e}");
                    continue;
                }
            },
        };
        let client = peer.ip();
        let Some(slot) = clients.enter(client) else {
            // Closed unread: whatever it sent, this client already holds its share.
            state.metrics.connection_refused();
            continue;
        };
        let socket =
            WriteDeadline::new(stream, settings.request_timeout, Arc::clone(&state.metrics));
        let state = Arc::clone(&state);
        let service = service_fn(move |request| http::handle(Arc::clone(&state), client, request));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.request_timeout)
            .serve_connection(TokioIo::new(socket), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request, or takes no response, is its own
            // problem, not the collector's.
            let _ = connection.await;
            drop((slot, permit));
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("requests still in flight after {DRAIN_TIMEOUT:?} were cut off");
    }
}

/// Deletes what is older than the retention window.
async fn prune(state: &http::State, retention_days: u32) {
    let today = utc_day((state.clock)());
    let keep_from = today
        .checked_sub(jiff::Span::new().days(i64::from(retention_days.saturating_sub(1))))
        .unwrap_or(today);
    match state.db.delete_before(keep_from).await {
        Ok(0) => {}
        Ok(n) => {
            info!("deleted {n} reports from before {keep_from} (--retention-days {retention_days})")
        }
        Err(e) => warn!("deleting old reports failed: {}", error_chain(&e)),
    }
}

/// Runs until SIGTERM or Ctrl-C, then drains and returns.
pub fn serve(settings: &Settings) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(Error::Signal)?;
        let running = start(settings, system_clock()).await?;
        let reads = if settings.read_token.is_some() {
            "reads need the read token"
        } else {
            "reads are disabled (no --read-token)"
        };
        info!(
            "axon-telemetry-collector {} collecting reports on http://{}/v1/report into {}; {reads}",
            env!("CARGO_PKG_VERSION"),
            running.local_addr(),
            settings.database
        );
        let signal = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        };
        info!("{signal}: not accepting new connections; finishing requests in flight");
        running.stop().await;
        info!("stopped");
        Ok(())
    })
}
