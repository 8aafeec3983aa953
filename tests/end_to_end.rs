//! The reporter's report reaching a real collector (the `axon-telemetry-collector` crate,
//! a dev-dependency only), started in the test process on SQLite: what the reporter sends is
//! what the collector validates, stores and summarises.

use axon_telemetry_collector::store::Location;
use axon_telemetry_collector::{Running, Settings, system_clock};
use serde_json::{Value, json};

use crate::support::command::{Reporter, binary, hermetic, run};
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::sample_cluster;

const TOKEN: &str = "end-to-end-token";

/// A collector on SQLite in a temp dir, with the system's clock (the reporter stamps its
/// report with the real time).
struct Collector {
    running: Running,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Collector {
    async fn start() -> Collector {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: Location::Sqlite(dir.path().join("reports.db")),
            read_token: Some(TOKEN.to_owned()),
            retention_days: 400,
            rate_limit: 0,
            connections_per_client: 32,
            request_timeout: std::time::Duration::from_secs(10),
        };
        let running = axon_telemetry_collector::start(&settings, system_clock())
            .await
            .expect("the collector starts");
        Collector {
            running,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            _dir: dir,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/v1/report", self.running.local_addr())
    }

    async fn summary(&self) -> Value {
        let url = format!("http://{}/v1/summary?days=1", self.running.local_addr());
        let response = self
            .client
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }
}

#[tokio::test]
async fn the_reporter_against_the_fake_cluster_reaches_the_summary() {
    let collector = Collector::start().await;
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = collector.endpoint();
    tokio::task::spawn_blocking(move || {
        let run = Reporter::against(&kube)
            .args([
                "--endpoint",
                &endpoint,
                "--axon-version",
                "v0.12.0",
                "--strict",
            ])
            .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("accepted the report (HTTP 202)"),
            "{}",
            run.stderr
        );
    })
    .await
    .unwrap();

    let summary = collector.summary().await;
    assert_eq!(summary["installations"], 1);
    assert_eq!(summary["schemaVersions"], json!({"1": 0, "2": 1}));
    assert_eq!(summary["apis"]["axon.io/v1alpha1"], 1);
    assert_eq!(
        summary["versions"],
        json!({
            "axon": [{"version": "v0.12.0", "installations": 1}],
            "kubernetes": [{"version": "v1.33.2", "installations": 1}]
        })
    );
    assert_eq!(
        summary["agentTypes"],
        json!({
            "claude-code": {"installations": 1, "tasks": 4},
            "codex": {"installations": 1, "tasks": 1},
            "gemini": {"installations": 1, "tasks": 1},
            "opencode": {"installations": 1, "tasks": 1},
            "cursor": {"installations": 0, "tasks": 0},
            "other": {"installations": 0, "tasks": 0}
        })
    );
    assert_eq!(
        summary["phases"],
        json!({"Pending": 1, "Running": 1, "Succeeded": 2, "Failed": 1, "Waiting": 1, "Unknown": 1})
    );
    assert_eq!(
        summary["features"]["sourceTypes"]["github"],
        json!({"installations": 1, "percent": 100.0})
    );
    assert_eq!(
        summary["usage"],
        json!({"totalCostUsd": 1.8, "totalInputTokens": 159000, "totalOutputTokens": 11200})
    );
    collector.running.stop().await;
}

/// `hack/demo.sh --send URL`: the sample Kelos cluster's report reaches a collector.
#[tokio::test]
async fn the_demo_sends_the_sample_report_to_a_collector() {
    let collector = Collector::start().await;
    // `cargo test` builds the examples next to the binaries; hack/demo.sh runs this one.
    let demo = binary().parent().unwrap().join("examples/demo");
    let endpoint = collector.endpoint();
    let run = tokio::task::spawn_blocking(move || run(hermetic(&demo).args(["--send", &endpoint])))
        .await
        .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let summary = collector.summary().await;
    assert_eq!(summary["installations"], 1);
    assert_eq!(summary["phases"]["Succeeded"], 2);
    assert_eq!(summary["apis"]["kelos.dev/v1alpha2"], 1);
    assert_eq!(summary["sessions"]["total"], 2);
    collector.running.stop().await;
}
