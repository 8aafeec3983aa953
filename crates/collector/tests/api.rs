//! The collector's HTTP API, over real HTTP, run once against SQLite and once against a
//! real PostgreSQL server (`on_both_backends!` makes a `sqlite::` and a `postgres::` test
//! of each function), then PostgreSQL's connection faults: a killed connection, and a
//! database that refuses connections for a while.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::collector::{
    Backend, Collector, NOW, TOKEN, installation, kelos_report, report,
};

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $test() { super::$test(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $test() { super::$test(super::Backend::Postgres).await })*
        }
    };
}

on_both_backends!(
    a_report_is_stored_and_summarised_exactly,
    a_mix_of_v1_and_v2_reports_is_summarised_exactly,
    a_second_report_the_same_day_replaces_the_first,
    reports_count_once_per_installation_per_utc_day,
    every_rejection_has_its_status_and_names_the_field,
    canaries_in_unknown_fields_and_free_text_are_never_stored,
    clients_over_the_rate_limit_get_429_with_retry_after,
    reads_need_the_read_token,
    reports_older_than_the_retention_are_deleted_at_start,
    a_body_that_does_not_arrive_in_time_gets_408,
    head_answers_wherever_get_does,
    sums_of_reports_at_the_maximum_cost_are_not_capped,
    early_answers_say_the_connection_closes,
    http_1_1_requests_need_exactly_one_host,
    probes_and_metrics_answer,
    concurrent_reports_are_neither_lost_nor_double_counted,
);

/// A report stamped `when`, sent with the collector's clock at `when`.
async fn report_at(collector: &Collector, when: &str, mut body: Value) -> u16 {
    collector.clock.set(when);
    body["timestamp"] = when.into();
    collector.post_report(&body).await.status
}

/// 30 days ending on the tests' day, with `counts` on the last days.
fn daily(from: &str, counts: &[u64]) -> Vec<Value> {
    let from: jiff::civil::Date = from.parse().unwrap();
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let day = from.checked_add(jiff::Span::new().days(i as i64)).unwrap();
            json!({"day": day.to_string(), "installations": n})
        })
        .collect()
}

fn zeros_then(days: usize, last: &[u64]) -> Vec<u64> {
    let mut counts = vec![0; days - last.len()];
    counts.extend_from_slice(last);
    counts
}

/// The metric samples (not comments) whose names start with `prefix`.
async fn metrics(collector: &Collector, prefix: &str) -> Vec<String> {
    let reply = collector.get("/metrics", None).await;
    assert_eq!(reply.status, 200);
    reply
        .body
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

async fn a_report_is_stored_and_summarised_exactly(backend: Backend) {
    let collector = Collector::start(backend).await;
    let reply = collector.post_report(&report(&installation(1))).await;
    assert_eq!(
        (reply.status, reply.json()),
        (202, json!({"status": "stored", "replaced": false}))
    );
    assert_eq!(
        collector.summary(30).await,
        json!({
            "generatedAt": NOW,
            "window": {"days": 30, "from": "2026-10-30", "to": "2026-11-28"},
            "active": {"last1Day": 1, "last7Days": 1, "last30Days": 1},
            "installations": 1,
            "schemaVersions": {"1": 1, "2": 0},
            "apis": {"axon.io/v1alpha1": 0, "kelos.dev/v1alpha2": 0, "kelos.dev/v1alpha1": 0},
            "dailyActive": daily("2026-10-30", &zeros_then(30, &[1])),
            "versions": {
                "axon": [{"version": "v0.5.0", "installations": 1}],
                "kubernetes": [{"version": "v1.33.2", "installations": 1}]
            },
            "agentTypes": {
                "claude-code": {"installations": 1, "tasks": 2},
                "codex": {"installations": 1, "tasks": 1},
                "gemini": {"installations": 0, "tasks": 0},
                "opencode": {"installations": 0, "tasks": 0},
                "cursor": {"installations": 0, "tasks": 0},
                "other": {"installations": 0, "tasks": 0}
            },
            "phases": {"Pending": 0, "Running": 0, "Succeeded": 2, "Failed": 1, "Waiting": 0, "Unknown": 0},
            "spawnerSources": NO_SPAWNER_SOURCES.clone(),
            "sessions": NO_SESSIONS.clone(),
            "workerPools": NO_WORKER_POOLS.clone(),
            "features": {
                "taskSpawners": {"installations": 1, "percent": 100.0},
                "agentConfigs": {"installations": 0, "percent": 0.0},
                "workspaces": {"installations": 1, "percent": 100.0},
                "sourceTypes": {
                    "cron": {"installations": 1, "percent": 100.0},
                    "github": {"installations": 1, "percent": 100.0},
                    "jira": {"installations": 0, "percent": 0.0},
                    "linear": {"installations": 0, "percent": 0.0},
                    "other": {"installations": 0, "percent": 0.0},
                    "slack": {"installations": 0, "percent": 0.0},
                    "webhook": {"installations": 0, "percent": 0.0}
                },
                "sessions": {"installations": 0, "percent": 0.0},
                "workerPools": {"installations": 0, "percent": 0.0},
                "sessionSpawners": {"installations": 0, "percent": 0.0},
                "taskBudgets": {"installations": 0, "percent": 0.0},
                "taskRecords": {"installations": 0, "percent": 0.0}
            },
            "namespaces": [
                {"namespaces": "0", "installations": 0},
                {"namespaces": "1", "installations": 0},
                {"namespaces": "2-5", "installations": 1},
                {"namespaces": "6-20", "installations": 0},
                {"namespaces": "21-100", "installations": 0},
                {"namespaces": "101+", "installations": 0}
            ],
            "usage": {"totalCostUsd": 1.25, "totalInputTokens": 1000, "totalOutputTokens": 500}
        })
    );
    collector.stop().await;
}

static NO_SPAWNER_SOURCES: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({"githubIssues": 0, "githubPullRequests": 0, "githubWebhook": 0, "linearWebhook": 0,
           "webhook": 0, "cron": 0, "jira": 0, "slack": 0, "other": 0})
});

