//! The committed JSON Schemas (crates/report/schema) describe what the reporter sends (v2)
//! and what older reporters sent (v1), and reject what neither would; the contract's
//! validation, which the collector runs, accepts and rejects the same reports: the
//! reporter's own, targeted mutations, and a generated corpus of valid and invalid ones.

use axon_telemetry_testkit::random::Random;
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

/// The strings of the enum at `pointer` in schema `version`.
fn vocabulary(version: u32, pointer: &str) -> Vec<String> {
    let text = match version {
        1 => axon_telemetry::report::SCHEMA_V1,
        _ => axon_telemetry::report::SCHEMA_V2,
    };
    let schema: Value = serde_json::from_str(text).unwrap();
    // Schema v2 names its agent types once, in $defs; where it refers to them, none here.
    let Some(values) = schema.pointer(pointer) else {
        return Vec::new();
    };
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Counts under some of `keys`, each at least 1, adding up to the total returned.
fn counts(random: &mut Random, keys: &[String]) -> (Value, u64) {
    let mut map = serde_json::Map::new();
    let mut total = 0;
    for key in keys {
        if random.below(2) == 0 {
            let n = *random.pick(&[1, 2, 7, 1000, 123_456_789]);
            map.insert(key.clone(), n.into());
            total += n;
        }
    }
    (map.into(), total)
}

/// A report of schema `version` that is valid by construction: the schemas' own
/// vocabularies, random counts whose sums agree, versions and times in every valid form.
fn generated(random: &mut Random, version: u32) -> Value {
    let agents = vocabulary(
        version,
        "/properties/tasks/properties/byType/propertyNames/enum",
    );
    let agents = if agents.is_empty() {
        vocabulary(2, "/$defs/agentType/enum")
    } else {
        agents
    };
    let phases = vocabulary(
        version,
        "/properties/tasks/properties/byPhase/propertyNames/enum",
    );
    let sources = vocabulary(
        version,
        "/properties/features/properties/sourceTypes/items/enum",
    );
    let (by_type, total) = counts(random, &agents);
    // The same total, split over the phases another way.
    let mut by_phase = serde_json::Map::new();
    if total > 0 {
        let first = 1 + random.below(total);
        by_phase.insert(random.pick(&phases).clone(), first.into());
        let rest = total - first;
        if rest > 0 {
            let other = phases.iter().find(|p| !by_phase.contains_key(*p)).unwrap();
            by_phase.insert(other.clone(), rest.into());
        }
    }
    let mut source_types: Vec<&String> = sources.iter().filter(|_| random.below(2) == 0).collect();
    source_types.dedup();
    let versions = [
        "v0.52.0",
        "unknown",
        "v1.2.3-rc.1",
        "v0.0.0",
        "v999999999.0.0-beta",
    ];
    let reporter = *random.pick(&["0.1.0", "1.20.3-alpha.2", "999999999.0.0"]);
    let ago = random.below(30 * 86_400) as i64;
    let timestamp = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap()
        .checked_sub(jiff::SignedDuration::from_secs(ago))
        .unwrap();
    let cost = random
        .pick(&[
            json!(0),
            json!(0.5),
            json!(1.25e-4),
            json!(1e12),
            json!(314.159265),
        ])
        .clone();
    let count = |random: &mut Random| json!(*random.pick(&[0, 1, 42, 1_000_000_000_000_000u64]));
    let mut report = json!({
        "schemaVersion": version,
        "installationId": uuid::Uuid::from_u128(u128::from(random.below(u64::MAX)) << 64 | 0xfeed).to_string(),
        "version": *random.pick(&versions),
        "reporterVersion": if version == 1 { reporter.to_owned() } else { format!("v{reporter}") },
        "k8sVersion": *random.pick(&versions),
        "timestamp": timestamp.to_string(),
        "tasks": {"total": total, "byType": by_type, "byPhase": by_phase},
        "features": {"taskSpawners": 0, "agentConfigs": count(random), "workspaces": count(random), "sourceTypes": source_types},
        "scale": {"namespaces": count(random)},
        "usage": {"totalCostUsd": cost, "totalInputTokens": count(random), "totalOutputTokens": count(random)}
    });
    if version == 2 {
        let spawner_sources = vocabulary(
            2,
            "/properties/taskSpawners/properties/bySource/propertyNames/enum",
        );
        let (by_source, spawners) = counts(random, &spawner_sources);
        report["features"]["taskSpawners"] = spawners.into();
        report["taskSpawners"] = json!({"bySource": by_source});
        let session_phases = vocabulary(
            2,
            "/properties/sessions/properties/byPhase/propertyNames/enum",
        );
        let (by_type, sessions) = counts(random, &agents);
        let mut by_phase = serde_json::Map::new();
        if sessions > 0 {
            by_phase.insert(random.pick(&session_phases).clone(), sessions.into());
        }
        report["sessions"] = json!({"total": sessions, "byType": by_type, "byPhase": by_phase});
        let pool_phases = vocabulary(
            2,
            "/properties/workerPools/properties/byPhase/propertyNames/enum",
        );
        let (by_phase, pools) = counts(random, &pool_phases);
        report["workerPools"] = json!({"total": pools, "byPhase": by_phase,
            "desiredReplicas": count(random), "currentReplicas": count(random), "readyReplicas": count(random)});
        let groups = [
            ("axon.io", "v1alpha1"),
            ("kelos.dev", "v1alpha1"),
            ("kelos.dev", "v1alpha2"),
        ];
        report["api"] = match random.below(4) {
            0 => json!([]),
            1 => json!([{"group": groups[0].0, "version": groups[0].1}]),
            2 => json!([{"group": "kelos.dev", "version": random.pick(&groups[1..]).1}]),
            _ => {
                json!([{"group": "axon.io", "version": "v1alpha1"}, {"group": "kelos.dev", "version": "v1alpha2"}])
            }
        };
        for key in ["sessionSpawners", "taskBudgets", "taskRecords"] {
            report["features"][key] = count(random);
        }
    }
    report
}

/// The JSON pointers of every integer in `value`.
fn integers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                integers(value, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                integers(value, format!("{at}/{i}"), out);
            }
        }
        Value::Number(n) if n.is_u64() => out.push(at),
        _ => {}
    }
}

