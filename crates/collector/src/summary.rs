//! `GET /v1/summary`: what the stored reports say, over a window of days.
//!
//! Counts of objects and usage sums are totals of what exists in each cluster, not
//! increments, so they are never added across days: each installation counts once, with
//! its latest report in the window. Only the daily series and the active counts look at
//! every day.
//!
//! Sums over installations are [`Sum`]s (`u128`): a report may carry counts up to 10^15
//! and costs up to 10^18 micro-dollars, so a `u64` total overflows after a few thousand
//! such reports, where a `u128` one stays exact for more reports than can be stored.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::store::{self, Database};
use crate::report::{
    AgentType, Phase, Report, SCHEMA_VERSION, SCHEMA_VERSION_1, SessionPhase, SourceType,
    SpawnerSource, WorkerPoolPhase,
};

/// The longest window `?days=` accepts: a year of daily points is still one page.
pub const MAX_DAYS: u32 = 365;
pub const DEFAULT_DAYS: u32 = 30;

/// Upper bounds of the namespace-count buckets; the last bucket is open.
const NAMESPACE_BUCKETS: [(u64, &str); 5] = [
    (0, "0"),
    (1, "1"),
    (5, "2-5"),
    (20, "6-20"),
    (100, "21-100"),
];
const NAMESPACE_TOP_BUCKET: &str = "101+";

