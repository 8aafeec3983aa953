//! Pages in, aggregates out: lists each kind of each served API cluster-wide page by page,
//! folds every object into counts as it is decoded, and keeps nothing else. Memory does
//! not grow with the number of Tasks, only with the number of distinct namespaces (8 bytes
//! each), of WorkerPools (a Task's type may be its pool's) and of TaskRecords with usage
//! (a Task they record is not counted twice).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use tracing::{debug, info, warn};

use crate::api::{Api, Kind};
use crate::cluster::{self, Cluster};
use crate::json;
use crate::objects::{self, Decimal, Field, Hashed, Metadata, NamespaceHash, Tally};
use crate::report::{
    self, AgentType, Features, Phase, Scale, SessionPhase, Sessions, SourceType, SpawnerSource,
    TaskCounts, TaskSpawners, Usage, WorkerPoolPhase, WorkerPools,
};

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
        source: cluster::Error,
    },
    #[error("listing {crd} failed")]
    List {
        crd: String,
        #[source]
        source: cluster::Error,
    },
    #[error(
        "listing {crd}: the continue token expired {restarts} times in a row (410 Gone); \
         the API server drops list snapshots faster than this cluster can be listed"
    )]
    Expired { crd: String, restarts: u32 },
    #[error(
        "listing {crd}: page {page} leads back to a page already listed (its continue token \
         repeats an earlier page's); the API server is answering in a loop"
    )]
    Loop { crd: String, page: u64 },
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
    pub task_spawners: TaskSpawners,
    pub sessions: Sessions,
    pub worker_pools: WorkerPools,
    pub features: Features,
    pub scale: Scale,
    pub usage: Usage,
}

/// Lists every kind of each of `apis` and adds them up: objects of different groups are
/// different objects, so a cluster midway between `axon.io` and `kelos.dev` counts each
/// once. A kind whose CRD is not installed counts 0.
pub async fn aggregate(kube: &Cluster, apis: &[Api], page_size: u32) -> Result<Aggregates, Error> {
    let mut totals = Totals::default();
    for api in apis {
        let list = |kind| Listing {
            kube,
            api,
            kind,
            page_size,
        };
        let pools = list(Kind::WorkerPool).run(PoolTally::default).await?;
        let records = list(Kind::TaskRecord).run(RecordTally::default).await?;
        let tasks = list(Kind::Task)
            .run(|| TaskTally::new(&pools.types, &records.recorded))
            .await?;
        totals.add_tasks(tasks);
        totals.add_pools(pools);
        totals.add_records(records);
        totals.add_spawners(list(Kind::TaskSpawner).run(SpawnerTally::default).await?);
        totals.add_sessions(list(Kind::Session).run(SessionTally::default).await?);
        for (kind, count) in [
            (Kind::AgentConfig, &mut totals.agent_configs),
            (Kind::Workspace, &mut totals.workspaces),
            (Kind::SessionSpawner, &mut totals.session_spawners),
            (Kind::TaskBudget, &mut totals.task_budgets),
        ] {
            let tally = list(kind).run(CountTally::default).await?;
            *count += tally.common.objects;
            totals.namespaces.extend(tally.common.namespaces);
        }
    }
    totals.usage.log_skipped();
    let aggregates = totals.aggregates();
    let features = &aggregates.features;
    info!(
        "collected Tasks: {}, TaskSpawners: {}, AgentConfigs: {}, Workspaces: {}, WorkerPools: {}, \
         Sessions: {}, SessionSpawners: {}, TaskBudgets: {}, TaskRecords: {}, namespaces: {}",
        aggregates.tasks.total,
        features.task_spawners,
        features.agent_configs,
        features.workspaces,
        aggregates.worker_pools.total,
        aggregates.sessions.total,
        features.session_spawners.unwrap_or(0),
        features.task_budgets.unwrap_or(0),
        features.task_records.unwrap_or(0),
        aggregates.scale.namespaces
    );
    Ok(aggregates)
}

