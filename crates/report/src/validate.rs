//! Turns a request body into a [`Report`], or into a rejection naming the field.
//!
//! Schemas v1 and v2 (`schema/report.v1.json`, `schema/report.v2.json`) are enforced by the
//! report's own types (unknown fields, unknown vocabulary keys and wrong types fail to
//! deserialize) plus the checks below for what types cannot say: which fields each version
//! has, bounds, sums, version shapes and the clock. What is
//! stored is the report re-serialized from those types, never the body itself, so a field
//! the schema does not define cannot be stored even by mistake.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::{
    self as report, MAX_COST_USD, MAX_COUNT, Report, SCHEMA_VERSION, SCHEMA_VERSION_1,
    release_version,
};

/// What `schemaVersion` may be, for messages.
const ACCEPTED: &str = "1 or 2";

/// How far ahead of the collector's clock a report's timestamp may be: clocks drift, and
/// a day is the granularity reports are counted in.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(24);

/// Why a body is not a storable report.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(
        "schemaVersion {found} is not supported: this collector accepts schemaVersion {ACCEPTED}"
    )]
    UnsupportedSchemaVersion { found: String },
}

impl Rejection {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Rejection {
        Rejection::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field the rejection is about, as a dotted path (`tasks.byType`).
    pub fn field(&self) -> &str {
        match self {
            Rejection::Invalid { field, .. } => field,
            Rejection::UnsupportedSchemaVersion { .. } => "schemaVersion",
        }
    }
}

/// Parses and checks one report received at `now`.
pub fn report(body: &[u8], now: Timestamp) -> Result<Report, Rejection> {
    let not_json = |e: serde_json::Error| Rejection::invalid("", format!("not valid JSON ({e})"));
    if body.trim_ascii_start().first() != Some(&b'{') {
        // Valid JSON but not an object gets the plainer message.
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(not_json)?;
        return Err(Rejection::invalid("", "the report must be a JSON object"));
    }
    let mut value: Value = serde_json::from_slice(body).map_err(not_json)?;
    integral_numbers_as_integers(&mut value);
    // The first thing read: everything else depends on which schema applies.
    match value.get("schemaVersion") {
        None => {
            return Err(Rejection::invalid(
                "schemaVersion",
                format!("is required; this collector accepts schemaVersion {ACCEPTED}"),
            ));
        }
        Some(Value::Number(n))
            if [SCHEMA_VERSION_1, SCHEMA_VERSION]
                .map(u64::from)
                .contains(&n.as_u64().unwrap_or(0)) => {}
        Some(other) => {
            return Err(Rejection::UnsupportedSchemaVersion {
                found: other.to_string(),
            });
        }
    }
    let report: Report = serde_path_to_error::deserialize(value).map_err(|e| {
        // The path names the map, not the key, when the key itself is bad: `tasks.byType.?`.
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." => "",
            path => path.strip_suffix(".?").unwrap_or(path),
        }
        .to_owned();
        Rejection::invalid(field, without_position(&e.into_inner().to_string()))
    })?;
    check(&report, now)?;
    Ok(report)
}

/// JSON Schema's `integer` is any number with no fractional part: `3.0` and `1e1` are
/// integers to a schema validator, so they are here too (`3`, `10`), and the report's types
/// and the schemas accept the same reports.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_u64() && !n.is_i64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 2^64 and -2^63 are exact as f64; the range below holds every u64 and i64 value.
            if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *n = (f as u64).into();
            } else if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                *n = (f as i64).into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(members) => members.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// serde_json appends " at line 1 column 80"; the field path says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Which fields each schema version has: v2 all of the optional ones, v1 none of them, and
/// v1's source types only its four.
fn check_fields(report: &Report) -> Result<(), Rejection> {
    let v2 = report.schema_version == SCHEMA_VERSION;
    let features = &report.features;
    for (field, present) in [
        ("api", report.api.is_some()),
        ("taskSpawners", report.task_spawners.is_some()),
        ("sessions", report.sessions.is_some()),
        ("workerPools", report.worker_pools.is_some()),
        (
            "features.sessionSpawners",
            features.session_spawners.is_some(),
        ),
        ("features.taskBudgets", features.task_budgets.is_some()),
        ("features.taskRecords", features.task_records.is_some()),
    ] {
        match (v2, present) {
            (true, false) => {
                return Err(Rejection::invalid(field, "is required in schemaVersion 2"));
            }
            (false, true) => {
                return Err(Rejection::invalid(field, "is not in schemaVersion 1"));
            }
            _ => {}
        }
    }
    if !v2 && let Some(source) = features.source_types.iter().find(|s| !s.in_v1()) {
        return Err(Rejection::invalid(
            "features.sourceTypes",
            format!(
                "{:?} is not in schemaVersion 1 (cron, github, jira, other)",
                report::spelling(source)
            ),
        ));
    }
    if let Some(api) = &report.api {
        let mut groups: Vec<_> = api.iter().map(|a| a.group).collect();
        groups.sort();
        groups.dedup();
        if groups.len() != api.len() {
            return Err(Rejection::invalid("api", "names each group at most once"));
        }
    }
    Ok(())
}

