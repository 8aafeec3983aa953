//! The report contract between the reporter, which runs in users' clusters, and the
//! collector, which the maintainers run: what leaves a cluster, field by field (see
//! TELEMETRY.md), the fixed vocabularies every value read from the cluster is mapped into,
//! the operator's API versions ([`api`]), the JSON Schemas ([`SCHEMA_V1`], [`SCHEMA_V2`]) and
//! the checks a report must pass ([`validate`]). Both binaries also log alike ([`logging`]).
//!
//! Nothing in this crate holds text read from an object: agent types, phases and source
//! types are enums, versions are rebuilt from their numbers, counts are integers.

#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod logging;
pub mod validate;

pub use logging::error_chain;

/// Schema v1, what reporters before Kelos support sent.
pub const SCHEMA_V1: &str = include_str!("../schema/report.v1.json");

/// Schema v2, what this reporter sends.
pub const SCHEMA_V2: &str = include_str!("../schema/report.v2.json");

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the format this reporter sends. Version 2 is version 1 plus the fields
/// marked "v2" below (the Kelos kinds and the API versions read); a collector accepts both.
pub const SCHEMA_VERSION: u32 = 2;

/// The first format, still accepted from older reporters.
pub const SCHEMA_VERSION_1: u32 = 1;

/// Reported for a version that is absent or does not look like a release.
pub const UNKNOWN_VERSION: &str = "unknown";

/// The largest count or token sum a report may carry (schema v1's `maximum`): a thousand
/// times any real cluster, and small enough that a collector's sums over millions of
/// installations stay exact in a `u64`.
pub const MAX_COUNT: u64 = 1_000_000_000_000_000;

/// The largest `usage.totalCostUsd` a report may carry (schema v1's `maximum`).
pub const MAX_COST_USD: f64 = 1_000_000_000_000.0;

/// One anonymous report. Field order is the JSON key order.
///
/// The `Option` fields are the ones schema v2 added: a v2 report has every one of them, a
/// v1 report none (the collector checks which, `collector::validate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    /// Lower-case and hyphenated, the one form the schemas' pattern allows.
    #[serde(deserialize_with = "hyphenated_uuid")]
    pub installation_id: Uuid,
    /// The Axon release, as `vMAJOR.MINOR.PATCH`, or `unknown`.
    pub version: String,
    pub reporter_version: String,
    /// The API server's release, as `vMAJOR.MINOR.PATCH`, or `unknown`.
    pub k8s_version: String,
    /// RFC 3339 in UTC, whole seconds (`2026-11-28T06:00:00Z`), as schema v1 requires.
    #[serde(deserialize_with = "whole_seconds_utc")]
    pub timestamp: Timestamp,
    /// v2: the API group versions that were read, in table order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Vec<ApiVersion>>,
    pub tasks: TaskCounts,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_spawners: Option<TaskSpawners>,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Sessions>,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_pools: Option<WorkerPools>,
    pub features: Features,
    pub scale: Scale,
    pub usage: Usage,
}

/// One API group version the reporter read its objects from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiVersion {
    pub group: ApiGroup,
    pub version: Version,
}

/// The operator's API groups: `axon.io` until v0.12.0, `kelos.dev` since v0.13.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ApiGroup {
    #[serde(rename = "axon.io")]
    Axon,
    #[serde(rename = "kelos.dev")]
    Kelos,
}

impl ApiGroup {
    pub fn name(self) -> &'static str {
        match self {
            ApiGroup::Axon => "axon.io",
            ApiGroup::Kelos => "kelos.dev",
        }
    }
}

/// The API versions the operator has served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1alpha1,
    V1alpha2,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V1alpha1 => "v1alpha1",
            Version::V1alpha2 => "v1alpha2",
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.group.name(), self.version.name())
    }
}

/// v2: TaskSpawners by the trigger that starts their Tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpawners {
    /// Only non-zero counts; they add up to `features.taskSpawners`.
    pub by_source: BTreeMap<SpawnerSource, u64>,
}

/// v2: interactive Sessions (`kelos.dev`, v0.46.0+).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sessions {
    pub total: u64,
    /// Only non-zero counts; they add up to `total`.
    pub by_type: BTreeMap<AgentType, u64>,
    /// Only non-zero counts; they add up to `total`.
    pub by_phase: BTreeMap<SessionPhase, u64>,
}