/// The counts of every API read so far.
#[derive(Default)]
struct Totals {
    namespaces: Namespaces,
    tasks: u64,
    tasks_by_type: [u64; AgentType::ALL.len()],
    tasks_by_phase: [u64; Phase::ALL.len()],
    usage: UsageTally,
    spawners: u64,
    spawners_by_source: [u64; SpawnerSource::ALL.len()],
    source_types: BTreeSet<SourceType>,
    sessions: u64,
    sessions_by_type: [u64; AgentType::ALL.len()],
    sessions_by_phase: [u64; SessionPhase::ALL.len()],
    pools: u64,
    pools_by_phase: [u64; WorkerPoolPhase::ALL.len()],
    desired_replicas: u64,
    current_replicas: u64,
    ready_replicas: u64,
    agent_configs: u64,
    workspaces: u64,
    session_spawners: u64,
    task_budgets: u64,
    task_records: u64,
}

impl Totals {
    fn add_tasks(&mut self, tasks: TaskTally<'_>) {
        self.tasks += tasks.common.objects;
        add_counts(&mut self.tasks_by_type, &tasks.by_type);
        add_counts(&mut self.tasks_by_phase, &tasks.by_phase);
        self.usage.absorb(&tasks.usage);
        self.namespaces.extend(tasks.common.namespaces);
    }

    fn add_pools(&mut self, pools: PoolTally) {
        self.pools += pools.common.objects;
        add_counts(&mut self.pools_by_phase, &pools.by_phase);
        self.desired_replicas = self.desired_replicas.saturating_add(pools.desired);
        self.current_replicas = self.current_replicas.saturating_add(pools.current);
        self.ready_replicas = self.ready_replicas.saturating_add(pools.ready);
        self.namespaces.extend(pools.common.namespaces);
    }

    fn add_records(&mut self, records: RecordTally) {
        self.task_records += records.common.objects;
        self.usage.absorb(&records.usage);
        self.namespaces.extend(records.common.namespaces);
    }

    fn add_spawners(&mut self, spawners: SpawnerTally) {
        self.spawners += spawners.common.objects;
        add_counts(&mut self.spawners_by_source, &spawners.by_source);
        self.source_types.extend(spawners.source_types);
        self.namespaces.extend(spawners.common.namespaces);
    }

    fn add_sessions(&mut self, sessions: SessionTally) {
        self.sessions += sessions.common.objects;
        add_counts(&mut self.sessions_by_type, &sessions.by_type);
        add_counts(&mut self.sessions_by_phase, &sessions.by_phase);
        self.namespaces.extend(sessions.common.namespaces);
    }

    fn aggregates(&self) -> Aggregates {
        Aggregates {
            tasks: TaskCounts {
                total: self.tasks,
                by_type: non_zero(AgentType::ALL, self.tasks_by_type),
                by_phase: non_zero(Phase::ALL, self.tasks_by_phase),
            },
            task_spawners: TaskSpawners {
                by_source: non_zero(SpawnerSource::ALL, self.spawners_by_source),
            },
            sessions: Sessions {
                total: self.sessions,
                by_type: non_zero(AgentType::ALL, self.sessions_by_type),
                by_phase: non_zero(SessionPhase::ALL, self.sessions_by_phase),
            },
            worker_pools: WorkerPools {
                total: self.pools,
                by_phase: non_zero(WorkerPoolPhase::ALL, self.pools_by_phase),
                desired_replicas: self.desired_replicas.min(report::MAX_COUNT),
                current_replicas: self.current_replicas.min(report::MAX_COUNT),
                ready_replicas: self.ready_replicas.min(report::MAX_COUNT),
            },
            features: Features {
                task_spawners: self.spawners,
                agent_configs: self.agent_configs,
                workspaces: self.workspaces,
                source_types: self.source_types.clone(),
                session_spawners: Some(self.session_spawners),
                task_budgets: Some(self.task_budgets),
                task_records: Some(self.task_records),
            },
            scale: Scale {
                namespaces: self.namespaces.len() as u64,
            },
            usage: self.usage.totals(),
        }
    }
}

