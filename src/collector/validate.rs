//! Turns a request body into a [`Report`], or into a rejection naming the field.
//!
//! Schema v1 (`schema/report.v1.json`) is enforced by the report's own types (unknown
//! fields, unknown vocabulary keys and wrong types fail to deserialize) plus the checks
//! below for what types cannot say: bounds, sums, version shapes and the clock. What is
//! stored is the report re-serialized from those types, never the body itself, so a field
//! the schema does not define cannot be stored even by mistake.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::report::{self, MAX_COST_USD, MAX_COUNT, Report, SCHEMA_VERSION, release_version};

/// How far ahead of the collector's clock a report's timestamp may be: clocks drift, and
/// a day is the granularity reports are counted in.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(24);

/// Why a body is not a storable report.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(
        "schemaVersion {found} is not supported: this collector accepts schemaVersion {SCHEMA_VERSION}"
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

/// The first thing read: everything else depends on which schema applies.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<serde_json::Value>,
}

/// Parses and checks one report received at `now`.
pub fn report(body: &[u8], now: Timestamp) -> Result<Report, Rejection> {
    let not_json = |e: serde_json::Error| Rejection::invalid("", format!("not valid JSON ({e})"));
    if body.trim_ascii_start().first() != Some(&b'{') {
        // Valid JSON but not an object gets the plainer message.
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(not_json)?;
        return Err(Rejection::invalid("", "the report must be a JSON object"));
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(not_json)?;
    match envelope.schema_version {
        None => {
            return Err(Rejection::invalid(
                "schemaVersion",
                format!("is required; this collector accepts schemaVersion {SCHEMA_VERSION}"),
            ));
        }
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION.into()) => {}
        Some(other) => {
            return Err(Rejection::UnsupportedSchemaVersion {
                found: other.to_string(),
            });
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let report: Report = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
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

/// serde_json appends " at line 1 column 80"; the field path says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// What the types cannot express.
fn check(report: &Report, now: Timestamp) -> Result<(), Rejection> {
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
    let reporter = &report.reporter_version;
    if release_version(reporter) != format!("v{reporter}") {
        return Err(Rejection::invalid(
            "reporterVersion",
            "must be MAJOR.MINOR.PATCH, optionally with -alpha, -beta or -rc and .N",
        ));
    }
    if report.timestamp > now + MAX_CLOCK_SKEW {
        return Err(Rejection::invalid(
            "timestamp",
            format!("is more than a day ahead of the collector's clock ({now})"),
        ));
    }

    let tasks = &report.tasks;
    let counts = [
        ("tasks.total", tasks.total),
        ("features.taskSpawners", report.features.task_spawners),
        ("features.agentConfigs", report.features.agent_configs),
        ("features.workspaces", report.features.workspaces),
        ("scale.namespaces", report.scale.namespaces),
        ("usage.totalInputTokens", report.usage.total_input_tokens),
        ("usage.totalOutputTokens", report.usage.total_output_tokens),
    ];
    let by_type = tasks
        .by_type
        .iter()
        .map(|(k, &n)| (key("tasks.byType", k), n));
    let by_phase = tasks
        .by_phase
        .iter()
        .map(|(k, &n)| (key("tasks.byPhase", k), n));
    for (field, n) in counts
        .into_iter()
        .map(|(f, n)| (f.to_owned(), n))
        .chain(by_type.chain(by_phase))
    {
        if n > MAX_COUNT {
            return Err(Rejection::invalid(
                field,
                format!("must be at most {MAX_COUNT}"),
            ));
        }
        if n == 0 && (field.starts_with("tasks.byType.") || field.starts_with("tasks.byPhase.")) {
            return Err(Rejection::invalid(
                field,
                "zero counts are left out, so must be at least 1",
            ));
        }
    }
    for (field, sum) in [
        ("tasks.byType", tasks.by_type.values().sum::<u64>()),
        ("tasks.byPhase", tasks.by_phase.values().sum::<u64>()),
    ] {
        if sum != tasks.total {
            return Err(Rejection::invalid(
                field,
                format!("adds up to {sum}, but tasks.total is {}", tasks.total),
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

/// `tasks.byType.claude-code`: the key as the report spells it.
fn key(map: &str, key: &impl serde::Serialize) -> String {
    format!("{map}.{}", report::spelling(key))
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
                "unknown field `extra`, expected one of `taskSpawners`, `agentConfigs`, `workspaces`, `sourceTypes`",
            ),
            (
                Box::new(|r| r["installationId"] = "not-a-uuid".into()),
                "installationId",
                "UUID parsing failed: invalid character: found `n` at 0",
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
    fn schema_versions_other_than_1_say_which_is_accepted() {
        for (version, found) in [
            (serde_json::json!(2), "2"),
            (serde_json::json!("1"), "\"1\""),
        ] {
            let err = check_with(|r| r["schemaVersion"] = version).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "schemaVersion {found} is not supported: this collector accepts schemaVersion 1"
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
                "is required; this collector accepts schemaVersion 1".to_owned()
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