/// v2: WorkerPools (`kelos.dev`, v0.43.0+) and their replicas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerPools {
    pub total: u64,
    /// Only non-zero counts; they add up to `total`.
    pub by_phase: BTreeMap<WorkerPoolPhase, u64>,
    /// Sum of `.spec.replicas`, 1 where unset (the CRD's default).
    pub desired_replicas: u64,
    /// Sum of `.status.replicas`.
    pub current_replicas: u64,
    /// Sum of `.status.readyReplicas`.
    pub ready_replicas: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskCounts {
    pub total: u64,
    /// Only non-zero counts; they add up to `total`.
    pub by_type: BTreeMap<AgentType, u64>,
    /// Only non-zero counts; they add up to `total`.
    pub by_phase: BTreeMap<Phase, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Features {
    pub task_spawners: u64,
    pub agent_configs: u64,
    pub workspaces: u64,
    /// Sorted, each at most once (a list that repeats one does not deserialize).
    #[serde(deserialize_with = "unique_source_types")]
    pub source_types: BTreeSet<SourceType>,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_spawners: Option<u64>,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_budgets: Option<u64>,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_records: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scale {
    /// Distinct namespaces holding at least one Axon object.
    pub namespaces: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Usage {
    /// Summed in whole micro-dollars, so the total does not depend on list order.
    pub total_cost_usd: f64,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
}

/// A UUID in the form `Uuid` writes and the schemas' pattern allows
/// (`6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b`): `Uuid` alone would also take upper case,
/// braces, `urn:uuid:` and the form without hyphens.
fn hyphenated_uuid<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    let text = String::deserialize(deserializer)?;
    let uuid: Uuid = text
        .parse()
        .map_err(|e| serde::de::Error::custom(format!("UUID parsing failed: {e}")))?;
    if uuid.hyphenated().to_string() != text {
        return Err(serde::de::Error::custom(
            "expected a lower-case hyphenated UUID, e.g. 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
        ));
    }
    Ok(uuid)
}

/// Schema v1's timestamp shape, `YYYY-MM-DDTHH:MM:SSZ`: no offset, no fraction.
fn whole_seconds_utc<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    let shaped = text.len() == 20
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(serde::de::Error::custom(
            "expected a UTC time in whole seconds, e.g. 2026-11-28T06:00:00Z",
        ));
    }
    text.parse().map_err(serde::de::Error::custom)
}

/// Schema v1 says `uniqueItems`; a plain `BTreeSet` would drop a repeat silently.
fn unique_source_types<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeSet<SourceType>, D::Error> {
    let list = Vec::<SourceType>::deserialize(deserializer)?;
    let set: BTreeSet<SourceType> = list.iter().copied().collect();
    if set.len() != list.len() {
        return Err(serde::de::Error::custom(
            "each source type may appear only once",
        ));
    }
    Ok(set)
}

/// A Task's `.spec.type`. Anything outside the CRD's enum is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentType {
    ClaudeCode,
    Codex,
    Gemini,
    Opencode,
    Cursor,
    Other,
}

impl AgentType {
    pub const ALL: [AgentType; 6] = [
        AgentType::ClaudeCode,
        AgentType::Codex,
        AgentType::Gemini,
        AgentType::Opencode,
        AgentType::Cursor,
        AgentType::Other,
    ];

    /// Maps a `.spec.type` value, matched exactly as the CRD enum spells it.
    pub fn from_api(value: &str) -> AgentType {
        match value {
            "claude-code" => AgentType::ClaudeCode,
            "codex" => AgentType::Codex,
            "gemini" => AgentType::Gemini,
            "opencode" => AgentType::Opencode,
            "cursor" => AgentType::Cursor,
            _ => AgentType::Other,
        }
    }
}

/// A Task's `.status.phase`. Empty, missing or unrecognised is `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Waiting,
    Unknown,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Pending,
        Phase::Running,
        Phase::Succeeded,
        Phase::Failed,
        Phase::Waiting,
        Phase::Unknown,
    ];

    pub fn from_api(value: &str) -> Phase {
        match value {
            "Pending" => Phase::Pending,
            "Running" => Phase::Running,
            "Succeeded" => Phase::Succeeded,
            "Failed" => Phase::Failed,
            "Waiting" => Phase::Waiting,
            _ => Phase::Unknown,
        }
    }
}

/// Which kind of trigger a TaskSpawner's `.spec.when` holds. Declared in alphabetical
/// order, so the sorted set serializes alphabetically. Schema v1 knows only `cron`,
/// `github`, `jira` and `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    Cron,
    Github,
    Jira,
    Linear,
    Other,
    Slack,
    Webhook,
}