static NO_SESSIONS: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({
        "total": 0,
        "byType": {"claude-code": 0, "codex": 0, "gemini": 0, "opencode": 0, "cursor": 0, "other": 0},
        "byPhase": {"Pending": 0, "Ready": 0, "Suspended": 0, "Failed": 0, "Unknown": 0}
    })
});

static NO_WORKER_POOLS: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({
        "total": 0,
        "byPhase": {"Pending": 0, "Ready": 0, "Scaling": 0, "Failed": 0, "Unknown": 0},
        "desiredReplicas": 0, "currentReplicas": 0, "readyReplicas": 0
    })
});

/// Old reporters (schema v1) and new ones (v2, one of them midway from Axon to Kelos) side
/// by side: every figure exact, and the v2-only figures from v2 reports alone.
async fn a_mix_of_v1_and_v2_reports_is_summarised_exactly(backend: Backend) {
    let collector = Collector::start(backend).await;
    let mut migrating = kelos_report(&installation(3));
    migrating["api"] = json!([{"group": "axon.io", "version": "v1alpha1"}, {"group": "kelos.dev", "version": "v1alpha1"}]);
    migrating["workerPools"] = json!({"total": 0, "byPhase": {}, "desiredReplicas": 0, "currentReplicas": 0, "readyReplicas": 0});
    migrating["sessions"] = json!({"total": 0, "byType": {}, "byPhase": {}});
    migrating["features"]["taskRecords"] = 0.into();
    for body in [
        report(&installation(1)),
        kelos_report(&installation(2)),
        migrating,
    ] {
        assert_eq!(collector.post_report(&body).await.status, 202, "{body}");
    }
    let summary = collector.summary(7).await;
    assert_eq!(summary["installations"], 3);
    assert_eq!(summary["schemaVersions"], json!({"1": 1, "2": 2}));
    assert_eq!(
        summary["apis"],
        json!({"axon.io/v1alpha1": 1, "kelos.dev/v1alpha2": 1, "kelos.dev/v1alpha1": 1})
    );
    assert_eq!(
        summary["agentTypes"]["codex"],
        json!({"installations": 3, "tasks": 7})
    );
    assert_eq!(
        summary["spawnerSources"],
        json!({"githubIssues": 0, "githubPullRequests": 0, "githubWebhook": 0, "linearWebhook": 2,
               "webhook": 0, "cron": 0, "jira": 0, "slack": 2, "other": 0})
    );
    assert_eq!(
        summary["sessions"],
        json!({
            "total": 3,
            "byType": {"claude-code": 2, "codex": 1, "gemini": 0, "opencode": 0, "cursor": 0, "other": 0},
            "byPhase": {"Pending": 0, "Ready": 2, "Suspended": 0, "Failed": 1, "Unknown": 0}
        })
    );
    assert_eq!(
        summary["workerPools"],
        json!({
            "total": 2,
            "byPhase": {"Pending": 0, "Ready": 1, "Scaling": 1, "Failed": 0, "Unknown": 0},
            "desiredReplicas": 5, "currentReplicas": 4, "readyReplicas": 3
        })
    );
    let features = &summary["features"];
    // v1 and v2 alike: of all three installations.
    assert_eq!(
        features["sourceTypes"]["linear"],
        json!({"installations": 2, "percent": 66.7})
    );
    assert_eq!(
        features["sourceTypes"]["cron"],
        json!({"installations": 1, "percent": 33.3})
    );
    // v2 only: of the two installations that can say.
    assert_eq!(
        features["sessions"],
        json!({"installations": 1, "percent": 50.0})
    );
    assert_eq!(
        features["sessionSpawners"],
        json!({"installations": 2, "percent": 100.0})
    );
    assert_eq!(
        features["taskRecords"],
        json!({"installations": 1, "percent": 50.0})
    );
    assert_eq!(
        features["taskBudgets"],
        json!({"installations": 0, "percent": 0.0})
    );
    assert_eq!(
        summary["usage"],
        json!({"totalCostUsd": 1.2746, "totalInputTokens": 2800, "totalOutputTokens": 640})
    );
    collector.stop().await;
}

