//! Pages in, aggregates out: lists each Axon kind cluster-wide page by page, folds every
//! object into counts as it is decoded, and keeps nothing else. Memory does not grow with
//! the number of objects, only with the number of distinct namespaces (8 bytes each).

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use tracing::{debug, info, warn};

use crate::axon::{Api, Kind};
use crate::json;
use crate::kube::{self, Kube};
use crate::objects::{self, Decimal, Field, Metadata, NamespaceHash, Tally};
use crate::report::{self, AgentType, Features, Phase, Scale, SourceType, TaskCounts, Usage};

/// How often one kind's list may start over after its continue token expired (410 Gone).
/// An expiry means the list took longer than the API server keeps a snapshot (5 minutes
/// by default); more restarts would most likely expire again.
pub const MAX_LIST_RESTARTS: u32 = 3;

/// The largest cost one Task may report. No agent run costs a million dollars: a larger
/// value is corrupt and would swamp every real sum.
pub const MAX_TASK_COST_USD: f64 = 1_000_000.0;

/// The largest token count one Task may report, for the same reason.
pub const MAX_TASK_TOKENS: u64 = 1_000_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "listing {crd} cluster-wide was forbidden: the reporter's service account needs a \
         ClusterRole rule {{apiGroups: [{group}], resources: [{plural}], verbs: [list]}} \
         (the chart creates it unless rbac.create=false)"
    )]
    Forbidden {
        crd: String,
        group: &'static str,
        plural: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("listing {crd} failed")]
    List {
        crd: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "listing {crd}: the continue token expired {restarts} times in a row (410 Gone); \
         the API server drops list snapshots faster than this cluster can be listed"
    )]
    Expired { crd: String, restarts: u32 },
    #[error("listing {crd}: page {page} is not a valid Kubernetes List")]
    Decode {
        crd: String,
        page: u64,
        #[source]
        source: json::Error,
    },
}

/// Everything the report says about the cluster's objects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregates {
    pub tasks: TaskCounts,
    pub features: Features,
    pub scale: Scale,
    pub usage: Usage,
}

/// Lists every kind of `api` and aggregates it. A kind whose CRD is not installed counts 0.
pub async fn aggregate(kube: &Kube, api: &Api, page_size: u32) -> Result<Aggregates, Error> {
    let tasks: TaskTally = list(kube, api, Kind::Task, page_size).await?;
    let spawners: SpawnerTally = list(kube, api, Kind::TaskSpawner, page_size).await?;
    let agent_configs: CountTally = list(kube, api, Kind::AgentConfig, page_size).await?;
    let workspaces: CountTally = list(kube, api, Kind::Workspace, page_size).await?;

    tasks.usage.log_skipped();
    let namespaces: Namespaces = [
        &tasks.common,
        &spawners.common,
        &agent_configs.common,
        &workspaces.common,
    ]
    .into_iter()
    .flat_map(|c| c.namespaces.iter().copied())
    .collect();
    let aggregates = Aggregates {
        tasks: tasks.counts(),
        features: Features {
            task_spawners: spawners.common.objects,
            agent_configs: agent_configs.common.objects,
            workspaces: workspaces.common.objects,
            source_types: spawners.sources,
        },
        scale: Scale {
            namespaces: namespaces.len() as u64,
        },
        usage: tasks.usage.totals(),
    };
    info!(
        "collected Tasks: {}, TaskSpawners: {}, AgentConfigs: {}, Workspaces: {}, namespaces: {}",
        aggregates.tasks.total,
        aggregates.features.task_spawners,
        aggregates.features.agent_configs,
        aggregates.features.workspaces,
        aggregates.scale.namespaces
    );
    Ok(aggregates)
}

