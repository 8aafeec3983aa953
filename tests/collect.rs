//! What the report says about a cluster: every count, exactly.

use serde_json::json;

use crate::support::command::{Reporter, normalized, stored_id};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::{AgentConfig, Api, Task, TaskSpawner, Workspace, sample_cluster};

#[test]
fn sample_cluster_is_reported_exactly() {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .args(["--endpoint", &endpoint.url(), "--axon-version", "v0.5.0"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = endpoint.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        normalized(&sent[0].body),
        json!({
            "schemaVersion": 2,
            "installationId": stored_id(&kube),
            "version": "v0.5.0",
            "reporterVersion": concat!("v", env!("CARGO_PKG_VERSION")),
            "k8sVersion": "v1.33.2",
            "timestamp": "<timestamp>",
            "api": [{"group": "axon.io", "version": "v1alpha1"}],
            "tasks": {
                "total": 7,
                "byType": {"claude-code": 4, "codex": 1, "gemini": 1, "opencode": 1},
                "byPhase": {"Pending": 1, "Running": 1, "Succeeded": 2, "Failed": 1, "Waiting": 1, "Unknown": 1}
            },
            "taskSpawners": {"bySource": {"githubIssues": 1, "cron": 1}},
            "sessions": {"total": 0, "byType": {}, "byPhase": {}},
            "workerPools": NO_WORKER_POOLS.clone(),
            "features": {"taskSpawners": 2, "agentConfigs": 1, "workspaces": 2, "sourceTypes": ["cron", "github"],
                         "sessionSpawners": 0, "taskBudgets": 0, "taskRecords": 0},
            "scale": {"namespaces": 3},
            "usage": {"totalCostUsd": 1.8, "totalInputTokens": 159000, "totalOutputTokens": 11200}
        })
    );
}

/// The `workerPools` of a cluster without any.
static NO_WORKER_POOLS: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(
    || json!({"total": 0, "byPhase": {}, "desiredReplicas": 0, "currentReplicas": 0, "readyReplicas": 0}),
);

/// The Task list requests the fake API received, in order.
fn task_lists(kube: &FakeKube) -> Vec<String> {
    kube.requests()
        .into_iter()
        .filter(|r| r.contains("/tasks?"))
        .collect()
}

#[test]
fn an_empty_cluster_reports_zeros() {
    let kube = FakeKube::start();
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(
        report,
        json!({
            "schemaVersion": 2,
            "installationId": stored_id(&kube),
            "version": "unknown",
            "reporterVersion": concat!("v", env!("CARGO_PKG_VERSION")),
            "k8sVersion": "v1.33.2",
            "timestamp": "<timestamp>",
            "api": [{"group": "axon.io", "version": "v1alpha1"}],
            "tasks": {"total": 0, "byType": {}, "byPhase": {}},
            "taskSpawners": {"bySource": {}},
            "sessions": {"total": 0, "byType": {}, "byPhase": {}},
            "workerPools": NO_WORKER_POOLS.clone(),
            "features": {"taskSpawners": 0, "agentConfigs": 0, "workspaces": 0, "sourceTypes": [],
                         "sessionSpawners": 0, "taskBudgets": 0, "taskRecords": 0},
            "scale": {"namespaces": 0},
            "usage": {"totalCostUsd": 0.0, "totalInputTokens": 0, "totalOutputTokens": 0}
        })
    );
}

#[test]
fn lists_are_paginated_with_the_page_size_and_counted_once() {
    let kube = FakeKube::start();
    kube.add((0..1234).map(|i| {
        Task::new(&format!("ns-{}", i % 7), &format!("t{i}"))
            .agent("codex")
            .phase("Succeeded")
    }));
    let (report, _) = Reporter::against(&kube)
        .args(["--page-size", "100"])
        .report();
    assert_eq!(
        report["tasks"],
        json!({"total": 1234, "byType": {"codex": 1234}, "byPhase": {"Succeeded": 1234}})
    );
    assert_eq!(report["scale"], json!({"namespaces": 7}));
    let task_lists = task_lists(&kube);
    assert_eq!(task_lists.len(), 13);
    assert_eq!(task_lists[0], "GET /apis/axon.io/v1alpha1/tasks?limit=100");
    for (i, later) in task_lists[1..].iter().enumerate() {
        assert!(
            later.starts_with("GET /apis/axon.io/v1alpha1/tasks?limit=100&continue="),
            "page {}: {later}",
            i + 2
        );
    }
}

/// Each next page is fetched with the token read from the page before it, while that page is
/// decoded. The token is the List's own `metadata.continue`: here the items of a typed List
/// (metadata first) end in a `"continue"` key of their own, which is cluster content and is
/// never sent to the API server. Nothing is counted twice or missed.
#[test]
fn a_continue_key_inside_the_objects_is_never_sent_as_a_token() {
    const TRAP: &str = "bm90LWEtdG9rZW4="; // base64 of "not-a-token"
    let kube = FakeKube::start();
    kube.typed_lists();
    for i in 0..250 {
        kube.add_raw(
            "tasks",
            &format!(
                r#"{{"apiVersion":"axon.io/v1alpha1","kind":"Task","metadata":{{"name":"t{i}","namespace":"ns-{}"}},"spec":{{"type":"codex"}},"status":{{"phase":"Succeeded"}},"zz":{{"continue":"{TRAP}"}}}}"#,
                i % 3
            ),
        );
    }
    let (report, _) = Reporter::against(&kube)
        .args(["--page-size", "100"])
        .report();
    assert_eq!(
        report["tasks"],
        json!({"total": 250, "byType": {"codex": 250}, "byPhase": {"Succeeded": 250}})
    );
    assert_eq!(report["scale"], json!({"namespaces": 3}));
    let task_lists: Vec<&str> = task_lists(&kube)
        .iter()
        .map(|r| {
            if r.contains(&TRAP.replace('=', "%3D")) {
                "trap"
            } else if r.contains("continue=") {
                "next"
            } else {
                "first"
            }
        })
        .collect();
    assert_eq!(task_lists, ["first", "next", "next"]);
}

#[test]
fn the_default_page_size_is_500() {
    let kube = FakeKube::start();
    kube.add((0..1001).map(|i| Task::new("a", &format!("t{i}"))));
    Reporter::against(&kube).report();
    let limits: Vec<String> = kube
        .requests()
        .into_iter()
        .filter(|r| r.contains("/apis/"))
        .map(|r| {
            r.split_once('?')
                .unwrap()
                .1
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(limits, ["limit=500"; 6]);
}

#[test]
fn values_outside_the_vocabulary_are_bucketed() {
    let kube = FakeKube::start();
    kube.add([
        Task::new("a", "1").agent("cursor").phase("Running"),
        Task::new("a", "2").agent("Claude-Code").phase("running"),
        Task::new("a", "3").agent("my-own-agent").phase("Exploded"),
        Task::new("a", "4").agent("").phase(""),
        Task::new("a", "5").agent_json(serde_json::Value::Null),
    ]);
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(
        report["tasks"],
        json!({"total": 5, "byType": {"cursor": 1, "other": 4}, "byPhase": {"Running": 1, "Unknown": 4}})
    );
}

#[test]
fn usage_sums_skip_values_that_are_not_plausible_numbers() {
    let kube = FakeKube::start();
    let good = |name: &str| Task::new("a", name).phase("Succeeded");
    kube.add([
        good("1").usage("0.25", "1000", "200"),
        good("2").usage("1.5", "2000", "300"),
        good("3")
            .result("cost-usd", json!(0.75))
            .result("input-tokens", json!(500))
            .result("output-tokens", json!("0")),
        good("4").usage("", "abc", "-5"),
        good("5").usage("1e400", "NaN", "inf"),
        good("6").usage("-0.5", "12.5", "1e13"),
        good("7")
            .result("cost-usd", json!(true))
            .result("input-tokens", json!({"n": 1}))
            .result("output-tokens", json!([1])),
        good("8"),
    ]);
    let (report, run) = Reporter::against(&kube).report();
    assert_eq!(
        report["usage"],
        json!({"totalCostUsd": 2.5, "totalInputTokens": 3500, "totalOutputTokens": 500})
    );
    assert_eq!(report["tasks"]["total"], 8);
    assert!(
        run.logged("INFO").contains(
            &"skipped usage values that are not finite, non-negative numbers in range: cost 4, input tokens 4, output tokens 4"
        ),
        "{}",
        run.stderr
    );
}

/// The agents write `cost-usd`, `input-tokens`, `output-tokens`; the underscore spellings
/// (only Kelos' own telemetry reads them) count only where the hyphenated key is absent.
#[test]
fn usage_is_read_from_the_hyphenated_keys_then_the_underscore_spellings() {
    let kube = FakeKube::start();
    kube.add([
        Task::new("a", "1").usage("0.5", "100", "10"),
        Task::new("a", "2").legacy_usage("0.25", "50", "5"),
        Task::new("a", "3")
            .usage("1", "1000", "100")
            .legacy_usage("9", "9000", "900"),
        Task::new("a", "4")
            .result("cost-usd", json!("not a number"))
            .result("cost_usd", json!("7"))
            .result("input_tokens", json!("1")),
    ]);
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(
        report["usage"],
        json!({"totalCostUsd": 1.75, "totalInputTokens": 1151, "totalOutputTokens": 115})
    );
}

#[test]
fn malformed_objects_are_skipped_and_counted_in_the_log() {
    let kube = FakeKube::start();
    kube.add([Task::new("a", "good").agent("gemini").phase("Failed")]);
    for raw in [
        "42",
        r#""a string""#,
        "null",
        r#"{"metadata":{"namespace":"b"},"spec":"not an object"}"#,
        r#"{"metadata":{"namespace":"c"},"spec":{"type":7}}"#,
        r#"{"metadata":{"namespace":["d"]},"spec":{"type":"codex"}}"#,
        r#"{"metadata":{"namespace":"e"},"status":{"phase":{"x":1}}}"#,
    ] {
        kube.add_raw("tasks", raw);
    }
    kube.add_raw("workspaces", r#"{"metadata":"broken"}"#);
    let (report, run) = Reporter::against(&kube).report();
    assert_eq!(
        report["tasks"],
        json!({"total": 1, "byType": {"gemini": 1}, "byPhase": {"Failed": 1}})
    );
    assert_eq!(report["features"]["workspaces"], 0);
    assert_eq!(report["scale"]["namespaces"], 1);
    assert_eq!(
        run.logged("WARN"),
        [
            "listing tasks.axon.io: malformed objects skipped: 7 (not a JSON object, or a field the report reads has an unexpected type)",
            "listing workspaces.axon.io: malformed objects skipped: 1 (not a JSON object, or a field the report reads has an unexpected type)",
        ]
    );
}

#[test]
fn spawner_triggers_become_sorted_source_types() {
    let kube = FakeKube::start();
    kube.add([
        TaskSpawner::new("a", "1").jira("https://example.atlassian.net", "PAY", "project = PAY"),
        TaskSpawner::new("a", "2").github("https://github.com/example/repo"),
        TaskSpawner::new("a", "3")
            .cron("0 * * * *")
            .github("https://github.com/example/other"),
        TaskSpawner::new("a", "4").when("githubPullRequests", json!({"repo": "x"})),
        TaskSpawner::new("a", "5").when("cron", serde_json::Value::Null),
        TaskSpawner::new("a", "6"),
    ]);
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(
        report["features"],
        json!({"taskSpawners": 6, "agentConfigs": 0, "workspaces": 0, "sourceTypes": ["cron", "github", "jira"],
               "sessionSpawners": 0, "taskBudgets": 0, "taskRecords": 0})
    );
    // Each spawner once, under its first key; none (or only null) is `other`.
    assert_eq!(
        report["taskSpawners"],
        json!({"bySource": {"githubIssues": 2, "githubPullRequests": 1, "jira": 1, "other": 2}})
    );
}

#[test]
fn namespaces_are_counted_once_across_kinds() {
    let kube = FakeKube::start();
    kube.add([Task::new("a", "t"), Task::new("b", "t")]);
    kube.add([Workspace::new("b", "w"), Workspace::new("c", "w")]);
    kube.add([AgentConfig::new("d", "c")]);
    kube.add([TaskSpawner::new("a", "s")]);
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(report["scale"], json!({"namespaces": 4}));
}

#[test]
fn versions_are_reduced_to_release_numbers() {
    let kube = FakeKube::start();
    kube.set_git_version("v1.30.4-eks-a737599");
    let (report, run) = Reporter::against(&kube)
        .args(["--axon-version", "v0.52.0-acme-build"])
        .report();
    assert_eq!(
        (&report["k8sVersion"], &report["version"]),
        (&json!("v1.30.4"), &json!("v0.52.0"))
    );
    assert_eq!(run.logged("WARN"), Vec::<&str>::new());
}

/// Kelos before v0.40.0 serves only `v1alpha1`; so may a cluster midway through an
/// upgrade. A Task that runs on a WorkerPool shows `"type": ""` there (the conversion
/// webhook fills no type from a pool), so it is `other`: the reason `v1alpha2` is preferred.
#[test]
fn kelos_v1alpha1_alone_is_read_and_pool_backed_tasks_are_other() {
    let kube = FakeKube::serving(&[Api::KelosV1alpha1]);
    kube.add([
        Task::new("a", "inline").worker("codex").phase("Succeeded"),
        Task::new("a", "pooled").pool("big").phase("Running"),
        Task::new("b", "legacy").agent("gemini").phase("Failed"),
    ]);
    let (report, _) = Reporter::against(&kube).report();
    assert_eq!(
        report["api"],
        json!([{"group": "kelos.dev", "version": "v1alpha1"}])
    );
    assert_eq!(
        report["tasks"],
        json!({"total": 3, "byType": {"codex": 1, "gemini": 1, "other": 1},
               "byPhase": {"Running": 1, "Succeeded": 1, "Failed": 1}})
    );
    let lists = kube.list_requests();
    assert_eq!(
        lists,
        ["tasks", "taskspawners", "agentconfigs", "workspaces"]
            .map(|plural| format!("GET /apis/kelos.dev/v1alpha1/{plural}?limit=500"))
    );
}

/// Midway from Axon to Kelos both groups are served, with different objects in each: both
/// are read, and each object counts once.
#[test]
fn a_cluster_with_both_groups_reports_both() {
    let kube = FakeKube::serving(&[Api::AxonV1alpha1, Api::KelosV1alpha2, Api::KelosV1alpha1]);
    kube.add_to(
        "axon.io",
        [Task::new("old", "t")
            .agent("codex")
            .phase("Succeeded")
            .usage("1", "10", "1")],
    );
    kube.add_to("axon.io", [Workspace::new("old", "w")]);
    kube.add_to(
        "kelos.dev",
        [Task::new("new", "t")
            .worker("cursor")
            .phase("Running")
            .usage("0.5", "5", "1")],
    );
    kube.add_to("kelos.dev", [Workspace::new("new", "w")]);
    let (report, run) = Reporter::against(&kube).report();
    assert_eq!(
        report["api"],
        json!([{"group": "axon.io", "version": "v1alpha1"}, {"group": "kelos.dev", "version": "v1alpha2"}])
    );
    assert_eq!(
        report["tasks"],
        json!({"total": 2, "byType": {"codex": 1, "cursor": 1}, "byPhase": {"Running": 1, "Succeeded": 1}})
    );
    assert_eq!(report["features"]["workspaces"], 2);
    assert_eq!(report["scale"]["namespaces"], 2);
    assert_eq!(
        report["usage"],
        json!({"totalCostUsd": 1.5, "totalInputTokens": 15, "totalOutputTokens": 2})
    );
    assert_eq!(
        run.logged("INFO")
            .into_iter()
            .filter(|l| l.starts_with("reading"))
            .collect::<Vec<_>>(),
        [
            "reading the operator's objects from axon.io/v1alpha1",
            "reading the operator's objects from kelos.dev/v1alpha2"
        ]
    );
}

/// A cluster without the operator: one warning, a report of zeros, exit 0, and no list.
#[test]
fn a_cluster_with_neither_group_reports_zeros_with_one_warning() {
    let kube = FakeKube::serving(&[]);
    let (report, run) = Reporter::against(&kube).report();
    assert_eq!(report["api"], json!([]));
    assert_eq!(report["tasks"]["total"], 0);
    assert_eq!(
        run.logged("WARN"),
        [
            "the cluster serves neither axon.io nor kelos.dev: Axon (Kelos) is not installed, or its CRDs are missing; reporting zero objects"
        ]
    );
    assert_eq!(kube.list_requests(), Vec::<String>::new());
}

/// A Kelos release older than a kind (TaskRecords came in v0.44.0): that kind counts 0,
/// with a warning naming its CRD.
#[test]
fn a_kind_missing_from_a_served_version_counts_zero_and_warns() {
    let kube = FakeKube::kelos();
    kube.uninstall_crd("taskrecords");
    kube.add([Task::new("a", "t").worker("codex")]);
    let (report, run) = Reporter::against(&kube).report();
    assert_eq!(report["tasks"]["total"], 1);
    assert_eq!(report["features"]["taskRecords"], 0);
    assert_eq!(
        run.logged("WARN"),
        [
            "CRD taskrecords.kelos.dev is not installed (the API server answered 404 for /apis/kelos.dev/v1alpha2/taskrecords): counting 0 TaskRecords"
        ]
    );
}
