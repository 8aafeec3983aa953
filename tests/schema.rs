//! The committed JSON Schemas (crates/report/schema) describe what the reporter sends (v2)
//! and what older reporters sent (v1), and reject what neither would; the contract's
//! validation, which the collector runs, accepts and rejects the same reports.

use serde_json::{Value, json};

use crate::support::command::Reporter;
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::sample_cluster;

fn validator(version: u32) -> jsonschema::Validator {
    let text = match version {
        1 => axon_telemetry::report::SCHEMA_V1,
        _ => axon_telemetry::report::SCHEMA_V2,
    };
    jsonschema::validator_for(&serde_json::from_str(text).unwrap()).expect("a valid JSON Schema")
}

/// What schema v2, the reporter's, finds wrong with `report`.
fn errors(report: &Value) -> Vec<String> {
    errors_v(2, report)
}

fn errors_v(version: u32, report: &Value) -> Vec<String> {
    validator(version)
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn sent_report() -> Value {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .args([
            "--endpoint",
            &endpoint.url(),
            "--axon-version",
            "v0.5.0-rc.2",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&endpoint.received()[0].body).unwrap()
}

#[test]
fn sent_and_dry_run_reports_match_the_schema() {
    assert_eq!(errors(&sent_report()), Vec::<String>::new());
    let kube = FakeKube::start();
    let dry = Reporter::against(&kube).arg("--dry-run").run();
    assert_eq!(
        errors(&serde_json::from_str(&dry.stdout).unwrap()),
        Vec::<String>::new()
    );
}

/// The collector's verdict on `report`, at the real time (the reporter's timestamp is real).
fn collector_accepts(report: &Value) -> Result<(), String> {
    axon_telemetry::report::validate::report(report.to_string().as_bytes(), jiff::Timestamp::now())
        .map(drop)
        .map_err(|e| e.to_string())
}

#[test]
fn the_schema_and_the_collector_reject_what_the_reporter_never_sends() {
    let good = sent_report();
    assert_eq!(collector_accepts(&good), Ok(()));
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 29] = [
        ("/tasks/byType", |r| {
            r["tasks"]["byType"]["my-agent"] = json!(1)
        }),
        ("/tasks/byPhase", |r| {
            r["tasks"]["byPhase"]["Exploded"] = json!(1)
        }),
        ("/tasks/total", |r| r["tasks"]["total"] = json!(-1)),
        ("/features/sourceTypes/2", |r| {
            r["features"]["sourceTypes"] = json!(["cron", "github", "teams"])
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("team-a's cluster")
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("6F1C2A7E-3B4D-4E5F-8A9B-0C1D2E3F4A5B")
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("{6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}")
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("urn:uuid:6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("6f1c2a7e3b4d4e5f8a9b0c1d2e3f4a5b")
        }),
        ("/version", |r| r["version"] = json!("v1.2.3-acme")),
        ("/version", |r| r["version"] = json!("v01.2.3")),
        ("/k8sVersion", |r| {
            r["k8sVersion"] = json!("v1234567890.0.0")
        }),
        ("/reporterVersion", |r| {
            r["reporterVersion"] = json!("v0.1.0-rc.01")
        }),
        ("/timestamp", |r| r["timestamp"] = json!("2026-11-28 06:00")),
        ("/timestamp", |r| {
            r["timestamp"] = json!("2026-11-28T07:00:00+01:00")
        }),
        ("", |r| r["clusterName"] = json!("prod")),
        ("/usage", |r| {
            r["usage"].as_object_mut().unwrap().remove("totalCostUsd");
        }),
        ("/usage/totalCostUsd", |r| {
            r["usage"]["totalCostUsd"] = json!(2e12)
        }),
        ("/usage/totalInputTokens", |r| {
            r["usage"]["totalInputTokens"] = json!(1_000_000_000_000_001u64)
        }),
        ("/reporterVersion", |r| {
            r["reporterVersion"] = json!("v0.1.0-acme")
        }),
        // Schema version 1's form, without the v.
        ("/reporterVersion", |r| {
            r["reporterVersion"] = json!("0.1.0")
        }),
        ("/features/sourceTypes", |r| {
            r["features"]["sourceTypes"] = json!(["cron", "cron"])
        }),
        ("/schemaVersion", |r| r["schemaVersion"] = json!(3)),
        ("/api/0/group", |r| {
            r["api"] = json!([{"group": "example.com", "version": "v1alpha1"}])
        }),
        (
            "/api/0",
            |r| r["api"] = json!([{"group": "axon.io", "version": "v1alpha1", "url": "x"}]),
        ),
        ("/taskSpawners/bySource", |r| {
            r["taskSpawners"]["bySource"]["githubissues"] = json!(1)
        }),
        ("/sessions/byPhase", |r| {
            r["sessions"]["byPhase"]["Running"] = json!(1)
        }),
        ("/workerPools", |r| {
            r["workerPools"]
                .as_object_mut()
                .unwrap()
                .remove("readyReplicas");
        }),
        ("", |r| {
            r.as_object_mut().unwrap().remove("sessions");
        }),
    ];
    for (path, mutate) in mutations {
        let mut report = good.clone();
        mutate(&mut report);
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        assert!(
            found[0].starts_with(&format!("{path}: ")),
            "{path}: {found:?}"
        );
        assert!(
            collector_accepts(&report).is_err(),
            "{path}: the collector accepted it"
        );
    }
}

/// Reports from reporters before schema v2 still validate against schema v1, and the
/// collector takes them; a v2 report is not a v1 report.
#[test]
fn v1_reports_match_schema_v1_and_the_collector_takes_them() {
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    let v1 = json!({
        "schemaVersion": 1,
        "installationId": "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
        "version": "v0.5.0",
        "reporterVersion": "0.1.0",
        "k8sVersion": "v1.33.2",
        "timestamp": now.to_string(),
        "tasks": {"total": 3, "byType": {"claude-code": 2, "codex": 1}, "byPhase": {"Succeeded": 2, "Failed": 1}},
        "features": {"taskSpawners": 1, "agentConfigs": 0, "workspaces": 2, "sourceTypes": ["cron", "github"]},
        "scale": {"namespaces": 2},
        "usage": {"totalCostUsd": 1.25, "totalInputTokens": 1000, "totalOutputTokens": 500}
    });
    assert_eq!(errors_v(1, &v1), Vec::<String>::new());
    assert_eq!(collector_accepts(&v1), Ok(()));
    let mut found = errors_v(1, &sent_report());
    found.sort();
    assert_eq!(
        found,
        [
            "/features: Additional properties are not allowed ('sessionSpawners', 'taskBudgets', 'taskRecords' were unexpected)",
            r#"/reporterVersion: "v0.1.0" does not match "^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-(alpha|beta|rc)(\.(0|[1-9][0-9]{0,8}))?)?$""#,
            "/schemaVersion: 1 was expected",
            ": Additional properties are not allowed ('api', 'sessions', 'taskSpawners', 'workerPools' were unexpected)",
        ]
    );
}

/// What a JSON Schema validator takes as an integer (any number without a fractional part,
/// `3.0`, `1e1`), the collector takes too.
#[test]
fn integral_numbers_in_any_notation_are_accepted_by_both() {
    let good = sent_report();
    type Mutation = fn(&mut Value);
    let mutations: [Mutation; 4] = [
        |r| r["schemaVersion"] = json!(2.0),
        |r| r["tasks"]["total"] = json!(r["tasks"]["total"].as_f64().unwrap()),
        |r| r["scale"]["namespaces"] = json!(1e1),
        |r| r["usage"]["totalCostUsd"] = json!(2),
    ];
    for mutate in mutations {
        let mut report = good.clone();
        mutate(&mut report);
        assert_eq!(errors(&report), Vec::<String>::new(), "{report}");
        assert_eq!(collector_accepts(&report), Ok(()), "{report}");
    }
}