async fn a_second_report_the_same_day_replaces_the_first(backend: Backend) {
    let collector = Collector::start(backend).await;
    let first = report(&installation(1));
    let mut second = report(&installation(1));
    second["version"] = "v0.6.0".into();
    second["tasks"] = json!({"total": 1, "byType": {"gemini": 1}, "byPhase": {"Running": 1}});
    second["usage"]["totalCostUsd"] = 2.0.into();
    assert_eq!(
        collector.post_report(&first).await.json()["replaced"],
        false
    );
    // A retry of the first, then a later report: the latest arrival is what counts.
    assert_eq!(collector.post_report(&first).await.json()["replaced"], true);
    assert_eq!(
        collector.post_report(&second).await.json()["replaced"],
        true
    );
    let summary = collector.summary(7).await;
    assert_eq!(summary["installations"], 1);
    assert_eq!(
        summary["versions"]["axon"],
        json!([{"version": "v0.6.0", "installations": 1}])
    );
    assert_eq!(summary["phases"]["Running"], 1);
    assert_eq!(summary["phases"]["Succeeded"], 0);
    assert_eq!(
        summary["agentTypes"]["gemini"],
        json!({"installations": 1, "tasks": 1})
    );
    assert_eq!(
        summary["agentTypes"]["claude-code"],
        json!({"installations": 0, "tasks": 0})
    );
    assert_eq!(summary["usage"]["totalCostUsd"], 2.0);
    assert_eq!(
        metrics(&collector, "axon_telemetry_reports_").await[..2],
        [
            "axon_telemetry_reports_accepted_total 3",
            "axon_telemetry_reports_duplicate_total 2"
        ]
    );
    collector.stop().await;
}

async fn reports_count_once_per_installation_per_utc_day(backend: Backend) {
    let collector = Collector::start(backend).await;
    let (a, b) = (installation(1), installation(2));
    assert_eq!(
        report_at(&collector, "2026-11-26T23:59:59Z", report(&a)).await,
        202
    );
    // One second later is another UTC day.
    assert_eq!(
        report_at(&collector, "2026-11-27T00:00:00Z", report(&a)).await,
        202
    );
    assert_eq!(
        report_at(&collector, "2026-11-27T06:00:00Z", report(&a)).await,
        202
    );
    let mut newer = report(&a);
    newer["version"] = "v0.6.0".into();
    newer["scale"]["namespaces"] = 40.into();
    assert_eq!(report_at(&collector, NOW, newer).await, 202);
    let mut other = report(&b);
    other["features"] =
        json!({"taskSpawners": 0, "agentConfigs": 3, "workspaces": 0, "sourceTypes": []});
    assert_eq!(report_at(&collector, NOW, other).await, 202);

    let summary = collector.summary(3).await;
    assert_eq!(
        summary["dailyActive"],
        json!(daily("2026-11-26", &[1, 1, 2]))
    );
    assert_eq!(
        summary["active"],
        json!({"last1Day": 2, "last7Days": 2, "last30Days": 2})
    );
    assert_eq!(summary["installations"], 2);
    assert_eq!(
        summary["versions"]["axon"],
        json!([{"version": "v0.5.0", "installations": 1}, {"version": "v0.6.0", "installations": 1}])
    );
    // Totals come from each installation's latest report, never summed across days.
    assert_eq!(
        summary["agentTypes"]["claude-code"],
        json!({"installations": 2, "tasks": 4})
    );
    assert_eq!(summary["usage"]["totalCostUsd"], 2.5);
    assert_eq!(
        summary["features"]["taskSpawners"],
        json!({"installations": 1, "percent": 50.0})
    );
    assert_eq!(
        summary["features"]["agentConfigs"],
        json!({"installations": 1, "percent": 50.0})
    );
    assert_eq!(
        summary["namespaces"][2],
        json!({"namespaces": "2-5", "installations": 1})
    );
    assert_eq!(
        summary["namespaces"][4],
        json!({"namespaces": "21-100", "installations": 1})
    );

    // A one-day window holds today only.
    let today = collector.summary(1).await;
    assert_eq!(today["dailyActive"], json!(daily("2026-11-28", &[2])));
    let bad = collector.read("/v1/summary?days=0").await;
    assert_eq!(
        (bad.status, bad.json()),
        (
            400,
            json!({"error": "invalid query", "field": "days", "message": "must be a whole number of days from 1 to 365"})
        )
    );
    collector.stop().await;
}