fn add_counts<const N: usize>(sums: &mut [u64; N], counts: &[u64; N]) {
    for (sum, n) in sums.iter_mut().zip(counts) {
        *sum += n;
    }
}

/// A count map as reports carry it: zero counts left out.
fn non_zero<K: Ord, const N: usize>(keys: [K; N], counts: [u64; N]) -> BTreeMap<K, u64> {
    keys.into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// One kind's list in one API.
struct Listing<'a> {
    kube: &'a Cluster,
    api: &'a Api,
    kind: Kind,
    page_size: u32,
}

impl Listing<'_> {
    /// The kind's tally, started by `new`; an empty one when this API has no such kind.
    async fn run<T: KindTally>(&self, new: impl Fn() -> T) -> Result<T, Error> {
        if !self.api.kinds.contains(&self.kind) {
            return Ok(new());
        }
        list(self.kube, self.api, self.kind, self.page_size, new).await
    }
}

/// Lists one kind cluster-wide. The list starts over when its continue token expires; a
/// page over [`cluster::MAX_PAGE_BYTES`] is fetched again with half the limit. Returns an
/// empty tally when the CRD is not installed.
///
/// Pipelined: a [`Fetcher`] task runs ahead, requesting each next page with the token of
/// the List's own `metadata` in the page before it ([`objects::peek_continue`]), so the API
/// server produces page k+1 while page k is decoded. The decoded token has the final word:
/// a page fetched under any other token is dropped and the fetcher restarted at the right
/// one. At most [`PAGES_AHEAD`] + 2 pages are in memory.
///
/// Pages are decoded right here, on the runtime's one thread, not on a thread of their
/// own: while a page is decoded the next one collects in the socket's kernel buffer, and
/// the fetcher reads it in a few large reads as soon as the decoder awaits. That measured
/// less CPU and wall time than a decoding thread (BENCHMARKS.md): fewer wake-ups, and no
/// page crossing cores.
async fn list<T: KindTally>(
    kube: &Cluster,
    api: &Api,
    kind: Kind,
    page_size: u32,
    new: impl Fn() -> T,
) -> Result<T, Error> {
    let path = api.list_path(kind);
    let crd = api.crd_name(kind);
    let request = format!("listing {crd}");
    let buffers = Buffers::default();
    let fetch_from = |limit, token: Option<String>| {
        Fetcher::start(kube, &request, &path, limit, token, &buffers)
    };
    let mut limit = page_size;
    let mut restarts = 0;
    'list: loop {
        let mut tally = new();
        let mut token: Option<String> = None;
        let mut fetcher = fetch_from(limit, None);
        let mut pages = 0;
        // Every token this pass was given: one given twice leads back to a page listed
        // already, and the list would never end.
        let mut tokens = HashSet::new();
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
                Err(cluster::Error::TooLarge { .. }) if limit > 1 => {
                    limit /= 2;
                    warn!(
                        "{request}: a page exceeded {} bytes; fetching it again with limit {limit}",
                        cluster::MAX_PAGE_BYTES
                    );
                    fetcher = fetch_from(limit, token.clone());
                    continue;
                }
                Err(e) if e.status_code() == Some(404) => {
                    warn!(
                        "CRD {crd} is not installed (the API server answered 404 for {path}): counting 0 {}s",
                        kind.name()
                    );
                    return Ok(new());
                }
                Err(e) if e.status_code() == Some(403) => {
                    let (group, plural) = (api.group.name(), kind.plural());
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
                Some(next) if !tokens.insert(next.clone()) => {
                    return Err(Error::Loop { crd, page: pages });
                }
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
    page: cluster::Result<Vec<u8>>,
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
        kube: &Cluster,
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
trait KindTally: Tally {
    fn common(&self) -> &Common;
}

/// Implements [`Tally`] and [`KindTally`] for a tally with a `common` field, given how it
/// adds one well-typed object.
macro_rules! kind_tally {
    ($tally:ty, $object:ty, |$self:ident, $value:ident| $add:block) => {
        impl Tally for $tally {
            type Object = $object;

            fn add(&mut $self, $value: $object) $add

            fn add_malformed(&mut self) {
                self.common.malformed += 1;
            }
        }

        impl KindTally for $tally {
            fn common(&self) -> &Common {
                &self.common
            }
        }
    };
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
        // Only `write_u64` is used (the hashes derive Hash over one u64); fold anything
        // else in, for safety.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = self.0.rotate_left(5) ^ value;
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
    /// Counts one object; returns its metadata.
    fn add<const READ: u8>(&mut self, metadata: Field<Metadata<READ>>) -> Metadata<READ> {
        self.objects += 1;
        let metadata = metadata.present().unwrap_or_default();
        if let Some(namespace) = metadata.namespace.present() {
            self.namespaces.insert(namespace);
        }
        metadata
    }
}

/// WorkerPools by namespace and name, with their agent type.
type PoolTypes = HashMap<(NamespaceHash, Hashed), AgentType, BuildHasherDefault<PassThrough>>;

/// UIDs of the Tasks whose usage a TaskRecord already holds.
type Recorded = HashSet<Hashed, BuildHasherDefault<PassThrough>>;

struct TaskTally<'a> {
    common: Common,
    by_type: [u64; AgentType::ALL.len()],
    by_phase: [u64; Phase::ALL.len()],
    usage: UsageTally,
    pools: &'a PoolTypes,
    recorded: &'a Recorded,
}

impl<'a> TaskTally<'a> {
    fn new(pools: &'a PoolTypes, recorded: &'a Recorded) -> Self {
        TaskTally {
            common: Common::default(),
            by_type: Default::default(),
            by_phase: Default::default(),
            usage: UsageTally::default(),
            pools,
            recorded,
        }
    }

    /// `.spec.worker.type`, else the type of the WorkerPool `.spec.workerPoolRef` names
    /// (`Other` when there is no such pool), else the legacy `.spec.type`.
    fn agent(&self, namespace: Field<NamespaceHash>, spec: objects::TaskSpec) -> AgentType {
        let agent = match (spec.worker, spec.pool) {
            (Field::Present(worker), _) => worker.agent.present(),
            (_, Field::Present(pool)) => namespace
                .present()
                .zip(pool.name.present())
                .and_then(|key| self.pools.get(&key).copied()),
            _ => spec.agent.present(),
        };
        agent.unwrap_or(AgentType::Other)
    }
}

impl Tally for TaskTally<'_> {
    type Object = objects::Task;

    fn add(&mut self, task: objects::Task) {
        let metadata = self.common.add(task.metadata);
        let spec = task.spec.present().unwrap_or_default();
        self.by_type[self.agent(metadata.namespace, spec) as usize] += 1;
        let status = task.status.present().unwrap_or_default();
        self.by_phase[status.phase.present().unwrap_or(Phase::Unknown) as usize] += 1;
        // A Task that a TaskRecord holds the usage of is counted from the record.
        if metadata
            .uid
            .present()
            .is_some_and(|uid| self.recorded.contains(&uid))
        {
            return;
        }
        match (status.usage, status.results) {
            (Field::Present(usage), _) => self.usage.add(usage),
            (_, Field::Present(results)) => self.usage.add(results.usage()),
            _ => {}
        }
    }

    fn add_malformed(&mut self) {
        self.common.malformed += 1;
    }
}