impl SourceType {
    pub const ALL: [SourceType; 7] = [
        SourceType::Cron,
        SourceType::Github,
        SourceType::Jira,
        SourceType::Linear,
        SourceType::Other,
        SourceType::Slack,
        SourceType::Webhook,
    ];

    /// Maps a key of `.spec.when`; keys this reporter does not know are `Other`.
    pub fn from_when_key(key: &str) -> SourceType {
        SpawnerSource::from_when_key(key).source_type()
    }

    /// Whether schema v1 has this value.
    pub fn in_v1(self) -> bool {
        matches!(
            self,
            SourceType::Cron | SourceType::Github | SourceType::Jira | SourceType::Other
        )
    }
}

/// v2: the `.spec.when` key a TaskSpawner is counted under, spelled as the CRD spells it.
/// Declared in the order the keys are looked for: a spawner with several keys counts under
/// the first (the order Kelos' own telemetry uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SpawnerSource {
    GithubIssues,
    GithubPullRequests,
    GithubWebhook,
    LinearWebhook,
    Webhook,
    Cron,
    Jira,
    Slack,
    Other,
}

impl SpawnerSource {
    pub const ALL: [SpawnerSource; 9] = [
        SpawnerSource::GithubIssues,
        SpawnerSource::GithubPullRequests,
        SpawnerSource::GithubWebhook,
        SpawnerSource::LinearWebhook,
        SpawnerSource::Webhook,
        SpawnerSource::Cron,
        SpawnerSource::Jira,
        SpawnerSource::Slack,
        SpawnerSource::Other,
    ];

    /// Maps a key of `.spec.when`, matched exactly as the CRD spells it.
    pub fn from_when_key(key: &str) -> SpawnerSource {
        match key {
            "githubIssues" => SpawnerSource::GithubIssues,
            "githubPullRequests" => SpawnerSource::GithubPullRequests,
            "githubWebhook" => SpawnerSource::GithubWebhook,
            "linearWebhook" => SpawnerSource::LinearWebhook,
            "webhook" => SpawnerSource::Webhook,
            "cron" => SpawnerSource::Cron,
            "jira" => SpawnerSource::Jira,
            "slack" => SpawnerSource::Slack,
            _ => SpawnerSource::Other,
        }
    }

    /// The broader source type `features.sourceTypes` counts this key under.
    pub fn source_type(self) -> SourceType {
        match self {
            SpawnerSource::GithubIssues
            | SpawnerSource::GithubPullRequests
            | SpawnerSource::GithubWebhook => SourceType::Github,
            SpawnerSource::LinearWebhook => SourceType::Linear,
            SpawnerSource::Webhook => SourceType::Webhook,
            SpawnerSource::Cron => SourceType::Cron,
            SpawnerSource::Jira => SourceType::Jira,
            SpawnerSource::Slack => SourceType::Slack,
            SpawnerSource::Other => SourceType::Other,
        }
    }
}

/// v2: a Session's `.status.phase`. Empty, missing or unrecognised is `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SessionPhase {
    Pending,
    Ready,
    Suspended,
    Failed,
    Unknown,
}

impl SessionPhase {
    pub const ALL: [SessionPhase; 5] = [
        SessionPhase::Pending,
        SessionPhase::Ready,
        SessionPhase::Suspended,
        SessionPhase::Failed,
        SessionPhase::Unknown,
    ];

    pub fn from_api(value: &str) -> SessionPhase {
        match value {
            "Pending" => SessionPhase::Pending,
            "Ready" => SessionPhase::Ready,
            "Suspended" => SessionPhase::Suspended,
            "Failed" => SessionPhase::Failed,
            _ => SessionPhase::Unknown,
        }
    }
}

/// v2: a WorkerPool's `.status.phase` (a CRD enum). Empty, missing or unrecognised is
/// `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WorkerPoolPhase {
    Pending,
    Ready,
    Scaling,
    Failed,
    Unknown,
}

impl WorkerPoolPhase {
    pub const ALL: [WorkerPoolPhase; 5] = [
        WorkerPoolPhase::Pending,
        WorkerPoolPhase::Ready,
        WorkerPoolPhase::Scaling,
        WorkerPoolPhase::Failed,
        WorkerPoolPhase::Unknown,
    ];