/// What the types cannot express.
fn check(report: &Report, now: Timestamp) -> Result<(), Rejection> {
    check_fields(report)?;
    for (field, value) in [
        ("version", &report.version),
        ("k8sVersion", &report.k8s_version),
    ] {
        if release_version(value) != *value {
            return Err(Rejection::invalid(
                field,
                "must be vMAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N, or \"unknown\"",
            ));
        }
    }
    // Schema v2 writes the reporter's release as the other versions are (v0.1.0); v1 wrote
    // it without the v.
    let reporter = &report.reporter_version;
    let v2 = report.schema_version == SCHEMA_VERSION;
    let tagged = if v2 {
        reporter.clone()
    } else {
        format!("v{reporter}")
    };
    if reporter.starts_with('v') != v2 || release_version(&tagged) != tagged {
        return Err(Rejection::invalid(
            "reporterVersion",
            if v2 {
                "must be vMAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N"
            } else {
                "must be MAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N"
            },
        ));
    }
    if report.timestamp > now + MAX_CLOCK_SKEW {
        return Err(Rejection::invalid(
            "timestamp",
            format!("is more than a day ahead of the collector's clock ({now})"),
        ));
    }

    let tasks = &report.tasks;
    let features = &report.features;
    let mut counts = vec![
        ("tasks.total".to_owned(), tasks.total),
        ("features.taskSpawners".to_owned(), features.task_spawners),
        ("features.agentConfigs".to_owned(), features.agent_configs),
        ("features.workspaces".to_owned(), features.workspaces),
        ("scale.namespaces".to_owned(), report.scale.namespaces),
        (
            "usage.totalInputTokens".to_owned(),
            report.usage.total_input_tokens,
        ),
        (
            "usage.totalOutputTokens".to_owned(),
            report.usage.total_output_tokens,
        ),
    ];
    for (field, n) in [
        ("features.sessionSpawners", features.session_spawners),
        ("features.taskBudgets", features.task_budgets),
        ("features.taskRecords", features.task_records),
        ("sessions.total", report.sessions.as_ref().map(|s| s.total)),
        (
            "workerPools.total",
            report.worker_pools.as_ref().map(|p| p.total),
        ),
        (
            "workerPools.desiredReplicas",
            report.worker_pools.as_ref().map(|p| p.desired_replicas),
        ),
        (
            "workerPools.currentReplicas",
            report.worker_pools.as_ref().map(|p| p.current_replicas),
        ),
        (
            "workerPools.readyReplicas",
            report.worker_pools.as_ref().map(|p| p.ready_replicas),
        ),
    ] {
        counts.extend(n.map(|n| (field.to_owned(), n)));
    }
    // Every count map: its entries (at least 1 each, as zeros are left out) must add up to
    // the total it splits.
    let mut maps = vec![
        CountMap::of("tasks.byType", &tasks.by_type, ("tasks.total", tasks.total)),
        CountMap::of(
            "tasks.byPhase",
            &tasks.by_phase,
            ("tasks.total", tasks.total),
        ),
    ];
    if let Some(spawners) = &report.task_spawners {
        let total = ("features.taskSpawners", features.task_spawners);
        maps.push(CountMap::of(
            "taskSpawners.bySource",
            &spawners.by_source,
            total,
        ));
    }
    if let Some(sessions) = &report.sessions {
        let total = ("sessions.total", sessions.total);
        maps.push(CountMap::of("sessions.byType", &sessions.by_type, total));
        maps.push(CountMap::of("sessions.byPhase", &sessions.by_phase, total));
    }
    if let Some(pools) = &report.worker_pools {
        let total = ("workerPools.total", pools.total);
        maps.push(CountMap::of("workerPools.byPhase", &pools.by_phase, total));
    }
    for CountMap { entries, .. } in &maps {
        for (field, n) in entries {
            if *n == 0 {
                return Err(Rejection::invalid(
                    field.clone(),
                    "zero counts are left out, so must be at least 1",
                ));
            }
            counts.push((field.clone(), *n));
        }
    }
    for (field, n) in counts {
        if n > MAX_COUNT {
            return Err(Rejection::invalid(
                field,
                format!("must be at most {MAX_COUNT}"),
            ));
        }
    }
    for CountMap {
        field,
        entries,
        total: (of, total),
    } in maps
    {
        let sum: u64 = entries.iter().map(|(_, n)| n).sum();
        if sum != total {
            return Err(Rejection::invalid(
                field,
                format!("adds up to {sum}, but {of} is {total}"),
            ));
        }
    }
    let cost = report.usage.total_cost_usd;
    if !(0.0..=MAX_COST_USD).contains(&cost) {
        return Err(Rejection::invalid(
            "usage.totalCostUsd",
            format!("must be between 0 and {MAX_COST_USD}"),
        ));
    }
    Ok(())
}