async fn every_rejection_has_its_status_and_names_the_field(backend: Backend) {
    let collector = Collector::start(backend).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = report(&installation(1));
        edit(&mut body);
        body.to_string().into_bytes()
    };
    let json = Some("application/json");
    let cases: Vec<(Option<&str>, Vec<u8>, u16, Value)> = vec![
        (
            json,
            b"{\"schemaVersion\": 1, \"tasks\": ".to_vec(),
            400,
            json!({"error": "invalid report", "field": "", "message": "not valid JSON (EOF while parsing a value at line 1 column 30)"}),
        ),
        (
            json,
            with(&|r| r["tasks"]["total"] = "3".into()),
            400,
            json!({"error": "invalid report", "field": "tasks.total", "message": "invalid type: string \"3\", expected u64"}),
        ),
        (
            json,
            with(&|r| r["features"]["sourceTypes"] = json!("cron")),
            400,
            json!({"error": "invalid report", "field": "features.sourceTypes", "message": "invalid type: string \"cron\", expected a sequence"}),
        ),
        (
            json,
            // Beyond u64: JSON numbers this large arrive as floating point.
            with(&|r| r["usage"]["totalInputTokens"] = json!(1e30)),
            400,
            json!({"error": "invalid report", "field": "usage.totalInputTokens", "message": "invalid type: floating point `1e+30`, expected u64"}),
        ),
        (
            json,
            with(&|r| r["usage"]["totalOutputTokens"] = json!(2_000_000_000_000_000u64)),
            400,
            json!({"error": "invalid report", "field": "usage.totalOutputTokens", "message": "must be at most 1000000000000000"}),
        ),
        (
            json,
            with(&|r| r["scale"]["namespaces"] = json!(-3)),
            400,
            json!({"error": "invalid report", "field": "scale.namespaces", "message": "invalid value: integer `-3`, expected u64"}),
        ),
        (
            json,
            with(&|r| r["timestamp"] = "2026-11-30T00:00:00Z".into()),
            400,
            json!({"error": "invalid report", "field": "timestamp", "message": "is more than a day ahead of the collector's clock (2026-11-28T12:00:00Z)"}),
        ),
        (
            json,
            with(&|r| r["schemaVersion"] = 3.into()),
            400,
            json!({"error": "unsupported schemaVersion", "field": "schemaVersion", "message": "schemaVersion 3 is not supported: this collector accepts schemaVersion 1 or 2"}),
        ),
        (
            None,
            with(&|_| {}),
            415,
            json!({"error": "unsupported media type", "message": "Content-Type must be application/json"}),
        ),
        (
            Some("text/plain"),
            with(&|_| {}),
            415,
            json!({"error": "unsupported media type", "message": "Content-Type must be application/json"}),
        ),
        (
            json,
            vec![b' '; 64 * 1024 + 1],
            413,
            json!({"error": "report too large", "message": "the body must be at most 65536 bytes"}),
        ),
    ];
    for (content_type, body, status, answer) in cases {
        let reply = collector.post(content_type, body).await;
        assert_eq!((reply.status, reply.json()), (status, answer));
    }

    // Chunked, so no Content-Length to refuse early: the limit stops the read.
    let response = raw(&collector, chunked_request(80 * 1024)).await;
    assert!(
        response.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{response}"
    );

    let wrong_method = collector.get("/v1/report", None).await;
    assert_eq!(
        (
            wrong_method.status,
            wrong_method.header("allow"),
            wrong_method.json()
        ),
        (
            405,
            Some("POST"),
            json!({"error": "method not allowed", "message": "/v1/report takes POST"})
        )
    );
    let unknown = collector.get("/v2/report", None).await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (
            404,
            json!({"error": "not found", "message": "no such path; reports go to POST /v1/report"})
        )
    );

    assert_eq!(collector.summary(30).await["installations"], 0);
    assert_eq!(
        metrics(&collector, "axon_telemetry_reports_").await,
        [
            "axon_telemetry_reports_accepted_total 0",
            "axon_telemetry_reports_duplicate_total 0",
            "axon_telemetry_reports_rejected_total{reason=\"invalid\"} 7",
            "axon_telemetry_reports_rejected_total{reason=\"unsupported_schema_version\"} 1",
            "axon_telemetry_reports_rejected_total{reason=\"unsupported_media_type\"} 2",
            "axon_telemetry_reports_rejected_total{reason=\"too_large\"} 2",
            "axon_telemetry_reports_rejected_total{reason=\"rate_limited\"} 0",
            "axon_telemetry_reports_rejected_total{reason=\"timeout\"} 0",
            "axon_telemetry_reports_rejected_total{reason=\"unavailable\"} 0",
        ]
    );
    collector.stop().await;
}