    pub fn from_api(value: &str) -> WorkerPoolPhase {
        match value {
            "Pending" => WorkerPoolPhase::Pending,
            "Ready" => WorkerPoolPhase::Ready,
            "Scaling" => WorkerPoolPhase::Scaling,
            "Failed" => WorkerPoolPhase::Failed,
            _ => WorkerPoolPhase::Unknown,
        }
    }
}

/// A vocabulary value as reports spell it (`claude-code`, `Succeeded`, `cron`).
pub fn spelling(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Reduces a version string to `vMAJOR.MINOR.PATCH`, keeping only a standard pre-release
/// tag (`-alpha`, `-beta`, `-rc`, optionally `.N`), so that a custom build tag or a
/// provider suffix (`-eks-a737599`, `+k3s2`) cannot carry a name out of the cluster.
/// Anything else is [`UNKNOWN_VERSION`].
pub fn release_version(raw: &str) -> String {
    parse_release(raw).unwrap_or_else(|| UNKNOWN_VERSION.to_owned())
}

fn parse_release(raw: &str) -> Option<String> {
    // Long enough for any real version; longer input is not a version.
    const MAX_VERSION_LEN: usize = 64;
    if raw.len() > MAX_VERSION_LEN {
        return None;
    }
    let rest = raw.strip_prefix('v').unwrap_or(raw);
    let (major, rest) = leading_number(rest)?;
    let (minor, rest) = leading_number(rest.strip_prefix('.')?)?;
    let (patch, rest) = leading_number(rest.strip_prefix('.')?)?;
    let pre = match rest.chars().next() {
        None | Some('+') => String::new(),
        Some('-') => standard_prerelease(&rest[1..]).unwrap_or_default(),
        Some(_) => return None,
    };
    Some(format!("v{major}.{minor}.{patch}{pre}"))
}

/// Splits off a decimal number of at most 9 digits.
fn leading_number(s: &str) -> Option<(u32, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    Some((s[..digits].parse().ok()?, &s[digits..]))
}

/// `alpha`, `beta` or `rc`, with an optional `.N`, at the start of a pre-release.
fn standard_prerelease(pre: &str) -> Option<String> {
    let tag = ["alpha", "beta", "rc"].into_iter().find(|t| {
        pre.strip_prefix(t)
            .is_some_and(|r| r.is_empty() || r.starts_with(['.', '-', '+']))
    })?;
    let after = &pre[tag.len()..];
    match after.strip_prefix('.').and_then(leading_number) {
        Some((n, _)) => Some(format!("-{tag}.{n}")),
        None => Some(format!("-{tag}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_types_outside_the_crd_enum_are_other() {
        assert_eq!(AgentType::from_api("claude-code"), AgentType::ClaudeCode);
        assert_eq!(AgentType::from_api("cursor"), AgentType::Cursor);
        assert_eq!(AgentType::from_api("Claude-Code"), AgentType::Other);
        assert_eq!(AgentType::from_api(""), AgentType::Other);
        assert_eq!(AgentType::from_api("my-secret-agent"), AgentType::Other);
    }

    #[test]
    fn phases_outside_the_vocabulary_are_unknown() {
        assert_eq!(Phase::from_api("Succeeded"), Phase::Succeeded);
        assert_eq!(Phase::from_api(""), Phase::Unknown);
        assert_eq!(Phase::from_api("succeeded"), Phase::Unknown);
        assert_eq!(Phase::from_api("Exploded"), Phase::Unknown);
    }

    #[test]
    fn when_keys_map_to_source_types() {
        assert_eq!(
            SourceType::from_when_key("githubIssues"),
            SourceType::Github
        );
        assert_eq!(SourceType::from_when_key("cron"), SourceType::Cron);
        assert_eq!(SourceType::from_when_key("jira"), SourceType::Jira);
        assert_eq!(
            SourceType::from_when_key("githubPullRequests"),
            SourceType::Github
        );
        assert_eq!(
            SourceType::from_when_key("linearWebhook"),
            SourceType::Linear
        );
        assert_eq!(SourceType::from_when_key("GithubIssues"), SourceType::Other);
    }

    #[test]
    fn vocabulary_serializes_as_the_api_spells_it() {
        let types = serde_json::to_string(&AgentType::ALL).unwrap();
        assert_eq!(
            types,
            r#"["claude-code","codex","gemini","opencode","cursor","other"]"#
        );
        let phases = serde_json::to_string(&Phase::ALL).unwrap();
        assert_eq!(
            phases,
            r#"["Pending","Running","Succeeded","Failed","Waiting","Unknown"]"#
        );
        let sources: BTreeSet<_> = SourceType::ALL.into_iter().rev().collect();
        assert_eq!(
            serde_json::to_string(&sources).unwrap(),
            r#"["cron","github","jira","linear","other","slack","webhook"]"#
        );
        let by_source: BTreeMap<_, u64> = SpawnerSource::ALL.into_iter().map(|s| (s, 1)).collect();
        assert_eq!(
            serde_json::to_string(&by_source).unwrap(),
            concat!(
                r#"{"githubIssues":1,"githubPullRequests":1,"githubWebhook":1,"linearWebhook":1,"#,
                r#""webhook":1,"cron":1,"jira":1,"slack":1,"other":1}"#
            )
        );
        let api = ApiVersion {
            group: ApiGroup::Kelos,
            version: Version::V1alpha2,
        };
        assert_eq!(
            serde_json::to_string(&api).unwrap(),
            r#"{"group":"kelos.dev","version":"v1alpha2"}"#
        );
    }

    #[test]
    fn v1_reports_serialize_with_a_stable_key_order() {
        let report = Report {
            schema_version: SCHEMA_VERSION_1,
            installation_id: Uuid::nil(),
            version: "v0.5.0".into(),
            reporter_version: "0.1.0".into(),
            k8s_version: "v1.33.2".into(),
            timestamp: "2026-11-28T06:00:00Z".parse().unwrap(),
            api: None,
            task_spawners: None,
            sessions: None,
            worker_pools: None,
            tasks: TaskCounts {
                total: 3,
                by_type: [(AgentType::Other, 1), (AgentType::ClaudeCode, 2)].into(),
                by_phase: [(Phase::Unknown, 1), (Phase::Pending, 2)].into(),
            },
            features: Features {
                task_spawners: 1,
                agent_configs: 0,
                workspaces: 2,
                source_types: [SourceType::Jira, SourceType::Cron].into(),
                session_spawners: None,
                task_budgets: None,
                task_records: None,
            },
            scale: Scale { namespaces: 2 },
            usage: Usage {
                total_cost_usd: 0.5,
                total_input_tokens: 10,
                total_output_tokens: 20,
            },
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            concat!(
                r#"{"schemaVersion":1,"installationId":"00000000-0000-0000-0000-000000000000","#,
                r#""version":"v0.5.0","reporterVersion":"0.1.0","k8sVersion":"v1.33.2","#,
                r#""timestamp":"2026-11-28T06:00:00Z","#,
                r#""tasks":{"total":3,"byType":{"claude-code":2,"other":1},"byPhase":{"Pending":2,"Unknown":1}},"#,
                r#""features":{"taskSpawners":1,"agentConfigs":0,"workspaces":2,"sourceTypes":["cron","jira"]},"#,
                r#""scale":{"namespaces":2},"#,
                r#""usage":{"totalCostUsd":0.5,"totalInputTokens":10,"totalOutputTokens":20}}"#
            )
        );
        let back: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn release_versions_keep_only_numbers_and_standard_prereleases() {
        let cases = [
            ("v1.33.2", "v1.33.2"),
            ("1.33.2", "v1.33.2"),
            ("v1.30.4-eks-a737599", "v1.30.4"),
            ("v1.29.6+k3s2", "v1.29.6"),
            ("v1.31.1-gke.1146000", "v1.31.1"),
            ("v1.31.0-rc.1", "v1.31.0-rc.1"),
            ("v1.33.0-alpha.2.123+abcdef", "v1.33.0-alpha.2"),
            ("v0.5.0-beta", "v0.5.0-beta"),
            ("v0.5.0-betamax", "v0.5.0"),
            ("v0.5.0-acme-corp-build", "v0.5.0"),
            ("", "unknown"),
            ("latest", "unknown"),
            ("main", "unknown"),
            ("v1.2", "unknown"),
            ("v1.2.3secret", "unknown"),
            ("v1.2.3.4", "unknown"),
            ("v1234567890.0.0", "unknown"),
        ];
        for (raw, want) in cases {
            assert_eq!(release_version(raw), want, "{raw:?}");
        }
        assert_eq!(
            release_version(&format!("v1.2.3-rc.1+{}", "x".repeat(80))),
            "unknown"
        );
    }
}
