//! `--dry-run`: the exact report on stdout, nothing sent, nothing written to the cluster.

use serde_json::json;

use crate::support::command::{Reporter, run};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::{kelos_cluster, sample_cluster};

const THEIRS: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

#[test]
fn dry_run_prints_the_report_and_changes_nothing() {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .args([
            "--dry-run",
            "--endpoint",
            &endpoint.url(),
            "--axon-version",
            "v0.5.0",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stamp = serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = r#"{
  "schemaVersion": 2,
  "installationId": "00000000-0000-0000-0000-000000000000",
  "version": "v0.5.0",
  "reporterVersion": "vVERSION",
  "k8sVersion": "v1.33.2",
  "timestamp": "STAMP",
  "api": [
    {
      "group": "axon.io",
      "version": "v1alpha1"
    }
  ],
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
  "taskSpawners": {
    "bySource": {
      "githubIssues": 1,
      "cron": 1
    }
  },
  "sessions": {
    "total": 0,
    "byType": {},
    "byPhase": {}
  },
  "workerPools": {
    "total": 0,
    "byPhase": {},
    "desiredReplicas": 0,
    "currentReplicas": 0,
    "readyReplicas": 0
  },
  "features": {
    "taskSpawners": 2,
    "agentConfigs": 1,
    "workspaces": 2,
    "sourceTypes": [
      "cron",
      "github"
    ],
    "sessionSpawners": 0,
    "taskBudgets": 0,
    "taskRecords": 0
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
            "reading the operator's objects from axon.io/v1alpha1",
            "collected Tasks: 7, TaskSpawners: 2, AgentConfigs: 1, Workspaces: 2, WorkerPools: 0, Sessions: 0, SessionSpawners: 0, TaskBudgets: 0, TaskRecords: 0, namespaces: 3",
            "dry run: the report is on stdout; nothing was sent and nothing was written to the cluster",
        ]
    );
}

/// Kelos v0.52.0: read at `kelos.dev/v1alpha2` (never the deprecated `v1alpha1` it also
/// serves). A Task's type is its worker's, its pool's (`other` for a missing pool) or its
/// own legacy `.spec.type`; usage comes from TaskRecords, then `.status.usage`, then
/// `.status.results`, each Task once.
#[test]
fn a_kelos_cluster_gives_the_exact_v2_report() {
    let kube = FakeKube::kelos();
    kube.add(kelos_cluster());
    let run = Reporter::against(&kube)
        .args(["--dry-run", "--axon-version", "v0.52.0"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        crate::support::command::normalized(&run.stdout),
        json!({
            "schemaVersion": 2,
            "installationId": "00000000-0000-0000-0000-000000000000",
            "version": "v0.52.0",
            "reporterVersion": concat!("v", env!("CARGO_PKG_VERSION")),
            "k8sVersion": "v1.33.2",
            "timestamp": "<timestamp>",
            "api": [{"group": "kelos.dev", "version": "v1alpha2"}],
            "tasks": {
                "total": 6,
                "byType": {"claude-code": 2, "codex": 1, "gemini": 1, "cursor": 1, "other": 1},
                "byPhase": {"Pending": 1, "Running": 1, "Succeeded": 2, "Failed": 1, "Waiting": 1}
            },
            "taskSpawners": {"bySource": {"githubIssues": 1, "linearWebhook": 1, "cron": 1}},
            "sessions": {"total": 2, "byType": {"claude-code": 1, "codex": 1}, "byPhase": {"Ready": 1, "Suspended": 1}},
            "workerPools": {
                "total": 2,
                "byPhase": {"Ready": 1, "Scaling": 1},
                "desiredReplicas": 4,
                "currentReplicas": 4,
                "readyReplicas": 3
            },
            "features": {
                "taskSpawners": 3,
                "agentConfigs": 1,
                "workspaces": 1,
                "sourceTypes": ["cron", "github", "linear"],
                "sessionSpawners": 1,
                "taskBudgets": 1,
                "taskRecords": 2
            },
            "scale": {"namespaces": 4},
            "usage": {"totalCostUsd": 1.8123, "totalInputTokens": 159900, "totalOutputTokens": 11270}
        })
    );
    let lists = kube.list_requests();
    assert_eq!(
        lists,
        [
            "workerpools",
            "taskrecords",
            "tasks",
            "taskspawners",
            "sessions",
            "agentconfigs",
            "workspaces",
            "sessionspawners",
            "taskbudgets"
        ]
        .map(|plural| format!("GET /apis/kelos.dev/v1alpha2/{plural}?limit=500"))
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
    let run = Reporter::against(&kube)
        .env("AXON_TELEMETRY_DRY_RUN", "true")
        .run();
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
    let run = Reporter::against(&kube).arg("--dry-run").run();
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
    for (args, api, tasks, version) in [
        (&[][..], "kelos.dev", 6, "v0.52.0"),
        (&["--axon"][..], "axon.io", 7, "v0.12.0"),
    ] {
        let run = run(crate::support::command::hermetic(&demo).args(args));
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            report["installationId"],
            "00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(report["api"][0]["group"], api);
        assert_eq!(report["tasks"]["total"], tasks);
        assert_eq!(report["version"], version);
    }
}