/// A total over installations: exact whatever the reports hold (see the module's docs).
pub type Sum = u128;

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub generated_at: Timestamp,
    pub window: Window,
    /// Installations with a report on any of the last 1, 7 and 30 days (today included),
    /// whatever the window.
    pub active: Active,
    /// Installations with a report in the window: the denominator of every share below.
    pub installations: u64,
    /// Installations by the schema version of their latest report: `1` from reporters
    /// before Kelos support, which carry none of the v2 figures below.
    pub schema_versions: BTreeMap<u32, u64>,
    /// Installations per API group version read (schema v2 reports only): who still runs
    /// `axon.io`, or reads Kelos' deprecated `v1alpha1`.
    pub apis: BTreeMap<String, u64>,
    pub daily_active: Vec<DailyActive>,
    pub versions: Versions,
    pub agent_types: BTreeMap<AgentType, AgentTypeUse>,
    pub phases: BTreeMap<Phase, Sum>,
    /// TaskSpawners by the `.spec.when` key they count under (schema v2 reports only).
    pub spawner_sources: BTreeMap<SpawnerSource, Sum>,
    /// Sessions summed (schema v2 reports only).
    pub sessions: SessionTotals,
    /// WorkerPools summed (schema v2 reports only).
    pub worker_pools: WorkerPoolTotals,
    pub features: Features,
    pub namespaces: Vec<Bucket>,
    /// Summed as the reports carry them.
    pub usage: UsageTotals,
}

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    /// Summed in micro-dollars; written as exact US dollars (`1.25`).
    #[serde(rename = "totalCostUsd", serialize_with = "micros_as_dollars")]
    pub total_cost_micros: Sum,
    pub total_input_tokens: Sum,
    pub total_output_tokens: Sum,
}

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionTotals {
    pub total: Sum,
    pub by_type: BTreeMap<AgentType, Sum>,
    pub by_phase: BTreeMap<SessionPhase, Sum>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPoolTotals {
    pub total: Sum,
    pub by_phase: BTreeMap<WorkerPoolPhase, Sum>,
    pub desired_replicas: Sum,
    pub current_replicas: Sum,
    pub ready_replicas: Sum,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub days: u32,
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Active {
    pub last1_day: u64,
    pub last7_days: u64,
    pub last30_days: u64,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct DailyActive {
    pub day: Date,
    pub installations: u64,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Versions {
    pub axon: Vec<VersionShare>,
    pub kubernetes: Vec<VersionShare>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct VersionShare {
    pub version: String,
    pub installations: u64,
}

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct AgentTypeUse {
    /// Installations with at least one Task of this type.
    pub installations: u64,
    pub tasks: Sum,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    pub task_spawners: Adoption,
    pub agent_configs: Adoption,
    pub workspaces: Adoption,
    pub source_types: BTreeMap<SourceType, Adoption>,
    /// The features only schema v2 reports: shares of the installations that sent v2.
    pub sessions: Adoption,
    pub worker_pools: Adoption,
    pub session_spawners: Adoption,
    pub task_budgets: Adoption,
    pub task_records: Adoption,
}

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Adoption {
    pub installations: u64,
    /// Of `installations` in the window, one decimal.
    pub percent: f64,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Bucket {
    pub namespaces: &'static str,
    pub installations: u64,
}

/// Reads the window ending `today` and summarises it.
pub async fn build(
    db: &Database,
    today: Date,
    days: u32,
    now: Timestamp,
) -> store::Result<Summary> {
    let from = first_day(today, days);
    let active_since = |n| db.active_installations(first_day(today, n), today);
    let active = Active {
        last1_day: active_since(1).await?,
        last7_days: active_since(7).await?,
        last30_days: active_since(30).await?,
    };
    let daily = db.daily_actives(from, today).await?;
    let latest = db.latest_reports(from, today).await?;
    let reports = latest.iter().filter_map(|json| {
        // Every row was written from a validated report; one that no longer parses would
        // come from a hand-edited database, and is left out rather than failing the page.
        serde_json::from_str::<Report>(json).ok()
    });
    Ok(summarise(
        reports,
        &daily,
        Window {
            days,
            from,
            to: today,
        },
        active,
        now,
    ))
}

/// The first day of a window of `days` days ending `today`.
fn first_day(today: Date, days: u32) -> Date {
    let back = i64::from(days.saturating_sub(1));
    today
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(today)
}

fn summarise<'a>(
    reports: impl Iterator<Item = Report> + 'a,
    daily: &[(Date, u64)],
    window: Window,
    active: Active,
    now: Timestamp,
) -> Summary {
    let mut installations = 0u64;
    let mut axon = BTreeMap::<String, u64>::new();
    let mut kubernetes = BTreeMap::<String, u64>::new();
    let mut agent_types: BTreeMap<AgentType, AgentTypeUse> = AgentType::ALL
        .into_iter()
        .map(|t| (t, AgentTypeUse::default()))
        .collect();
    let mut phases: BTreeMap<Phase, Sum> = Phase::ALL.into_iter().map(|p| (p, 0)).collect();
    let [mut spawners, mut configs, mut workspaces] = [0u64; 3];
    let mut sources: BTreeMap<SourceType, u64> =
        SourceType::ALL.into_iter().map(|s| (s, 0)).collect();
    let mut schema_versions: BTreeMap<u32, u64> =
        [(SCHEMA_VERSION_1, 0), (SCHEMA_VERSION, 0)].into();
    let mut apis: BTreeMap<String, u64> = crate::report::api::GROUPS
        .iter()
        .flat_map(|g| g.versions)
        .map(|api| (api.id().to_string(), 0))
        .collect();
    let mut spawner_sources: BTreeMap<SpawnerSource, Sum> =
        SpawnerSource::ALL.into_iter().map(|s| (s, 0)).collect();
    let mut sessions = SessionTotals {
        by_type: AgentType::ALL.into_iter().map(|t| (t, 0)).collect(),
        by_phase: SessionPhase::ALL.into_iter().map(|p| (p, 0)).collect(),
        ..SessionTotals::default()
    };
    let mut worker_pools = WorkerPoolTotals {
        by_phase: WorkerPoolPhase::ALL.into_iter().map(|p| (p, 0)).collect(),
        ..WorkerPoolTotals::default()
    };
    // Installations using each v2-only feature: Sessions, WorkerPools, SessionSpawners,
    // TaskBudgets, TaskRecords.
    let mut v2_features = [0u64; 5];
    let mut buckets = [0u64; NAMESPACE_BUCKETS.len() + 1];
    let mut usage = UsageTotals::default();

    for report in reports {
        installations += 1;
        *schema_versions.entry(report.schema_version).or_default() += 1;
        for api in report.api.iter().flatten() {
            *apis.entry(api.to_string()).or_default() += 1;
        }
        if let Some(spawners) = &report.task_spawners {
            add_all(&mut spawner_sources, &spawners.by_source);
        }
        if let Some(reported) = &report.sessions {
            sessions.total += Sum::from(reported.total);
            add_all(&mut sessions.by_type, &reported.by_type);
            add_all(&mut sessions.by_phase, &reported.by_phase);
        }
        if let Some(pools) = &report.worker_pools {
            worker_pools.total += Sum::from(pools.total);
            add_all(&mut worker_pools.by_phase, &pools.by_phase);
            for (sum, n) in [
                (&mut worker_pools.desired_replicas, pools.desired_replicas),
                (&mut worker_pools.current_replicas, pools.current_replicas),
                (&mut worker_pools.ready_replicas, pools.ready_replicas),
            ] {
                *sum += Sum::from(n);
            }
        }
        let features = &report.features;
        for (used, count) in v2_features.iter_mut().zip([
            report.sessions.as_ref().map(|s| s.total),
            report.worker_pools.as_ref().map(|p| p.total),
            features.session_spawners,
            features.task_budgets,
            features.task_records,
        ]) {
            *used += u64::from(count.unwrap_or(0) > 0);
        }
        *axon.entry(report.version).or_default() += 1;
        *kubernetes.entry(report.k8s_version).or_default() += 1;
        for (agent, n) in report.tasks.by_type {
            let entry = agent_types.entry(agent).or_default();
            entry.installations += 1;
            entry.tasks += Sum::from(n);
        }
        add_all(&mut phases, &report.tasks.by_phase);
        spawners += u64::from(features.task_spawners > 0);
        configs += u64::from(features.agent_configs > 0);
        workspaces += u64::from(features.workspaces > 0);
        for source in &features.source_types {
            *sources.entry(*source).or_default() += 1;
        }
        let bucket = NAMESPACE_BUCKETS
            .iter()
            .position(|&(max, _)| report.scale.namespaces <= max)
            .unwrap_or(NAMESPACE_BUCKETS.len());
        buckets[bucket] += 1;
        // Micro-dollars, as the reporter sums them: the total does not depend on row order.
        // A valid report's cost is at most 10^12 dollars, 10^18 micro-dollars: a u64.
        usage.total_cost_micros += Sum::from((report.usage.total_cost_usd * 1e6).round() as u64);
        usage.total_input_tokens += Sum::from(report.usage.total_input_tokens);
        usage.total_output_tokens += Sum::from(report.usage.total_output_tokens);
    }

    let adoption = |n: u64| Adoption {
        installations: n,
        percent: percent(n, installations),
    };
    let v2_installations = schema_versions.get(&SCHEMA_VERSION).copied().unwrap_or(0);
    let v2_adoption = |n: u64| Adoption {
        installations: n,
        percent: percent(n, v2_installations),
    };
    let [
        with_sessions,
        with_pools,
        with_session_spawners,
        with_budgets,
        with_records,
    ] = v2_features;
    let per_day: BTreeMap<Date, u64> = daily.iter().copied().collect();
    let daily_active = days_of(&window)
        .map(|day| DailyActive {
            day,
            installations: per_day.get(&day).copied().unwrap_or(0),
        })
        .collect();
    let names = NAMESPACE_BUCKETS
        .iter()
        .map(|&(_, name)| name)
        .chain([NAMESPACE_TOP_BUCKET]);
    Summary {
        generated_at: now,
        active,
        installations,
        schema_versions,
        apis,
        daily_active,
        versions: Versions {
            axon: by_share(axon),
            kubernetes: by_share(kubernetes),
        },
        agent_types,
        phases,
        spawner_sources,
        sessions,
        worker_pools,
        features: Features {
            task_spawners: adoption(spawners),
            agent_configs: adoption(configs),
            workspaces: adoption(workspaces),
            source_types: sources.into_iter().map(|(s, n)| (s, adoption(n))).collect(),
            sessions: v2_adoption(with_sessions),
            worker_pools: v2_adoption(with_pools),
            session_spawners: v2_adoption(with_session_spawners),
            task_budgets: v2_adoption(with_budgets),
            task_records: v2_adoption(with_records),
        },
        namespaces: names
            .zip(buckets)
            .map(|(namespaces, installations)| Bucket {
                namespaces,
                installations,
            })
            .collect(),
        usage,
        window,
    }
}

/// Adds each count of `counts` to `sums`.
fn add_all<K: Ord + Copy>(sums: &mut BTreeMap<K, Sum>, counts: &BTreeMap<K, u64>) {
    for (key, n) in counts {
        *sums.entry(*key).or_default() += Sum::from(*n);
    }
}

/// Micro-dollars as an exact decimal JSON number of dollars: `1250000` is `1.25`, `0` is
/// `0.0` (a number with a point, as a float would be written, so readers see one type).
fn micros_as_dollars<S: serde::Serializer>(micros: &Sum, serializer: S) -> Result<S::Ok, S::Error> {
    let (dollars, fraction) = (micros / 1_000_000, micros % 1_000_000);
    let fraction = format!("{fraction:06}");
    let fraction = fraction.trim_end_matches('0');
    let text = format!(
        "{dollars}.{}",
        if fraction.is_empty() { "0" } else { fraction }
    );
    serde_json::value::RawValue::from_string(text)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

fn days_of(window: &Window) -> impl Iterator<Item = Date> + '_ {
    window
        .from
        .series(jiff::Span::new().days(1))
        .take_while(|d| *d <= window.to)
}

/// Most installations first; ties in version order, so the list is stable.
fn by_share(counts: BTreeMap<String, u64>) -> Vec<VersionShare> {
    let mut shares: Vec<VersionShare> = counts
        .into_iter()
        .map(|(version, installations)| VersionShare {
            version,
            installations,
        })
        .collect();
    shares.sort_by_key(|s| std::cmp::Reverse(s.installations));
    shares
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_to_one_decimal() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.7);
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(5, 5), 100.0);
    }

    #[test]
    fn windows_end_today_and_count_today() {
        let today: Date = "2026-11-28".parse().unwrap();
        assert_eq!(first_day(today, 1), today);
        assert_eq!(first_day(today, 7), "2026-11-22".parse::<Date>().unwrap());
        assert_eq!(first_day(today, 30), "2026-10-30".parse::<Date>().unwrap());
    }

    /// Reports at the schema's maximum everywhere: a report passes the collector's checks
    /// with these values, and 20,000 of them overflow every `u64` total.
    #[test]
    fn totals_of_many_reports_at_the_maximum_are_exact() {
        const REPORTS: u128 = 20_000;
        let max = crate::report::MAX_COUNT;
        let report: Report = serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "installationId": "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
            "version": "v0.52.0",
            "reporterVersion": "v0.1.0",
            "k8sVersion": "v1.34.1",
            "timestamp": "2026-11-28T06:00:00Z",
            "api": [{"group": "kelos.dev", "version": "v1alpha2"}],
            "tasks": {"total": max, "byType": {"codex": max}, "byPhase": {"Running": max}},
            "taskSpawners": {"bySource": {"cron": max}},
            "sessions": {"total": max, "byType": {"codex": max}, "byPhase": {"Ready": max}},
            "workerPools": {"total": max, "byPhase": {"Ready": max}, "desiredReplicas": max,
                            "currentReplicas": max, "readyReplicas": max},
            "features": {"taskSpawners": max, "agentConfigs": max, "workspaces": max,
                         "sourceTypes": ["cron"], "sessionSpawners": max, "taskBudgets": max,
                         "taskRecords": max},
            "scale": {"namespaces": max},
            "usage": {"totalCostUsd": crate::report::MAX_COST_USD, "totalInputTokens": max,
                      "totalOutputTokens": max}
        }))
        .unwrap();
        let today: Date = "2026-11-28".parse().unwrap();
        let summary = summarise(
            std::iter::repeat_n(report, REPORTS as usize),
            &[],
            Window {
                days: 1,
                from: today,
                to: today,
            },
            Active {
                last1_day: 0,
                last7_days: 0,
                last30_days: 0,
            },
            "2026-11-28T12:00:00Z".parse().unwrap(),
        );
        let total = REPORTS * u128::from(max);
        assert!(total > u128::from(u64::MAX));
        assert_eq!(summary.agent_types[&AgentType::Codex].tasks, total);
        assert_eq!(summary.phases[&Phase::Running], total);
        assert_eq!(summary.spawner_sources[&SpawnerSource::Cron], total);
        assert_eq!(summary.sessions.total, total);
        assert_eq!(summary.worker_pools.ready_replicas, total);
        // 20,000 times 10^12 dollars, exactly; a u64 of micro-dollars stops at 1.8 * 10^13.
        assert_eq!(
            serde_json::to_string(&summary.usage).unwrap(),
            r#"{"totalCostUsd":20000000000000000.0,"totalInputTokens":20000000000000000000,"totalOutputTokens":20000000000000000000}"#
        );
    }

    #[test]
    fn costs_are_written_as_exact_dollars() {
        let text = |micros: Sum| {
            serde_json::to_string(&UsageTotals {
                total_cost_micros: micros,
                ..UsageTotals::default()
            })
            .unwrap()
        };
        assert!(text(0).starts_with(r#"{"totalCostUsd":0.0,"#));
        assert!(text(1_250_000).starts_with(r#"{"totalCostUsd":1.25,"#));
        assert!(text(12_300).starts_with(r#"{"totalCostUsd":0.0123,"#));
        assert!(text(1).starts_with(r#"{"totalCostUsd":0.000001,"#));
    }
}