async fn canaries_in_unknown_fields_and_free_text_are_never_stored(backend: Backend) {
    const CANARY: &str = "canary-5d1e0b7f";
    let collector = Collector::start(backend).await;
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|r| r["clusterName"] = CANARY.into()),
        Box::new(|r| r[CANARY] = 1.into()),
        Box::new(|r| r["tasks"]["prompt"] = CANARY.into()),
        Box::new(|r| r["features"]["repos"] = json!([CANARY])),
        Box::new(|r| r["scale"]["namespaceNames"] = json!([CANARY])),
        Box::new(|r| r["usage"]["note"] = CANARY.into()),
        Box::new(|r| r["tasks"]["byType"][CANARY] = 1.into()),
        Box::new(|r| r["tasks"]["byPhase"][CANARY] = 1.into()),
        Box::new(|r| r["features"]["sourceTypes"] = json!([CANARY])),
        Box::new(|r| r["version"] = format!("v0.5.0-{CANARY}").into()),
        Box::new(|r| r["k8sVersion"] = CANARY.into()),
        Box::new(|r| r["reporterVersion"] = format!("0.1.0-{CANARY}").into()),
        Box::new(|r| r["installationId"] = CANARY.into()),
        Box::new(|r| r["timestamp"] = CANARY.into()),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut body = report(&installation(i as u32));
        edit(&mut body);
        let reply = collector.post_report(&body).await;
        assert_eq!(reply.status, 400, "case {i}: {}", reply.body);
    }
    let valid = installation(99);
    assert_eq!(collector.post_report(&report(&valid)).await.status, 202);

    let stored = collector.stored_text().await;
    assert!(
        stored.contains(&valid),
        "the scan must see the stored report"
    );
    assert!(!stored.contains(CANARY), "a canary reached the database");
    collector.stop().await;
}

async fn clients_over_the_rate_limit_get_429_with_retry_after(backend: Backend) {
    let collector = Collector::start_with(backend, |s| s.rate_limit = 2).await;
    for _ in 0..2 {
        assert_eq!(
            collector
                .post_report(&report(&installation(1)))
                .await
                .status,
            202
        );
    }
    let limited = collector.post_report(&report(&installation(1))).await;
    assert_eq!(
        (
            limited.status,
            limited.header("retry-after"),
            limited.json()
        ),
        (
            429,
            Some("30"),
            json!({"error": "rate limited", "message": "too many requests from this address; retry after 30 s"})
        )
    );
    // Every other request counts against the same limit; the probes never do.
    for path in ["/metrics", "/v1/summary", "/", "/no-such-path"] {
        let reply = collector.get(path, None).await;
        assert_eq!(
            (reply.status, reply.header("retry-after")),
            (429, Some("30")),
            "{path}"
        );
    }
    assert_eq!(collector.get("/healthz", None).await.status, 200);
    assert_eq!(collector.get("/readyz", None).await.status, 200);
    // A minute later the bucket is full again.
    collector.clock.set("2026-11-28T12:01:00Z");
    assert_eq!(
        metrics(
            &collector,
            "axon_telemetry_reports_rejected_total{reason=\"rate_limited\"}"
        )
        .await,
        ["axon_telemetry_reports_rejected_total{reason=\"rate_limited\"} 1"]
    );
    collector.stop().await;
}

