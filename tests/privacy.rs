//! Privacy by construction, checked: a canary planted in every free-text field of every
//! kind must not appear in the sent report, on stdout or in the logs, at any log level
//! and in either log format.

use serde_json::json;

use crate::support::command::{Reporter, normalized};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::{
    AgentConfig, Any, Meta, Session, SessionSpawner, Task, TaskBudget, TaskRecord, TaskSpawner,
    WorkerPool, Workspace,
};

/// Every canary contains this (checked case-insensitively).
const CANARY: &str = "canary";

fn canary(field: &str) -> String {
    format!("{CANARY}-{field}-7f3a")
}

fn planted(mut meta: Meta, kind: &str) -> Meta {
    meta.namespace = canary(&format!("{kind}-namespace"));
    meta.name = canary(&format!("{kind}-name"));
    meta.label = canary(&format!("{kind}-label"));
    meta.annotation = canary(&format!("{kind}-annotation"));
    meta.uid = canary(&format!("{kind}-uid"));
    meta
}

fn canary_cluster() -> FakeKube {
    let kube = FakeKube::start();
    let mut task = Task::new("x", "x")
        .agent(&canary("agent-type"))
        .phase(&canary("phase"))
        .usage("0.5", "100", "10")
        .result(&canary("result-key"), json!(canary("result-value")))
        .result("cost_note", json!(canary("result-note")));
    task.meta = planted(task.meta, "task");
    task.prompt = canary("prompt");
    task.branch = canary("branch");
    task.model = canary("model");
    task.image = canary("image");
    task.secret = canary("secret-ref");
    task.message = canary("status-message");
    task.output = canary("output-url");
    let mut known = Task::new("x", "x").agent("codex").phase("Succeeded");
    known.meta = planted(known.meta, "task2");
    kube.add([task, known]);

    let mut spawner = TaskSpawner::new("x", "x")
        .github(&format!(
            "https://github.com/{}/repo",
            canary("github-repo")
        ))
        .jira(
            &format!("https://{}.atlassian.net", canary("jira-url")),
            &canary("jira-project"),
            &canary("jira-jql"),
        )
        .when(&canary("when-key"), json!({"value": canary("when-value")}));
    spawner.meta = planted(spawner.meta, "spawner");
    spawner.phase = canary("spawner-phase");
    spawner.message = canary("spawner-message");
    spawner.prompt = canary("spawner-prompt");
    kube.add([spawner]);

    let mut config = AgentConfig::new("x", "x");
    config.meta = planted(config.meta, "agentconfig");
    config.instructions = canary("agents-md");
    kube.add([config]);

    let mut workspace = Workspace::new("x", "x");
    workspace.meta = planted(workspace.meta, "workspace");
    workspace.repo = format!("https://github.com/{}.git", canary("workspace-repo"));
    workspace.git_ref = canary("git-ref");
    workspace.secret = canary("workspace-secret");
    kube.add([workspace]);

    // A malformed object full of canaries takes the other code path.
    kube.add_raw("tasks", &json!({"metadata": {"name": canary("bad-name"), "namespace": canary("bad-ns")}, "spec": {"type": 7, "prompt": canary("bad-prompt")}}).to_string());
    kube.set_git_version(&format!("v1.33.2-{}", canary("k8s-build")));
    kube
}

fn assert_no_canary(what: &str, text: &str) {
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find(CANARY) {
        let start = at.saturating_sub(80);
        panic!(
            "a canary leaked into {what}: …{}…",
            &text[start..(at + 40).min(text.len())]
        );
    }
}

/// Runs a sending and a dry run against `cluster()` at every log level and format, fails on
/// any canary in the sent report, stdout or stderr, and returns the sent reports.
fn reports_without_canaries(cluster: fn() -> FakeKube) -> Vec<serde_json::Value> {
    let mut reports = Vec::new();
    for (level, format) in [
        ("info", "text"),
        ("debug", "text"),
        ("trace", "text"),
        ("debug", "json"),
    ] {
        let kube = cluster();
        let endpoint = Endpoint::start();
        let sent = Reporter::against(&kube)
            .args([
                "--endpoint",
                &endpoint.url(),
                "--log-level",
                level,
                "--log-format",
                format,
                "--axon-version",
                &format!("v0.5.0-{}", canary("axon-build")),
            ])
            .run();
        assert_eq!(sent.code, 0, "{}", sent.stderr);
        let body = &endpoint.received()[0].body;
        assert_no_canary("the sent report", body);
        assert_no_canary(&format!("stderr at {level}/{format}"), &sent.stderr);
        assert_no_canary("stdout", &sent.stdout);
        reports.push(normalized(body));

        let dry = Reporter::against(&kube)
            .args(["--dry-run", "--log-level", level, "--log-format", format])
            .run();
        assert_eq!(dry.code, 0, "{}", dry.stderr);
        assert_no_canary("the dry-run report", &dry.stdout);
        assert_no_canary(&format!("dry-run stderr at {level}/{format}"), &dry.stderr);
    }
    reports
}

