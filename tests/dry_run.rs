//! `--dry-run`: the exact report on stdout, nothing sent, nothing written to the cluster.

use serde_json::json;

use crate::support::command::{reporter, run};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::sample_cluster;

const THEIRS: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

#[test]
fn dry_run_prints_the_report_and_changes_nothing() {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = run(reporter(&kube).args([
        "--dry-run",
        "--endpoint",
        &endpoint.url(),
        "--axon-version",
        "v0.5.0",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stamp = serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = r#"{
  "schemaVersion": 1,
  "installationId": "00000000-0000-0000-0000-000000000000",
  "version": "v0.5.0",
  "reporterVersion": "VERSION",
  "k8sVersion": "v1.33.2",
  "timestamp": "STAMP",
  "tasks": {
    "total": 7,
    "byType": {
      "claude-code": 4,
      "codex": 1,
      "gemini": 1,
      "opencode": 1
    },
    "byPhase": {
      "Pending": 1,
      "Running": 1,
      "Succeeded": 2,
      "Failed": 1,
      "Waiting": 1,
      "Unknown": 1
    }
  },
  "features": {
    "taskSpawners": 2,
    "agentConfigs": 1,
    "workspaces": 2,
    "sourceTypes": [
      "cron",
      "github"
    ]
  },
  "scale": {
    "namespaces": 3
  },
  "usage": {
    "totalCostUsd": 1.8,
    "totalInputTokens": 159000,
    "totalOutputTokens": 11200
  }
}
"#
    .replace("VERSION", env!("CARGO_PKG_VERSION"))
    .replace("STAMP", &stamp);
    assert_eq!(run.stdout, expected);
    assert_eq!(endpoint.received().len(), 0);
    assert_eq!(kube.writes(), Vec::<String>::new());
    assert_eq!(kube.config_map("axon-system", "axon-telemetry"), None);
    let info = run.logged("INFO");
    assert_eq!(
        info[1..],
        [
            "dry run: no installation ID yet; a real run would create ConfigMap axon-system/axon-telemetry (the report shows the nil UUID)",
            "collected Tasks: 7, TaskSpawners: 2, AgentConfigs: 1, Workspaces: 2, namespaces: 3",
            "dry run: the report is on stdout; nothing was sent and nothing was written to the cluster",
        ]
    );
}

#[test]
fn dry_run_shows_an_existing_id() {
    let kube = FakeKube::start();
    kube.put_config_map(
        "axon-system",
        "axon-telemetry",
        json!({"installationId": THEIRS}),
    );
    let run = run(reporter(&kube).env("AXON_TELEMETRY_DRY_RUN", "true"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["installationId"], THEIRS);
    assert_eq!(kube.writes(), Vec::<String>::new());
}

#[test]
fn dry_run_never_replaces_an_invalid_id() {
    let kube = FakeKube::start();
    kube.put_config_map(
        "axon-system",
        "axon-telemetry",
        json!({"installationId": "garbage"}),
    );
    let run = run(reporter(&kube).arg("--dry-run"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(kube.writes(), Vec::<String>::new());
    assert_eq!(
        kube.config_map("axon-system", "axon-telemetry").unwrap()["data"]["installationId"],
        "garbage"
    );
    assert_eq!(
        run.logged("INFO")[1],
        "dry run: ConfigMap axon-system/axon-telemetry holds no valid installationId; a real run would replace it (the report shows the nil UUID)"
    );
}

#[test]
fn the_demo_runs_a_dry_run_against_the_sample_cluster() {
    // `cargo test` builds the examples next to the binaries; hack/demo.sh runs this one.
    let demo = crate::support::command::binary()
        .parent()
        .unwrap()
        .join("examples/demo");
    let run = run(&mut crate::support::command::hermetic(&demo));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["installationId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(report["tasks"]["total"], 7);
    assert_eq!(report["version"], "v0.5.0");
}