async fn reads_need_the_read_token(backend: Backend) {
    let collector = Collector::start(backend).await;
    let unauthorized = json!({
        "error": "unauthorized",
        "message": "reads need the read token: Authorization: Bearer TOKEN, or Basic with TOKEN as the password"
    });
    for (path, authorization) in [
        ("/v1/summary", None),
        ("/v1/summary", Some("Bearer wrong-token")),
        ("/", Some("Basic cmVhZGVyOndyb25n")), // reader:wrong
        ("/", None),
    ] {
        let reply = collector.get(path, authorization).await;
        assert_eq!(
            (reply.status, reply.header("www-authenticate"), reply.json()),
            (
                401,
                Some("Basic realm=\"axon-telemetry\", charset=\"UTF-8\""),
                unauthorized.clone()
            ),
            "{path} {authorization:?}"
        );
    }
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("anyone:{TOKEN}"));
    let page = collector.get("/", Some(&format!("Basic {basic}"))).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("content-security-policy"),
        Some(axon_telemetry_collector::dashboard::CONTENT_SECURITY_POLICY)
    );
    assert_eq!(collector.read("/v1/summary").await.status, 200);
    collector.stop().await;

    let closed = Collector::start_with(backend, |s| s.read_token = None).await;
    let reply = closed
        .get("/v1/summary", Some(&format!("Bearer {TOKEN}")))
        .await;
    assert_eq!(
        (reply.status, reply.json()),
        (
            403,
            json!({
                "error": "reads are disabled",
                "message": "start the collector with --read-token (or AXON_TELEMETRY_READ_TOKEN) to read the summary"
            })
        )
    );
    closed.stop().await;
}

async fn reports_older_than_the_retention_are_deleted_at_start(backend: Backend) {
    let mut collector = Collector::start_with(backend, |s| s.retention_days = 5).await;
    for (n, when) in ["2026-11-18T12:00:00Z", "2026-11-24T12:00:00Z", NOW]
        .iter()
        .enumerate()
    {
        assert_eq!(
            report_at(&collector, when, report(&installation(n as u32 + 1))).await,
            202
        );
    }
    assert_eq!(collector.summary(30).await["installations"], 3);

    collector.restart().await;
    let summary = collector.summary(30).await;
    assert_eq!(summary["installations"], 2);
    assert_eq!(
        summary["dailyActive"],
        json!(daily("2026-10-30", &zeros_then(30, &[1, 0, 0, 0, 1])))
    );
    assert!(!collector.stored_text().await.contains(&installation(1)));
    collector.stop().await;
}

async fn a_body_that_does_not_arrive_in_time_gets_408(backend: Backend) {
    let collector =
        Collector::start_with(backend, |s| s.request_timeout = Duration::from_millis(200)).await;
    let headers = "POST /v1/report HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{";
    let response = raw(&collector, headers.as_bytes().to_vec()).await;
    assert!(
        response.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{response}"
    );
    assert!(
        response
            .ends_with(r#"{"error":"timeout","message":"the body did not arrive within 200ms"}"#),
        "{response}"
    );
    collector.stop().await;
}

/// 20 valid reports at the schema's maximum cost add up to more micro-dollars than a u64
/// holds: the summary and the dashboard show the exact total.
async fn sums_of_reports_at_the_maximum_cost_are_not_capped(backend: Backend) {
    let collector = Collector::start(backend).await;
    for n in 1..=20 {
        let mut body = report(&installation(n));
        body["usage"]["totalCostUsd"] = json!(1_000_000_000_000u64);
        assert_eq!(collector.post_report(&body).await.status, 202);
    }
    let summary = collector.read("/v1/summary?days=1").await;
    assert!(
        summary.body.contains(r#""usage":{"totalCostUsd":20000000000000.0,"totalInputTokens":20000,"totalOutputTokens":10000}"#),
        "{}",
        summary.body
    );
    let dashboard = collector.read("/?days=1").await;
    assert!(
        dashboard
            .body
            .contains("<b>20000000000000.00</b><span>cost (USD)</span>"),
        "{}",
        dashboard.body
    );
    collector.stop().await;
}

/// RFC 9110: HEAD works wherever GET does, with GET's status and headers and no body.
async fn head_answers_wherever_get_does(backend: Backend) {
    let collector = Collector::start(backend).await;
    let auth = format!("authorization: Bearer {TOKEN}\r\n");
    for (path, headers, status) in [
        ("/healthz", "", "200 OK"),
        ("/readyz", "", "200 OK"),
        ("/metrics", "", "200 OK"),
        ("/v1/summary?days=7", auth.as_str(), "200 OK"),
        ("/", auth.as_str(), "200 OK"),
        ("/v1/summary", "", "401 Unauthorized"),
        ("/v1/report", "", "405 Method Not Allowed"),
    ] {
        let request =
            format!("HEAD {path} HTTP/1.1\r\nhost: x\r\n{headers}connection: close\r\n\r\n");
        let response = raw(&collector, request.into_bytes()).await;
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{path}: {head}"
        );
        assert_eq!(body, "", "{path}");
    }
    let get_only = collector.post(Some("application/json"), Vec::new()).await;
    assert_eq!(get_only.status, 400);
    let wrong = raw(
        &collector,
        b"DELETE /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert!(
        wrong.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")
            && wrong.contains("\r\nallow: GET, HEAD\r\n"),
        "{wrong}"
    );
    collector.stop().await;
}

/// A report refused before its body is read leaves the connection unusable: the answer says
/// `Connection: close`, so that a keep-alive client opens a new one instead of failing.
async fn early_answers_say_the_connection_closes(backend: Backend) {
    let collector = Collector::start_with(backend, |s| s.rate_limit = 2).await;
    let body = "{}";
    let post = |content_type: &str, length: usize| {
        format!(
            "POST /v1/report HTTP/1.1\r\nhost: x\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\n\r\n{body}"
        )
        .into_bytes()
    };
    for (request, status) in [
        (post("text/plain", body.len()), "415 Unsupported Media Type"),
        (post("application/json", 1 << 20), "413 Payload Too Large"),
        // The two requests a minute this collector allows were the 415's and the 413's.
        (
            post("application/json", body.len()),
            "429 Too Many Requests",
        ),
    ] {
        let response = raw(&collector, request).await;
        let head = response.split("\r\n\r\n").next().unwrap();
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{head}"
        );
        assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    }
    collector.stop().await;
}

