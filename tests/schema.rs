//! The committed JSON Schema (schema/report.v1.json) describes what the reporter sends,
//! and rejects what it never would; the collector accepts and rejects the same reports.

use serde_json::{Value, json};

use crate::support::command::{reporter, run};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::sample_cluster;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/report.v1.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid JSON Schema")
}

fn errors(report: &Value) -> Vec<String> {
    validator()
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn sent_report() -> Value {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = run(reporter(&kube).args([
        "--endpoint",
        &endpoint.url(),
        "--axon-version",
        "v0.5.0-rc.2",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&endpoint.received()[0].body).unwrap()
}

#[test]
fn sent_and_dry_run_reports_match_the_schema() {
    assert_eq!(errors(&sent_report()), Vec::<String>::new());
    let kube = FakeKube::start();
    let dry = run(reporter(&kube).arg("--dry-run"));
    assert_eq!(
        errors(&serde_json::from_str(&dry.stdout).unwrap()),
        Vec::<String>::new()
    );
}

/// The collector's verdict on `report`, at the real time (the reporter's timestamp is real).
fn collector_accepts(report: &Value) -> Result<(), String> {
    axon_telemetry::collector::validate::report(
        report.to_string().as_bytes(),
        jiff::Timestamp::now(),
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

#[test]
fn the_schema_and_the_collector_reject_what_the_reporter_never_sends() {
    let good = sent_report();
    assert_eq!(collector_accepts(&good), Ok(()));
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 15] = [
        ("/tasks/byType", |r| {
            r["tasks"]["byType"]["my-agent"] = json!(1)
        }),
        ("/tasks/byPhase", |r| {
            r["tasks"]["byPhase"]["Exploded"] = json!(1)
        }),
        ("/tasks/total", |r| r["tasks"]["total"] = json!(-1)),
        ("/features/sourceTypes/2", |r| {
            r["features"]["sourceTypes"] = json!(["cron", "github", "slack"])
        }),
        ("/installationId", |r| {
            r["installationId"] = json!("team-a's cluster")
        }),
        ("/version", |r| r["version"] = json!("v1.2.3-acme")),
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
            r["reporterVersion"] = json!("0.1.0-acme")
        }),
        ("/features/sourceTypes", |r| {
            r["features"]["sourceTypes"] = json!(["cron", "cron"])
        }),
        ("/schemaVersion", |r| r["schemaVersion"] = json!(2)),
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