/// One change to `report`, drawn at random: it may leave the report valid or not.
/// Left out are the rules a JSON Schema cannot state and only the collector checks:
/// totals equal to their parts, each API group once, and a timestamp at most a day ahead.
fn mutated(random: &mut Random, report: &Value) -> Value {
    let mut r = report.clone();
    let v2 = r["schemaVersion"] == 2;
    // Fields that no sum involves.
    let free = [
        "/scale/namespaces",
        "/usage/totalInputTokens",
        "/usage/totalOutputTokens",
        "/features/agentConfigs",
        "/features/workspaces",
    ];
    match random.below(12) {
        0 => {
            // The same number in another notation: an integer all the same.
            let mut all = Vec::new();
            integers(&r, String::new(), &mut all);
            let at = random.pick(&all).clone();
            let n = r.pointer(&at).unwrap().as_u64().unwrap();
            *r.pointer_mut(&at).unwrap() = match random.below(2) {
                0 => json!(n as f64),
                _ => serde_json::from_str(&format!("{n}e0")).unwrap(),
            };
        }
        1 => {
            let value = random
                .pick(&[
                    json!(1_000_000_000_000_001u64),
                    json!(-1),
                    json!(1.5),
                    json!("3"),
                    Value::Null,
                    json!(true),
                    json!(1e3),
                    json!(1_000_000_000_000_000u64),
                ])
                .clone();
            let at = *random.pick(&free);
            *r.pointer_mut(at).unwrap() = value;
        }
        2 | 3 => {
            let field = *random.pick(&["/version", "/k8sVersion", "/reporterVersion"]);
            let value = *random.pick(&[
                "v1.2.3",
                "1.2.3",
                "v01.2.3",
                "v1.2.3-rc.01",
                "v1.2.3-acme",
                "unknown",
                "v1.2",
                "",
                "v1234567890.0.0",
                "v1.2.3-beta.7",
                "V1.2.3",
                "v1.2.3+build",
            ]);
            *r.pointer_mut(field).unwrap() = value.into();
        }
        4 => {
            let value = *random.pick(&[
                "6F1C2A7E-3B4D-4E5F-8A9B-0C1D2E3F4A5B",
                "6f1c2a7e3b4d4e5f8a9b0c1d2e3f4a5b",
                "{6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}",
                "00000000-0000-0000-0000-000000000000",
                "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5",
                "not-a-uuid",
            ]);
            r["installationId"] = value.into();
        }
        5 => {
            let value = *random.pick(&[
                "2026-11-28T06:00:00Z",
                "2026-11-28T06:00:00.5Z",
                "2026-11-28T07:00:00+01:00",
                "2026-11-28 06:00:00Z",
                "2026-11-28",
                "2026-02-30T06:00:00Z",
            ]);
            r["timestamp"] = value.into();
        }
        6 => {
            let objects = ["", "/tasks", "/features", "/scale", "/usage"];
            let at = *random.pick(&objects);
            r.pointer_mut(at).unwrap()["clusterName"] = json!("prod");
        }
        7 => {
            let map = *random.pick(&["/tasks/byType", "/tasks/byPhase"]);
            r.pointer_mut(map).unwrap()["my-own"] = json!(0);
        }
        8 => {
            let parent = *random.pick(&["", "/tasks", "/features", "/usage"]);
            let object = r.pointer_mut(parent).unwrap().as_object_mut().unwrap();
            let key = object
                .keys()
                .nth(random.below(object.len() as u64) as usize)
                .unwrap()
                .clone();
            object.remove(&key);
        }
        9 => {
            let at = *random.pick(&[
                "/tasks",
                "/features",
                "/scale",
                "/usage",
                "/features/sourceTypes",
            ]);
            *r.pointer_mut(at).unwrap() = random
                .pick(&[json!([]), json!("x"), json!(0), json!({})])
                .clone();
        }
        10 => {
            let value = random
                .pick(&[
                    json!(-0.01),
                    json!(1e12 + 1.0),
                    json!("1.0"),
                    json!(1e12),
                    json!(0.1),
                    json!(0),
                ])
                .clone();
            r["usage"]["totalCostUsd"] = value;
        }
        _ => {
            let types = r["features"]["sourceTypes"].as_array_mut().unwrap();
            match random.below(3) {
                0 if !types.is_empty() => {
                    let first = types[0].clone();
                    types.push(first);
                }
                1 => types.push(json!("teams")),
                _ => types.push(json!(if v2 { "cron" } else { "slack" })),
            }
        }
    }
    r
}

