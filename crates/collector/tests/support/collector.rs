//! The collector started in the test process on loopback, over SQLite in a temp dir or a
//! fresh database on the shared PostgreSQL server, with a clock the test sets. Requests go
//! over real HTTP with reqwest; raw-socket cases write their own bytes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon_telemetry_collector::store::Location;
use axon_telemetry_collector::{self as collector, Clock, Running, Settings};
use jiff::Timestamp;
use serde_json::{Value, json};
use tempfile::TempDir;

use axon_telemetry_testkit::postgres;

/// The read token every test collector is started with.
pub const TOKEN: &str = "test-read-token";

/// Where the tests' clock starts: a Saturday noon, UTC.
pub const NOW: &str = "2026-11-28T12:00:00Z";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<Timestamp>>);

impl TestClock {
    pub fn at(when: &str) -> TestClock {
        TestClock(Arc::new(Mutex::new(when.parse().expect("a timestamp"))))
    }

    pub fn set(&self, when: &str) {
        *self.0.lock().unwrap() = when.parse().expect("a timestamp");
    }

    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Arc::new(move || *now.lock().unwrap())
    }
}

pub struct Collector {
    running: Option<Running>,
    pub settings: Settings,
    pub clock: TestClock,
    dir: TempDir,
    client: reqwest::Client,
    backend: Backend,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Collector {
    pub async fn start(backend: Backend) -> Collector {
        Collector::start_with(backend, |_| {}).await
    }

    /// Starts with the tests' defaults (read token, no rate limit), edited by `edit`.
    pub async fn start_with(backend: Backend, edit: impl FnOnce(&mut Settings)) -> Collector {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("reports.db")),
            Backend::Postgres => Location::parse(&postgres::shared().fresh_database().await)
                .expect("a PostgreSQL URL"),
        };
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database,
            read_token: Some(TOKEN.to_owned()),
            retention_days: 400,
            rate_limit: 0,
            connections_per_client: 32,
            request_timeout: Duration::from_secs(10),
        };
        edit(&mut settings);
        let clock = TestClock::at(NOW);
        let running = collector::start(&settings, clock.clock())
            .await
            .expect("the collector starts");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        Collector {
            running: Some(running),
            settings,
            clock,
            dir,
            client,
            backend,
        }
    }

    /// Stops and starts again on the same database (applying retention at start).
    pub async fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        let running = collector::start(&self.settings, self.clock.clock())
            .await
            .expect("the collector restarts");
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("running").local_addr()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// POST /v1/report as the reporter sends it.
    pub async fn post_report(&self, report: &Value) -> Reply {
        self.post(Some("application/json"), report.to_string().into_bytes())
            .await
    }

    pub async fn post(&self, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = self.client.post(self.url("/v1/report")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        reply(request).await
    }

    /// GET with the read token as a Bearer token.
    pub async fn read(&self, path: &str) -> Reply {
        reply(self.client.get(self.url(path)).bearer_auth(TOKEN)).await
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        reply(request).await
    }

    pub async fn summary(&self, days: u32) -> Value {
        let reply = self.read(&format!("/v1/summary?days={days}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    /// Everything the database holds, as text: the SQLite files byte for byte, or every
    /// row of every table in PostgreSQL.
    pub async fn stored_text(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let mut text = String::new();
                for entry in std::fs::read_dir(self.dir.path()).unwrap() {
                    let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
                text
            }
            Backend::Postgres => {
                let Location::Postgres(config) = &self.settings.database else {
                    unreachable!()
                };
                let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                let tables = client
                    .query(
                        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                        &[],
                    )
                    .await
                    .unwrap();
                let mut text = String::new();
                for table in tables {
                    let name: String = table.get(0);
                    let rows = client
                        .query(&format!("SELECT t::text FROM {name} t"), &[])
                        .await
                        .unwrap();
                    for row in rows {
                        text.push_str(row.get::<_, &str>(0));
                        text.push('\n');
                    }
                }
                text
            }
        }
    }
}

async fn reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the collector answers");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("a body"),
    }
}

/// A valid report from `installation`, made at the tests' clock.
pub fn report(installation: &str) -> Value {
    json!({
        "schemaVersion": 1,
        "installationId": installation,
        "version": "v0.5.0",
        "reporterVersion": "0.1.0",
        "k8sVersion": "v1.33.2",
        "timestamp": "2026-11-28T06:00:00Z",
        "tasks": {"total": 3, "byType": {"claude-code": 2, "codex": 1}, "byPhase": {"Succeeded": 2, "Failed": 1}},
        "features": {"taskSpawners": 1, "agentConfigs": 0, "workspaces": 2, "sourceTypes": ["cron", "github"]},
        "scale": {"namespaces": 2},
        "usage": {"totalCostUsd": 1.25, "totalInputTokens": 1000, "totalOutputTokens": 500}
    })
}

/// The v2 report of a Kelos installation, made at the tests' clock.
pub fn kelos_report(installation: &str) -> Value {
    json!({
        "schemaVersion": 2,
        "installationId": installation,
        "version": "v0.52.0",
        "reporterVersion": "v0.1.0",
        "k8sVersion": "v1.34.1",
        "timestamp": "2026-11-28T06:00:00Z",
        "api": [{"group": "kelos.dev", "version": "v1alpha2"}],
        "tasks": {"total": 4, "byType": {"codex": 3, "other": 1}, "byPhase": {"Running": 4}},
        "taskSpawners": {"bySource": {"linearWebhook": 1, "slack": 1}},
        "sessions": {"total": 3, "byType": {"claude-code": 2, "codex": 1}, "byPhase": {"Ready": 2, "Failed": 1}},
        "workerPools": {"total": 2, "byPhase": {"Ready": 1, "Scaling": 1}, "desiredReplicas": 5, "currentReplicas": 4, "readyReplicas": 3},
        "features": {"taskSpawners": 2, "agentConfigs": 0, "workspaces": 1, "sourceTypes": ["linear", "slack"],
                     "sessionSpawners": 1, "taskBudgets": 0, "taskRecords": 7},
        "scale": {"namespaces": 9},
        "usage": {"totalCostUsd": 0.0123, "totalInputTokens": 900, "totalOutputTokens": 70}
    })
}

/// The `n`th installation ID of a test, readable in failures.
pub fn installation(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}