/// Lists one kind cluster-wide. The list starts over when its continue token expires; a
/// page over [`kube::MAX_PAGE_BYTES`] is fetched again with half the limit. Returns an
/// empty tally when the CRD is not installed.
///
/// Pipelined: a [`Fetcher`] task runs ahead, requesting each next page with the token read
/// off the end of the page before it ([`objects::peek_continue`]), so the API server
/// produces page k+1 while page k is decoded. The decoded token has the final word: a page
/// fetched under any other token is dropped and the fetcher restarted at the right one.
/// At most [`PAGES_AHEAD`] + 2 pages are in memory.
///
/// Pages are decoded right here, on the runtime's one thread, not on a thread of their
/// own. While a page is decoded (0.6–0.7 ms for 500 Tasks) the next one collects in the
/// socket's kernel buffer, and the fetcher reads it in a few large reads as soon as the
/// decoder awaits. Against decoding on a thread of its own, that measured 12–16% less CPU
/// and 9–13% less wall time (BENCHMARKS.md): fewer wake-ups, and no page crossing cores.
async fn list<T: KindTally>(
    kube: &Kube,
    api: &Api,
    kind: Kind,
    page_size: u32,
) -> Result<T, Error> {
    let Some(resource) = api.resource(kind) else {
        return Ok(T::default());
    };
    let path = api.list_path(resource);
    let crd = api.crd_name(resource);
    let request = format!("listing {crd}");
    let buffers = Buffers::default();
    let fetch_from = |limit, token: Option<String>| {
        Fetcher::start(kube, &request, &path, limit, token, &buffers)
    };
    let mut limit = page_size;
    let mut restarts = 0;
    'list: loop {
        let mut tally = T::default();
        let mut token: Option<String> = None;
        let mut fetcher = fetch_from(limit, None);
        let mut pages = 0;
        loop {
            let page = match fetcher.next().await {
                Some(fetched) if fetched.token == token => fetched.page,
                // The fetcher guessed a token other than the decoded one, or stopped early.
                _ => {
                    fetcher = fetch_from(limit, token.clone());
                    continue;
                }
            };
            let page = match page {
                Ok(page) => page,
                Err(kube::Error::TooLarge { .. }) if limit > 1 => {
                    limit /= 2;
                    warn!(
                        "{request}: a page exceeded {} bytes; fetching it again with limit {limit}",
                        kube::MAX_PAGE_BYTES
                    );
                    fetcher = fetch_from(limit, token.clone());
                    continue;
                }
                Err(e) if e.status_code() == Some(404) => {
                    warn!(
                        "CRD {crd} is not installed (the API server answered 404 for {path}): counting 0 {}s",
                        kind.name()
                    );
                    return Ok(T::default());
                }
                Err(e) if e.status_code() == Some(403) => {
                    let (group, plural) = (api.group, resource.plural);
                    return Err(Error::Forbidden {
                        crd,
                        group,
                        plural,
                        source: e,
                    });
                }
                Err(e) if e.status_code() == Some(410) => {
                    restarts += 1;
                    if restarts > MAX_LIST_RESTARTS {
                        return Err(Error::Expired {
                            crd,
                            restarts: restarts - 1,
                        });
                    }
                    warn!(
                        "{request}: the continue token expired (410 Gone) after {pages} pages; \
                         listing again from the start (restart {restarts} of {MAX_LIST_RESTARTS})"
                    );
                    continue 'list;
                }
                Err(source) => return Err(Error::List { crd, source }),
            };
            pages += 1;
            let bytes = page.len();
            // One turn for the fetcher (and the client's tasks under it) first, so that the
            // request for the next page is on the wire before this thread is busy.
            tokio::task::yield_now().await;
            let meta = objects::decode_page(&page, &mut tally);
            buffers.give_back(page);
            let meta = meta.map_err(|source| Error::Decode {
                crd: crd.clone(),
                page: pages,
                source,
            })?;
            debug!(
                "{request}: page {pages}: {} objects in {bytes} bytes",
                meta.items
            );
            match meta.continue_token {
                Some(next) => token = Some(next),
                None => {
                    let common = tally.common();
                    if common.malformed > 0 {
                        warn!(
                            "{request}: malformed objects skipped: {} (not a JSON object, or a field the report reads has an unexpected type)",
                            common.malformed
                        );
                    }
                    debug!("{request}: {} objects in {pages} pages", common.objects);
                    return Ok(tally);
                }
            }
        }
    }
}