#[test]
fn no_free_text_reaches_the_report_stdout_or_logs() {
    for report in reports_without_canaries(canary_cluster) {
        // The canary objects were read, not skipped: the counts prove it.
        assert_eq!(
            report["tasks"],
            json!({"total": 2, "byType": {"codex": 1, "other": 1}, "byPhase": {"Succeeded": 1, "Unknown": 1}})
        );
        assert_eq!(
            report["features"]["sourceTypes"],
            json!(["github", "jira", "other"])
        );
        assert_eq!(report["scale"], json!({"namespaces": 5}));
        assert_eq!(
            (report["version"].clone(), report["k8sVersion"].clone()),
            (json!("v0.5.0"), json!("v1.33.2"))
        );
    }
}

/// Kelos' own kinds and fields: a v1alpha2 Task's worker and pool, WorkerPools, Sessions,
/// SessionSpawners, TaskBudgets and TaskRecords, a canary in each of their free-text fields.
fn kelos_canary_cluster() -> FakeKube {
    let kube = FakeKube::kelos();
    let mut pool = WorkerPool::new("x", "x").agent(&canary("pool-agent-type"));
    pool.meta = planted(pool.meta, "pool");
    pool.phase = canary("pool-phase");
    pool.image = canary("pool-image");
    pool.secret = canary("pool-secret");
    pool.message = canary("pool-message");
    let pool_name = pool.meta.name.clone();
    let mut inline = Task::new("x", "x")
        .worker(&canary("worker-type"))
        .phase("Succeeded")
        .status_usage(json!({"costUSD": canary("cost-quantity"), "inputTokens": 5}));
    inline.meta = planted(inline.meta, "task");
    inline.model = canary("worker-model");
    inline.image = canary("worker-image");
    inline.secret = canary("worker-secret");
    let mut pooled = Task::new("x", "x").pool(&pool_name).phase("Running");
    pooled.meta = planted(pooled.meta, "pooled-task");
    pooled.meta.namespace = pool.meta.namespace.clone();
    let mut record = TaskRecord::of(&inline)
        .usage(json!({"costUSD": "1250m", "inputTokens": 10, "outputTokens": 1}));
    record.meta = planted(record.meta, "record");
    record.task_name = canary("record-task-name");
    record.model = canary("record-model");
    record.agent = canary("record-agent-type");
    record.phase = canary("record-phase");
    let mut session = Session::new("x", "x").agent(&canary("session-agent-type"));
    session.meta = planted(session.meta, "session");
    session.phase = canary("session-phase");
    session.prompt = canary("session-prompt");
    session.branch = canary("session-branch");
    session.message = canary("session-message");
    session.pull_request = format!("https://github.com/{}/pull/1", canary("session-pr"));
    let mut spawner = SessionSpawner::new("x", "x");
    spawner.meta = planted(spawner.meta, "session-spawner");
    spawner.repo = canary("session-spawner-repo");
    spawner.prompt = canary("session-spawner-prompt");
    let mut budget = TaskBudget::new("x", "x");
    budget.meta = planted(budget.meta, "budget");
    budget.selector = canary("budget-selector");
    kube.add([Any::WorkerPool(pool), Any::TaskRecord(record)]);
    kube.add([inline, pooled]);
    kube.add([
        Any::Session(session),
        Any::SessionSpawner(spawner),
        Any::TaskBudget(budget),
    ]);
    kube
}

#[test]
fn no_free_text_of_kelos_kinds_reaches_the_report_stdout_or_logs() {
    for report in reports_without_canaries(kelos_canary_cluster) {
        assert_eq!(
            report["tasks"],
            json!({"total": 2, "byType": {"other": 2}, "byPhase": {"Running": 1, "Succeeded": 1}})
        );
        assert_eq!(
            report["workerPools"],
            json!({"total": 1, "byPhase": {"Unknown": 1}, "desiredReplicas": 1, "currentReplicas": 1, "readyReplicas": 1})
        );
        assert_eq!(
            report["sessions"],
            json!({"total": 1, "byType": {"other": 1}, "byPhase": {"Unknown": 1}})
        );
        assert_eq!(report["features"]["sessionSpawners"], 1);
        assert_eq!(report["features"]["taskBudgets"], 1);
        assert_eq!(report["features"]["taskRecords"], 1);
        // The record's usage, once: the Task it records is not counted again.
        assert_eq!(
            report["usage"],
            json!({"totalCostUsd": 1.25, "totalInputTokens": 10, "totalOutputTokens": 1})
        );
        assert_eq!(report["scale"]["namespaces"], 6);
    }
}

#[test]
fn a_canary_would_be_caught() {
    let result =
        std::panic::catch_unwind(|| assert_no_canary("a test", &format!("report {}", canary("x"))));
    assert!(result.is_err());
}