impl KindTally for TaskTally<'_> {
    fn common(&self) -> &Common {
        &self.common
    }
}

#[derive(Default)]
struct PoolTally {
    common: Common,
    by_phase: [u64; WorkerPoolPhase::ALL.len()],
    desired: u64,
    current: u64,
    ready: u64,
    types: PoolTypes,
}

kind_tally!(PoolTally, objects::WorkerPool, |self, pool| {
    let metadata = self.common.add(pool.metadata);
    let spec = pool.spec.present().unwrap_or_default();
    let status = pool.status.present().unwrap_or_default();
    let phase = status.phase.present().unwrap_or(WorkerPoolPhase::Unknown);
    self.by_phase[phase as usize] += 1;
    // The CRD's default: one replica when unset.
    let desired = spec.replicas.present().map_or(1, |n| n.0);
    self.desired = self.desired.saturating_add(desired);
    self.current = self
        .current
        .saturating_add(status.replicas.present().map_or(0, |n| n.0));
    self.ready = self
        .ready
        .saturating_add(status.ready_replicas.present().map_or(0, |n| n.0));
    let agent = spec.worker.present().and_then(|w| w.agent.present());
    if let (Some(namespace), Some(name)) = (metadata.namespace.present(), metadata.name.present()) {
        self.types
            .insert((namespace, name), agent.unwrap_or(AgentType::Other));
    }
});