/// How many fetched pages may wait for the decoder. One is enough to keep the API server
/// busy while a page is decoded; each costs a page of memory (~1.3 MB for 500 Tasks).
const PAGES_AHEAD: usize = 1;

/// A page as fetched: the continue token it was asked for, and its bytes or why not.
struct Fetched {
    token: Option<String>,
    page: kube::Result<Vec<u8>>,
}

/// Page buffers handed back by the decoder for the fetcher to fill again, so that a list
/// allocates a few buffers, not one per page.
#[derive(Clone, Default)]
struct Buffers(Arc<Mutex<Vec<Vec<u8>>>>);

impl Buffers {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut spare| spare.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn give_back(&self, page: Vec<u8>) {
        if let Ok(mut spare) = self.0.lock() {
            spare.push(page);
        }
    }
}

/// Fetches pages one after another on a task of its own, each with the token peeked from
/// the one before, until a page has no token or a fetch fails. Stops when dropped.
struct Fetcher {
    pages: mpsc::Receiver<Fetched>,
    task: tokio::task::JoinHandle<()>,
}

impl Fetcher {
    fn start(
        kube: &Kube,
        request: &str,
        path: &str,
        limit: u32,
        mut token: Option<String>,
        buffers: &Buffers,
    ) -> Fetcher {
        let (sender, pages) = mpsc::channel(PAGES_AHEAD);
        let (kube, request, path, buffers) = (
            kube.clone(),
            request.to_owned(),
            path.to_owned(),
            buffers.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let mut page = buffers.take();
                let fetched = kube
                    .list_page(&request, &path, limit, token.as_deref(), &mut page)
                    .await;
                // After a failed fetch, or a page that looks like the last, nothing is guessed.
                let next = match fetched {
                    Ok(()) => objects::peek_continue(&page),
                    Err(_) => None,
                };
                let fetched = Fetched {
                    token: std::mem::replace(&mut token, next),
                    page: fetched.map(|()| page),
                };
                if sender.send(fetched).await.is_err() || token.is_none() {
                    return;
                }
            }
        });
        Fetcher { pages, task }
    }

    /// The next page; `None` once the fetcher has stopped.
    async fn next(&mut self) -> Option<Fetched> {
        self.pages.recv().await
    }
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tally of one kind's objects: what every kind counts, plus its own fields.
trait KindTally: Tally + Default {
    fn common(&self) -> &Common;
}

/// Distinct namespaces, by hash. The hashes are already well mixed, so the set uses them
/// as they are instead of hashing them again.
type Namespaces = HashSet<NamespaceHash, BuildHasherDefault<PassThrough>>;

/// A `Hasher` that hands on the one `u64` it is given.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (NamespaceHash derives Hash over one u64); fold anything
        // else in, for safety.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// What is counted for every kind.
#[derive(Debug, Default)]
struct Common {
    objects: u64,
    malformed: u64,
    namespaces: Namespaces,
}

impl Common {
    fn add(&mut self, metadata: Field<Metadata>) {
        self.objects += 1;
        if let Some(namespace) = metadata.present().and_then(|m| m.namespace.present()) {
            self.namespaces.insert(namespace);
        }
    }
}

#[derive(Debug, Default)]
struct TaskTally {
    common: Common,
    by_type: [u64; AgentType::ALL.len()],
    by_phase: [u64; Phase::ALL.len()],
    usage: UsageTally,
}

impl Tally for TaskTally {
    type Object = objects::Task;

    fn add(&mut self, task: objects::Task) {
        self.common.add(task.metadata);
        let agent = task.spec.present().and_then(|s| s.agent.present());
        self.by_type[agent.unwrap_or(AgentType::Other) as usize] += 1;
        let status = task.status.present().unwrap_or_default();
        self.by_phase[status.phase.present().unwrap_or(Phase::Unknown) as usize] += 1;
        if let Some(results) = status.results.present() {
            self.usage.add(&results);
        }
    }