/// A generated corpus, valid and invalid, on which the schemas (a real Draft 2020-12
/// validator) and the collector's validation must give the same verdict, report by report.
#[test]
fn the_schemas_and_the_collector_agree_on_a_generated_corpus() {
    let validators = [validator(1), validator(2)];
    let schema_ok = |report: &Value| match report["schemaVersion"].as_f64() {
        Some(1.0) => validators[0].is_valid(report),
        _ => validators[1].is_valid(report),
    };
    let mut random = Random::new(0x00c0_ffee_d00d_f00d);
    let (mut valid, mut invalid) = (0, 0);
    for i in 0..400 {
        let report = generated(&mut random, 1 + (i % 2));
        assert!(schema_ok(&report), "{report}");
        assert_eq!(collector_accepts(&report), Ok(()), "{report}");
        for _ in 0..8 {
            let changed = mutated(&mut random, &report);
            let by_schema = schema_ok(&changed);
            let by_collector = collector_accepts(&changed);
            assert_eq!(
                by_schema,
                by_collector.is_ok(),
                "{by_collector:?}: {changed}"
            );
            if by_schema { valid += 1 } else { invalid += 1 }
        }
    }
    // Both kinds, many of each.
    assert!(
        valid > 200 && invalid > 1000,
        "{valid} valid, {invalid} invalid"
    );
}