#[derive(Default)]
struct RecordTally {
    common: Common,
    usage: UsageTally,
    recorded: Recorded,
}

kind_tally!(RecordTally, objects::TaskRecord, |self, record| {
    self.common.add(record.metadata);
    let spec = record.spec.present().unwrap_or_default();
    if let Field::Present(usage) = spec.usage {
        self.usage.add(usage);
        if let Some(uid) = spec.task_ref.present().and_then(|r| r.uid.present()) {
            self.recorded.insert(uid);
        }
    }
});

#[derive(Default)]
struct SpawnerTally {
    common: Common,
    by_source: [u64; SpawnerSource::ALL.len()],
    source_types: BTreeSet<SourceType>,
}

kind_tally!(SpawnerTally, objects::TaskSpawner, |self, spawner| {
    self.common.add(spawner.metadata);
    let when = spawner
        .spec
        .present()
        .and_then(|s| s.when.present())
        .unwrap_or_default();
    self.by_source[when.source() as usize] += 1;
    self.source_types
        .extend(when.sources().map(SpawnerSource::source_type));
});

#[derive(Default)]
struct SessionTally {
    common: Common,
    by_type: [u64; AgentType::ALL.len()],
    by_phase: [u64; SessionPhase::ALL.len()],
}

kind_tally!(SessionTally, objects::Session, |self, session| {
    self.common.add(session.metadata);
    let agent = session
        .spec
        .present()
        .and_then(|s| s.worker.present())
        .and_then(|w| w.agent.present());
    self.by_type[agent.unwrap_or(AgentType::Other) as usize] += 1;
    let phase = session.status.present().and_then(|s| s.phase.present());
    self.by_phase[phase.unwrap_or(SessionPhase::Unknown) as usize] += 1;
});

/// For kinds that are only counted.
#[derive(Default)]
struct CountTally {
    common: Common,
}

kind_tally!(CountTally, objects::Counted, |self, object| {
    self.common.add(object.metadata);
});

/// What the usage sums are of, in the order the tally keeps them.
const USAGE_MEASURES: [&str; 3] = ["cost", "input tokens", "output tokens"];

/// Usage sums. A value that is not a finite, non-negative number in range is skipped and
/// counted, never summed.
#[derive(Debug, Default, PartialEq)]
struct UsageTally {
    cost_micros: u64,
    input_tokens: u64,
    output_tokens: u64,
    skipped: [u64; USAGE_MEASURES.len()],
}