    fn add_malformed(&mut self) {
        self.common.malformed += 1;
    }
}

impl KindTally for TaskTally {
    fn common(&self) -> &Common {
        &self.common
    }
}

impl TaskTally {
    fn counts(&self) -> TaskCounts {
        TaskCounts {
            total: self.common.objects,
            by_type: AgentType::ALL
                .into_iter()
                .zip(self.by_type)
                .filter(|&(_, n)| n > 0)
                .collect(),
            by_phase: Phase::ALL
                .into_iter()
                .zip(self.by_phase)
                .filter(|&(_, n)| n > 0)
                .collect(),
        }
    }
}

#[derive(Debug, Default)]
struct SpawnerTally {
    common: Common,
    sources: BTreeSet<SourceType>,
}

impl Tally for SpawnerTally {
    type Object = objects::TaskSpawner;

    fn add(&mut self, spawner: objects::TaskSpawner) {
        self.common.add(spawner.metadata);
        if let Some(when) = spawner.spec.present().and_then(|s| s.when.present()) {
            self.sources.extend(when.0);
        }
    }

    fn add_malformed(&mut self) {
        self.common.malformed += 1;
    }
}

impl KindTally for SpawnerTally {
    fn common(&self) -> &Common {
        &self.common
    }
}

/// For kinds that are only counted.
#[derive(Debug, Default)]
struct CountTally {
    common: Common,
}

impl Tally for CountTally {
    type Object = objects::Counted;

    fn add(&mut self, object: objects::Counted) {
        self.common.add(object.metadata);
    }

    fn add_malformed(&mut self) {
        self.common.malformed += 1;
    }
}

impl KindTally for CountTally {
    fn common(&self) -> &Common {
        &self.common
    }
}

/// The usage keys of `.status.results`, in the order the tally keeps them.
const USAGE_KEYS: [&str; 3] = ["cost_usd", "input_tokens", "output_tokens"];

/// Usage sums. A value that is not a finite, non-negative number in range is skipped and
/// counted, never summed.
#[derive(Debug, Default, PartialEq)]
struct UsageTally {
    cost_micros: u64,
    input_tokens: u64,
    output_tokens: u64,
    skipped: [u64; USAGE_KEYS.len()],
}

impl UsageTally {
    fn add(&mut self, results: &objects::Results) {
        let fields = [
            results.cost_usd,
            results.input_tokens,
            results.output_tokens,
        ];
        let sums = [
            &mut self.cost_micros,
            &mut self.input_tokens,
            &mut self.output_tokens,
        ];
        let parsers: [fn(f64) -> Option<u64>; 3] = [cost_micros, whole_tokens, whole_tokens];
        for (i, ((field, sum), parse)) in fields.into_iter().zip(sums).zip(parsers).enumerate() {
            match field {
                Field::Absent => {}
                Field::Present(Decimal(value)) if let Some(n) = parse(value) => {
                    *sum = sum.saturating_add(n)
                }
                Field::Present(_) | Field::WrongType => self.skipped[i] += 1,
            }
        }
    }

    fn totals(&self) -> Usage {
        // Clamped to the schema's bounds, which no real cluster reaches, so that a report
        // is always one a collector accepts.
        Usage {
            total_cost_usd: (self.cost_micros as f64 / 1e6).min(report::MAX_COST_USD),
            total_input_tokens: self.input_tokens.min(report::MAX_COUNT),
            total_output_tokens: self.output_tokens.min(report::MAX_COUNT),
        }
    }

    fn log_skipped(&self) {
        if self.skipped.iter().any(|&n| n > 0) {
            let counts: Vec<String> = USAGE_KEYS
                .iter()
                .zip(self.skipped)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            info!(
                "skipped usage values that are not finite, non-negative numbers in range: {}",
                counts.join(", ")
            );
        }
    }
}