/// RFC 9112: an HTTP/1.1 request without a Host header, or with two, is a 400.
async fn http_1_1_requests_need_exactly_one_host(backend: Backend) {
    let collector = Collector::start(backend).await;
    for request in [
        "GET /healthz HTTP/1.1\r\nconnection: close\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n",
    ] {
        let response = raw(&collector, request.as_bytes().to_vec()).await;
        assert!(
            response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{response}"
        );
        assert!(
            response.ends_with(r#"{"error":"bad request","message":"an HTTP/1.1 request has exactly one Host header"}"#),
            "{response}"
        );
    }
    // HTTP/1.0 has no Host requirement.
    let old = raw(&collector, b"GET /healthz HTTP/1.0\r\n\r\n".to_vec()).await;
    assert!(old.starts_with("HTTP/1.0 200 OK\r\n"), "{old}");
    collector.stop().await;
}

async fn probes_and_metrics_answer(backend: Backend) {
    let collector = Collector::start(backend).await;
    for path in ["/healthz", "/readyz"] {
        let reply = collector.get(path, None).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"), "{path}");
    }
    collector.post_report(&report(&installation(1))).await;
    collector.post(None, b"{}".to_vec()).await;
    let reply = collector.get("/metrics", None).await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let count = reply
        .body
        .lines()
        .find(|l| l.starts_with("axon_telemetry_report_request_duration_seconds_count"));
    assert_eq!(
        count,
        Some("axon_telemetry_report_request_duration_seconds_count 2")
    );
    let inf = reply.body.lines().find(|l| l.contains("le=\"+Inf\""));
    assert_eq!(
        inf,
        Some("axon_telemetry_report_request_duration_seconds_bucket{le=\"+Inf\"} 2")
    );
    collector.stop().await;
}

async fn concurrent_reports_are_neither_lost_nor_double_counted(backend: Backend) {
    const INSTALLATIONS: u32 = 300;
    const REPORTS_EACH: u64 = 4;
    const WORKERS: u32 = 32;
    let collector = std::sync::Arc::new(Collector::start(backend).await);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let collector = std::sync::Arc::clone(&collector);
        workers.spawn(async move {
            for n in (worker..INSTALLATIONS).step_by(WORKERS as usize) {
                // Each installation's reports in order, the last with `total` 4: the
                // summary must see exactly the last.
                for total in 1..=REPORTS_EACH {
                    let mut body = report(&installation(n));
                    body["tasks"] = json!({"total": total, "byType": {"codex": total}, "byPhase": {"Pending": total}});
                    let reply = collector.post_report(&body).await;
                    assert_eq!(reply.status, 202, "{}", reply.body);
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("a worker");
    }
    let summary = collector.summary(1).await;
    assert_eq!(summary["installations"], INSTALLATIONS);
    assert_eq!(
        summary["agentTypes"]["codex"],
        json!({"installations": INSTALLATIONS, "tasks": u64::from(INSTALLATIONS) * REPORTS_EACH})
    );
    assert_eq!(
        metrics(&collector, "axon_telemetry_reports_").await[..2],
        [
            format!(
                "axon_telemetry_reports_accepted_total {}",
                u64::from(INSTALLATIONS) * REPORTS_EACH
            ),
            format!(
                "axon_telemetry_reports_duplicate_total {}",
                u64::from(INSTALLATIONS) * (REPORTS_EACH - 1)
            ),
        ]
    );
    std::sync::Arc::into_inner(collector)
        .expect("workers are done")
        .stop()
        .await;
}

/// Writes `request` on a fresh connection and reads the whole answer.
async fn raw(collector: &Collector, request: Vec<u8>) -> String {
    let mut stream = tokio::net::TcpStream::connect(collector.addr())
        .await
        .unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// A chunked POST of `size` bytes of JSON-looking body.
fn chunked_request(size: usize) -> Vec<u8> {
    let mut request =
        b"POST /v1/report HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_vec();
    let chunk = vec![b' '; 8192];
    for _ in 0..size / chunk.len() {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

/// PostgreSQL only: the collector's connection is killed from the server side (as a restart
/// or a failover would), and the next report is stored on a new connection.
#[tokio::test]
async fn a_broken_postgres_connection_is_reopened_without_losing_a_report() {
    let (collector, admin, database) = postgres_collector_with_one_report().await;
    cut_off(&admin, &database).await;

    let reply = collector.post_report(&report(&installation(2))).await;
    assert_eq!(
        (reply.status, reply.json()["replaced"].clone()),
        (202, json!(false))
    );
    assert_eq!(collector.get("/readyz", None).await.status, 200);
    assert_eq!(collector.summary(1).await["installations"], 2);
    collector.stop().await;
}

/// PostgreSQL only: while the database refuses connections, `/readyz` and reports answer
/// 503 (reports with `Retry-After`); once it is back, both recover on their own.
#[tokio::test]
async fn a_database_that_goes_away_turns_readyz_and_reports_to_503_until_it_is_back() {
    let (collector, admin, database) = postgres_collector_with_one_report().await;
    let allow = |on: bool| format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {on}");
    admin.batch_execute(&allow(false)).await.unwrap();
    cut_off(&admin, &database).await;

    let ready = collector.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, "the database is unreachable\n")
    );
    let refused = collector.post_report(&report(&installation(2))).await;
    assert_eq!(
        (
            refused.status,
            refused.header("retry-after"),
            refused.json()
        ),
        (
            503,
            Some("60"),
            json!({"error": "storage unavailable", "message": "the report was not stored; retry later"})
        )
    );
    assert_eq!(collector.read("/v1/summary").await.status, 503);

    admin.batch_execute(&allow(true)).await.unwrap();
    assert_eq!(collector.get("/readyz", None).await.status, 200);
    assert_eq!(
        collector
            .post_report(&report(&installation(2)))
            .await
            .status,
        202
    );
    assert_eq!(collector.summary(1).await["installations"], 2);
    assert_eq!(
        metrics(
            &collector,
            "axon_telemetry_reports_rejected_total{reason=\"unavailable\"}"
        )
        .await,
        ["axon_telemetry_reports_rejected_total{reason=\"unavailable\"} 1"]
    );
    collector.stop().await;
}

/// A collector on PostgreSQL that has stored one report, a superuser connection to the
/// shared server's `postgres` database, and the name of the collector's database.
async fn postgres_collector_with_one_report() -> (Collector, tokio_postgres::Client, String) {
    let collector = Collector::start(Backend::Postgres).await;
    assert_eq!(
        collector
            .post_report(&report(&installation(1)))
            .await
            .status,
        202
    );
    let axon_telemetry_collector::store::Location::Postgres(config) = &collector.settings.database
    else {
        unreachable!("a PostgreSQL collector")
    };
    let database = config.get_dbname().expect("a database name").to_owned();
    let server = format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        crate::support::postgres::shared().port()
    );
    let (admin, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    (collector, admin, database)
}

/// Terminates the collector's connections to `database` and waits until they are gone
/// (`pg_terminate_backend` only sends a signal).
async fn cut_off(admin: &tokio_postgres::Client, database: &str) {
    let ours = "datname = $1 AND application_name = 'axon-telemetry'";
    let killed = admin
        .query(
            &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {ours}"),
            &[&database],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 1, "one collector connection");
    for _ in 0..10_000 {
        let row = admin
            .query_one(
                &format!("SELECT count(*) FROM pg_stat_activity WHERE {ours}"),
                &[&database],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the collector's backend did not exit");
}