impl UsageTally {
    fn add(&mut self, usage: objects::Usage) {
        let fields = [usage.cost_usd, usage.input_tokens, usage.output_tokens];
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

    fn absorb(&mut self, other: &UsageTally) {
        self.cost_micros = self.cost_micros.saturating_add(other.cost_micros);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        add_counts(&mut self.skipped, &other.skipped);
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
            let counts: Vec<String> = USAGE_MEASURES
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

    fn results(
        cost: Field<Decimal>,
        input: Field<Decimal>,
        output: Field<Decimal>,
    ) -> objects::Usage {
        objects::Usage {
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
        usage.add(results(num("0.1"), num("10"), num("20")));
        usage.add(results(num("0.2"), num("1e3"), num("0")));
        // A sign and a bare fraction are numbers too.
        usage.add(results(num("+0.5"), num("+5"), num(".5e1")));
        usage.add(results(
            Field::Present(Decimal(1.0)),
            Field::Absent,
            num("5.0"),
        ));
        assert_eq!(
            usage.totals(),
            Usage {
                total_cost_usd: 1.8,
                total_input_tokens: 1015,
                total_output_tokens: 30
            }
        );
        assert_eq!(usage.skipped, [0, 0, 0]);
    }

    #[test]
    fn implausible_usage_values_are_skipped_and_counted() {
        let mut usage = UsageTally::default();
        for bad in ["", "abc", "-5", "1e400", "NaN", "inf", "-inf", "1000000.01"] {
            usage.add(results(num(bad), Field::Absent, Field::Absent));
        }
        for bad in ["12.5", "-1", "1e13", "infinity"] {
            usage.add(results(Field::Absent, num(bad), num(bad)));
        }
        usage.add(results(Field::WrongType, Field::WrongType, Field::Absent));
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

    /// Decodes one page each of WorkerPools, TaskRecords and Tasks as one API's lists are
    /// read, and returns what the report would say.
    fn aggregates_of(pools: &str, records: &str, tasks: &str) -> Aggregates {
        let mut pool_tally = PoolTally::default();
        objects::decode_page(pools.as_bytes(), &mut pool_tally).unwrap();
        let mut record_tally = RecordTally::default();
        objects::decode_page(records.as_bytes(), &mut record_tally).unwrap();
        let mut task_tally = TaskTally::new(&pool_tally.types, &record_tally.recorded);
        objects::decode_page(tasks.as_bytes(), &mut task_tally).unwrap();
        let mut totals = Totals::default();
        totals.add_tasks(task_tally);
        totals.add_pools(pool_tally);
        totals.add_records(record_tally);
        totals.aggregates()
    }

    const NO_ITEMS: &str = r#"{"items":[]}"#;

    #[test]
    fn task_counts_add_up_to_the_total() {
        let page = r#"{"items":[
            {"metadata":{"namespace":"a"},"spec":{"type":"codex"},"status":{"phase":"Failed"}},
            {"metadata":{"namespace":"b"},"spec":{"type":"something-new"},"status":{}},
            {"metadata":{"namespace":"a"},"spec":{},"status":{"phase":"Succeeded"}},
            {"metadata":{"namespace":""},"spec":{"type":"codex"},"status":{"phase":""}}
        ]}"#;
        let aggregates = aggregates_of(NO_ITEMS, NO_ITEMS, page);
        let counts = aggregates.tasks;
        assert_eq!(counts.total, 4);
        assert_eq!(
            counts.by_type,
            [(AgentType::Codex, 2), (AgentType::Other, 2)].into()
        );
        assert_eq!(
            counts.by_phase,
            [
                (Phase::Succeeded, 1),
                (Phase::Failed, 1),
                (Phase::Unknown, 2)
            ]
            .into()
        );
        // `""` is not a namespace.
        assert_eq!(aggregates.scale.namespaces, 2);
    }

    #[test]
    fn a_task_has_its_workers_type_else_its_pools_else_its_own() {
        let pools = r#"{"items":[
            {"metadata":{"namespace":"a","name":"big"},"spec":{"worker":{"type":"codex"},"replicas":3},
             "status":{"phase":"Ready","replicas":3,"readyReplicas":2}},
            {"metadata":{"namespace":"b","name":"big"},"spec":{"worker":{"type":"gemini"}},"status":{"phase":"Scaling"}}
        ]}"#;
        let tasks = r#"{"items":[
            {"metadata":{"namespace":"a"},"spec":{"worker":{"type":"cursor"},"type":"codex"}},
            {"metadata":{"namespace":"a"},"spec":{"workerPoolRef":{"name":"big"}}},
            {"metadata":{"namespace":"b"},"spec":{"workerPoolRef":{"name":"big"},"type":""}},
            {"metadata":{"namespace":"c"},"spec":{"workerPoolRef":{"name":"big"}}},
            {"metadata":{"namespace":"a"},"spec":{"workerPoolRef":{"name":"gone"}}},
            {"metadata":{"namespace":"a"},"spec":{"type":"opencode"}}
        ]}"#;
        let aggregates = aggregates_of(pools, NO_ITEMS, tasks);
        assert_eq!(
            aggregates.tasks.by_type,
            [
                (AgentType::Codex, 1),
                (AgentType::Gemini, 1),
                (AgentType::Opencode, 1),
                (AgentType::Cursor, 1),
                (AgentType::Other, 2)
            ]
            .into()
        );
        assert_eq!(
            aggregates.worker_pools,
            WorkerPools {
                total: 2,
                by_phase: [(WorkerPoolPhase::Ready, 1), (WorkerPoolPhase::Scaling, 1)].into(),
                desired_replicas: 4,
                current_replicas: 3,
                ready_replicas: 2,
            }
        );
    }

    #[test]
    fn usage_comes_from_the_record_else_status_usage_else_results() {
        let records = r#"{"items":[
            {"metadata":{"namespace":"a","uid":"r1"},"spec":{"taskRef":{"name":"t1","uid":"u1"},
             "usage":{"costUSD":"1250m","inputTokens":100,"outputTokens":10}}},
            {"metadata":{"namespace":"a","uid":"r2"},"spec":{"taskRef":{"name":"gone","uid":"u9"},
             "usage":{"costUSD":"12300u","inputTokens":1000}}},
            {"metadata":{"namespace":"a","uid":"r3"},"spec":{"taskRef":{"name":"t2","uid":"u2"}}}
        ]}"#;
        let tasks = r#"{"items":[
            {"metadata":{"namespace":"a","uid":"u1"},"status":{"usage":{"costUSD":"1250m","inputTokens":100,"outputTokens":10},
             "results":{"cost-usd":"1.25","input-tokens":"100","output-tokens":"10"}}},
            {"metadata":{"namespace":"a","uid":"u2"},"status":{"usage":{"costUSD":2,"outputTokens":5},
             "results":{"cost-usd":"9","input-tokens":"9000","output-tokens":"9"}}},
            {"metadata":{"namespace":"a","uid":"u3"},"status":{"results":{"cost-usd":"0.5","input_tokens":"7",
             "output-tokens":"3","output_tokens":"300","cost_usd":"100"}}},
            {"metadata":{"namespace":"a","uid":""},"status":{"results":{"cost_usd":"0.25"}}}
        ]}"#;
        let usage = aggregates_of(NO_ITEMS, records, tasks).usage;
        assert_eq!(
            usage,
            Usage {
                // records 1.25 + 0.0123, u2 2, u3 0.5, the last 0.25
                total_cost_usd: 4.0123,
                total_input_tokens: 100 + 1000 + 7,
                total_output_tokens: 10 + 5 + 3,
            }
        );
    }

    #[test]
    fn spawners_count_once_under_their_first_key() {
        let page = r#"{"items":[
            {"spec":{"when":{"cron":{},"githubIssues":{}}}},
            {"spec":{"when":{"linearWebhook":{},"slack":null}}},
            {"spec":{"when":{"slack":{}}}},
            {"spec":{"when":{"webhook":{}}}},
            {"spec":{"when":{"githubWebhook":{}}}},
            {"spec":{"when":{"newKey":{}}}},
            {"spec":{"when":{}}},
            {"spec":{}}
        ]}"#;
        let mut tally = SpawnerTally::default();
        objects::decode_page(page.as_bytes(), &mut tally).unwrap();
        let mut totals = Totals::default();
        totals.add_spawners(tally);
        let aggregates = totals.aggregates();
        use SpawnerSource as S;
        assert_eq!(
            aggregates.task_spawners.by_source,
            [
                (S::GithubIssues, 1),
                (S::GithubWebhook, 1),
                (S::LinearWebhook, 1),
                (S::Webhook, 1),
                (S::Slack, 1),
                (S::Other, 3)
            ]
            .into()
        );
        use SourceType as T;
        assert_eq!(
            aggregates.features.source_types,
            [
                T::Cron,
                T::Github,
                T::Linear,
                T::Other,
                T::Slack,
                T::Webhook
            ]
            .into()
        );
    }
}