/// A cost in whole micro-dollars, if it is a plausible one.
fn cost_micros(usd: f64) -> Option<u64> {
    (usd.is_finite() && (0.0..=MAX_TASK_COST_USD).contains(&usd))
        .then(|| (usd * 1e6).round() as u64)
}

/// A token count, if it is a plausible whole number.
fn whole_tokens(tokens: f64) -> Option<u64> {
    (tokens.is_finite()
        && tokens.fract() == 0.0
        && (0.0..=MAX_TASK_TOKENS as f64).contains(&tokens))
    .then_some(tokens as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Results;

    fn results(cost: Field<Decimal>, input: Field<Decimal>, output: Field<Decimal>) -> Results {
        Results {
            cost_usd: cost,
            input_tokens: input,
            output_tokens: output,
        }
    }

    /// A usage string as the page reader turns it into a field.
    fn num(s: &str) -> Field<Decimal> {
        s.parse()
            .map_or(Field::WrongType, |v| Field::Present(Decimal(v)))
    }

    #[test]
    fn plausible_usage_values_are_summed_exactly() {
        let mut usage = UsageTally::default();
        usage.add(&results(num("0.1"), num("10"), num("20")));
        usage.add(&results(num("0.2"), num("1e3"), num("0")));
        usage.add(&results(
            Field::Present(Decimal(1.0)),
            Field::Absent,
            num("5.0"),
        ));
        assert_eq!(
            usage.totals(),
            Usage {
                total_cost_usd: 1.3,
                total_input_tokens: 1010,
                total_output_tokens: 25
            }
        );
        assert_eq!(usage.skipped, [0, 0, 0]);
    }

    #[test]
    fn implausible_usage_values_are_skipped_and_counted() {
        let mut usage = UsageTally::default();
        for bad in ["", "abc", "-5", "1e400", "NaN", "inf", "-inf", "1000000.01"] {
            usage.add(&results(num(bad), Field::Absent, Field::Absent));
        }
        for bad in ["12.5", "-1", "1e13", "infinity"] {
            usage.add(&results(Field::Absent, num(bad), num(bad)));
        }
        usage.add(&results(Field::WrongType, Field::WrongType, Field::Absent));
        assert_eq!(usage.totals(), Usage::default());
        assert_eq!(usage.skipped, [9, 5, 4]);
    }

    #[test]
    fn cost_is_rounded_to_micro_dollars() {
        assert_eq!(cost_micros(0.1234564), Some(123456));
        assert_eq!(cost_micros(0.1234566), Some(123457));
        assert_eq!(cost_micros(-0.0), Some(0));
        assert_eq!(cost_micros(MAX_TASK_COST_USD), Some(1_000_000_000_000));
    }

    #[test]
    fn task_counts_add_up_to_the_total() {
        let mut tally = TaskTally::default();
        let page = r#"{"items":[
            {"metadata":{"namespace":"a"},"spec":{"type":"codex"},"status":{"phase":"Failed"}},
            {"metadata":{"namespace":"b"},"spec":{"type":"something-new"},"status":{}},
            {"metadata":{"namespace":"a"},"spec":{},"status":{"phase":"Succeeded"}},
            {"metadata":{"namespace":"a"},"spec":{"type":"codex"},"status":{"phase":""}}
        ]}"#;
        objects::decode_page(page.as_bytes(), &mut tally).unwrap();
        let counts = tally.counts();
        assert_eq!(counts.total, 4);
        assert_eq!(
            counts.by_type,
            [(AgentType::Codex, 2), (AgentType::Other, 2)]
                .into_iter()
                .collect()
        );
        assert_eq!(
            counts.by_phase,
            [
                (Phase::Succeeded, 1),
                (Phase::Failed, 1),
                (Phase::Unknown, 2)
            ]
            .into_iter()
            .collect()
        );
        assert_eq!(tally.common.namespaces.len(), 2);
    }
}