/// A count map, its entries named by field path (`tasks.byType.claude-code`), and the
/// total (name and value) they must add up to.
struct CountMap {
    field: &'static str,
    entries: Vec<(String, u64)>,
    total: (&'static str, u64),
}

impl CountMap {
    fn of<K: serde::Serialize>(
        field: &'static str,
        counts: &std::collections::BTreeMap<K, u64>,
        total: (&'static str, u64),
    ) -> CountMap {
        let entries = counts
            .iter()
            .map(|(k, &n)| (format!("{field}.{}", report::spelling(k)), n))
            .collect();
        CountMap {
            field,
            entries,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-28T12:00:00Z";

    fn valid() -> serde_json::Value {
        serde_json::json!({
            "schemaVersion": 1,
            "installationId": "6f1c1b56-8a43-4a4e-9b1e-2f6a0c3d9e71",
            "version": "v0.5.0",
            "reporterVersion": "0.1.0",
            "k8sVersion": "v1.33.2",
            "timestamp": "2026-11-28T06:00:00Z",
            "tasks": {"total": 3, "byType": {"codex": 1, "claude-code": 2}, "byPhase": {"Succeeded": 3}},
            "features": {"taskSpawners": 1, "agentConfigs": 0, "workspaces": 2, "sourceTypes": ["cron"]},
            "scale": {"namespaces": 2},
            "usage": {"totalCostUsd": 1.5, "totalInputTokens": 10, "totalOutputTokens": 20}
        })
    }

    fn check_with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Report, Rejection> {
        let mut body = valid();
        edit(&mut body);
        report(body.to_string().as_bytes(), NOW.parse().unwrap())
    }

    fn rejected(edit: impl FnOnce(&mut serde_json::Value)) -> (String, String) {
        match check_with(edit).unwrap_err() {
            Rejection::Invalid { field, message } => (field, message),
            other => panic!("not an invalid-field rejection: {other:?}"),
        }
    }

    #[test]
    fn a_valid_report_round_trips() {
        let report = check_with(|_| {}).unwrap();
        assert_eq!(serde_json::to_value(&report).unwrap(), valid());
    }

    #[test]
    fn each_kind_of_bad_field_is_named() {
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|r| r["tasks"]["total"] = "3".into()),
                "tasks.total",
                "invalid type: string \"3\", expected u64",
            ),
            (
                Box::new(|r| r["tasks"]["total"] = (-1).into()),
                "tasks.total",
                "invalid value: integer `-1`, expected u64",
            ),
            (
                Box::new(|r| r["scale"]["namespaces"] = 1e300.into()),
                "scale.namespaces",
                "invalid type: floating point `1e+300`, expected u64",
            ),
            (
                Box::new(|r| r["usage"]["totalInputTokens"] = (MAX_COUNT + 1).into()),
                "usage.totalInputTokens",
                "must be at most 1000000000000000",
            ),
            (
                Box::new(|r| r["usage"]["totalCostUsd"] = (-0.5).into()),
                "usage.totalCostUsd",
                "must be between 0 and 1000000000000",
            ),
            (
                Box::new(|r| r["tasks"]["byType"]["my-agent"] = 1.into()),
                "tasks.byType",
                "unknown variant `my-agent`, expected one of `claude-code`, `codex`, `gemini`, `opencode`, `cursor`, `other`",
            ),
            (
                Box::new(|r| r["tasks"]["byType"]["codex"] = 0.into()),
                "tasks.byType.codex",
                "zero counts are left out, so must be at least 1",
            ),
            (
                Box::new(|r| r["tasks"]["byPhase"]["Succeeded"] = 2.into()),
                "tasks.byPhase",
                "adds up to 2, but tasks.total is 3",
            ),
            (
                Box::new(|r| r["features"]["sourceTypes"] = serde_json::json!(["cron", "cron"])),
                "features.sourceTypes",
                "each source type may appear only once",
            ),
            (
                Box::new(|r| r["features"]["extra"] = "canary".into()),
                "features.extra",
                "unknown field `extra`, expected one of `taskSpawners`, `agentConfigs`, `workspaces`, `sourceTypes`, `sessionSpawners`, `taskBudgets`, `taskRecords`",
            ),
            (
                Box::new(|r| r["installationId"] = "not-a-uuid".into()),
                "installationId",
                "UUID parsing failed: invalid character: found `n` at 0",
            ),
            (
                Box::new(|r| r["installationId"] = "6F1C1B56-8A43-4A4E-9B1E-2F6A0C3D9E71".into()),
                "installationId",
                "expected a lower-case hyphenated UUID, e.g. 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            ),
            (
                Box::new(|r| r["installationId"] = "{6f1c1b56-8a43-4a4e-9b1e-2f6a0c3d9e71}".into()),
                "installationId",
                "expected a lower-case hyphenated UUID, e.g. 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            ),
            (
                Box::new(|r| {
                    r["installationId"] = "urn:uuid:6f1c1b56-8a43-4a4e-9b1e-2f6a0c3d9e71".into()
                }),
                "installationId",
                "expected a lower-case hyphenated UUID, e.g. 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            ),
            (
                Box::new(|r| r["installationId"] = "6f1c1b568a434a4e9b1e2f6a0c3d9e71".into()),
                "installationId",
                "expected a lower-case hyphenated UUID, e.g. 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            ),
            (
                Box::new(|r| r["version"] = "v0.5.0-acme-build".into()),
                "version",
                "must be vMAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N, or \"unknown\"",
            ),
            (
                Box::new(|r| r["reporterVersion"] = "0.1.0-secret".into()),
                "reporterVersion",
                "must be MAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N",
            ),
            (
                Box::new(|r| r["timestamp"] = "2026-11-28T06:00:00.5Z".into()),
                "timestamp",
                "expected a UTC time in whole seconds, e.g. 2026-11-28T06:00:00Z",
            ),
            (
                Box::new(|r| r["timestamp"] = "2026-11-29T12:00:01Z".into()),
                "timestamp",
                "is more than a day ahead of the collector's clock (2026-11-28T12:00:00Z)",
            ),
            (
                Box::new(|r| {
                    r.as_object_mut().unwrap().remove("usage");
                }),
                "",
                "missing field `usage`",
            ),
        ];
        for (edit, field, message) in cases {
            assert_eq!(rejected(edit), (field.to_owned(), message.to_owned()));
        }
    }

    #[test]
    fn a_day_of_clock_skew_is_accepted() {
        check_with(|r| r["timestamp"] = "2026-11-29T12:00:00Z".into()).unwrap();
    }

    #[test]
    fn schema_versions_other_than_1_and_2_say_which_are_accepted() {
        for (version, found) in [
            (serde_json::json!(3), "3"),
            (serde_json::json!(0), "0"),
            (serde_json::json!("1"), "\"1\""),
        ] {
            let err = check_with(|r| r["schemaVersion"] = version).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "schemaVersion {found} is not supported: this collector accepts schemaVersion 1 or 2"
                )
            );
        }
        let missing = rejected(|r| {
            r.as_object_mut().unwrap().remove("schemaVersion");
        });
        assert_eq!(
            missing,
            (
                "schemaVersion".to_owned(),
                "is required; this collector accepts schemaVersion 1 or 2".to_owned()
            )
        );
    }

    /// `valid()` as a v2 report.
    fn valid_v2() -> serde_json::Value {
        let mut body = valid();
        body["schemaVersion"] = 2.into();
        body["reporterVersion"] = "v0.1.0".into();
        body["api"] = serde_json::json!([{"group": "kelos.dev", "version": "v1alpha2"}]);
        body["taskSpawners"] = serde_json::json!({"bySource": {"cron": 1}});
        body["sessions"] = serde_json::json!({"total": 2, "byType": {"codex": 2}, "byPhase": {"Ready": 1, "Unknown": 1}});
        body["workerPools"] = serde_json::json!({"total": 1, "byPhase": {"Scaling": 1},
            "desiredReplicas": 3, "currentReplicas": 2, "readyReplicas": 1});
        for key in ["sessionSpawners", "taskBudgets", "taskRecords"] {
            body["features"][key] = 0.into();
        }
        body["features"]["sourceTypes"] = serde_json::json!(["cron", "slack"]);
        body
    }

    /// Schema v2 writes the reporter's release as a tag (`v0.1.0`), v1 without the v.
    #[test]
    fn each_schema_version_has_its_form_of_reporter_version() {
        let now: Timestamp = NOW.parse().unwrap();
        let with = |mut body: serde_json::Value, version: &str| {
            body["reporterVersion"] = version.into();
            report(body.to_string().as_bytes(), now).map_err(|r| r.to_string())
        };
        assert!(with(valid_v2(), "v0.1.0-rc.1").is_ok());
        assert!(with(valid(), "0.1.0-rc.1").is_ok());
        assert_eq!(
            with(valid_v2(), "0.1.0"),
            Err("reporterVersion: must be vMAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N".to_owned())
        );
        assert_eq!(
            with(valid(), "v0.1.0"),
            Err("reporterVersion: must be MAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N".to_owned())
        );
    }

    #[test]
    fn a_valid_v2_report_round_trips() {
        let report = report(valid_v2().to_string().as_bytes(), NOW.parse().unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&report).unwrap(), valid_v2());
    }

    #[test]
    fn each_schema_version_has_exactly_its_own_fields() {
        let check = |body: serde_json::Value| match report(
            body.to_string().as_bytes(),
            NOW.parse().unwrap(),
        )
        .unwrap_err()
        {
            Rejection::Invalid { field, message } => (field, message),
            other => panic!("{other:?}"),
        };
        let mut v2_without = valid_v2();
        v2_without.as_object_mut().unwrap().remove("sessions");
        assert_eq!(
            check(v2_without),
            ("sessions".into(), "is required in schemaVersion 2".into())
        );
        let mut v1_with = valid();
        v1_with["features"]["taskRecords"] = 3.into();
        assert_eq!(
            check(v1_with),
            (
                "features.taskRecords".into(),
                "is not in schemaVersion 1".into()
            )
        );
        let mut v1_slack = valid();
        v1_slack["features"]["sourceTypes"] = serde_json::json!(["slack"]);
        assert_eq!(
            check(v1_slack),
            (
                "features.sourceTypes".into(),
                "\"slack\" is not in schemaVersion 1 (cron, github, jira, other)".into()
            )
        );
        let mut twice = valid_v2();
        twice["api"] = serde_json::json!([{"group": "kelos.dev", "version": "v1alpha2"},
            {"group": "kelos.dev", "version": "v1alpha1"}]);
        assert_eq!(
            check(twice),
            ("api".into(), "names each group at most once".into())
        );
        let mut sessions = valid_v2();
        sessions["sessions"]["byPhase"]["Ready"] = 5.into();
        assert_eq!(
            check(sessions),
            (
                "sessions.byPhase".into(),
                "adds up to 6, but sessions.total is 2".into()
            )
        );
        let mut spawners = valid_v2();
        spawners["taskSpawners"]["bySource"]["slack"] = 0.into();
        assert_eq!(
            check(spawners),
            (
                "taskSpawners.bySource.slack".into(),
                "zero counts are left out, so must be at least 1".into()
            )
        );
        let mut pools = valid_v2();
        pools["workerPools"]["byPhase"] = serde_json::json!({});
        assert_eq!(
            check(pools),
            (
                "workerPools.byPhase".into(),
                "adds up to 0, but workerPools.total is 1".into()
            )
        );
    }

    #[test]
    fn bodies_that_are_not_objects_are_rejected_plainly() {
        let now = NOW.parse().unwrap();
        assert_eq!(
            report(b"[1,2]", now).unwrap_err(),
            Rejection::invalid("", "the report must be a JSON object")
        );
        assert_eq!(
            report(b" 42", now).unwrap_err(),
            Rejection::invalid("", "the report must be a JSON object")
        );
        assert_eq!(
            report(b"nonsense", now).unwrap_err(),
            Rejection::invalid("", "not valid JSON (expected ident at line 1 column 2)")
        );
        assert_eq!(
            report(b"{\"schemaVersion\": 1,", now).unwrap_err(),
            Rejection::invalid(
                "",
                "not valid JSON (EOF while parsing a value at line 1 column 20)"
            )
        );
    }
}
