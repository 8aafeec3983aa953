//! Realistic Axon or Kelos objects generated on the fly from (seed, index), and the exact
//! aggregates they add up to (the ground truth), so that neither the fake nor the checker
//! stores them.
//!
//! Objects look like what a real API server returns for a custom resource: keys sorted (Go
//! encodes unstructured maps sorted), full metadata with labels, annotations and
//! managedFields, a long prompt with escapes, status with usage strings. A Task is ~2 KB.
//! An Axon cluster serves `axon.io/v1alpha1`; a Kelos one `kelos.dev/v1alpha2`, with Tasks
//! that have an inline worker, a WorkerPool or the legacy type, `.status.usage` beside the
//! results, WorkerPools, and TaskRecords of Tasks present and gone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub use axon_telemetry_report::api::Kind;
use axon_telemetry_report::api::{Api, GROUPS};

/// Which operator the generated cluster runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    /// Axon v0.12.0: `axon.io/v1alpha1`.
    #[default]
    Axon,
    /// Kelos v0.52.0: `kelos.dev/v1alpha2`.
    Kelos,
}

/// A generated cluster: how many of each kind, in how many namespaces.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cluster {
    pub seed: u64,
    pub tasks: u64,
    pub flavor: Flavor,
    /// Kelos only: WorkerPools, pool `p` in namespace `p` (`pool-0` in each of the first
    /// `pools` namespaces).
    pub pools: u64,
    /// Kelos only: TaskRecords; record `r` is of Task `2r`, which exists while `2r < tasks`.
    pub records: u64,
}

const AGENTS: [&str; 6] = [
    "claude-code",
    "codex",
    "gemini",
    "opencode",
    "cursor",
    "aider",
];
const PHASES: [&str; 6] = ["Pending", "Running", "Succeeded", "Failed", "Waiting", ""];

/// A WorkerPool's type is one of the CRD's enum (its CEL rule requires one).
const POOL_AGENTS: [&str; 5] = ["claude-code", "codex", "gemini", "opencode", "cursor"];
const POOL_PHASES: [&str; 3] = ["Ready", "Scaling", "Pending"];

impl Cluster {
    /// The API this cluster serves, from the reporter's own table.
    pub fn api(&self) -> Api {
        match self.flavor {
            Flavor::Axon => GROUPS[0].versions[0],
            Flavor::Kelos => GROUPS[1].versions[0],
        }
    }

    /// A kind's list, by its plural in the URL.
    pub fn kind_of(&self, plural: &str) -> Option<Kind> {
        self.api()
            .kinds
            .iter()
            .copied()
            .find(|k| k.plural() == plural)
    }

    pub fn count(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Task => self.tasks,
            Kind::TaskSpawner => self.tasks / 200 + 1,
            Kind::AgentConfig => self.tasks / 1000 + 1,
            Kind::Workspace => self.tasks / 500 + 1,
            Kind::WorkerPool => self.pools,
            Kind::TaskRecord => self.records,
            // Served empty.
            Kind::Session | Kind::SessionSpawner | Kind::TaskBudget => 0,
        }
    }

    fn kelos(&self) -> bool {
        self.flavor == Flavor::Kelos
    }

    /// Many namespaces, growing with the cluster: 60 at 10k Tasks, 1050 at 1M.
    pub fn namespaces(&self) -> u64 {
        50 + self.tasks / 1000
    }

    fn hash(&self, kind: Kind, index: u64) -> u64 {
        splitmix64(
            self.seed
                ^ (kind as u64).wrapping_mul(0x9e37_79b9)
                ^ index.wrapping_mul(0x2545_f491_4f6c_dd1d),
        )
    }

    fn namespace(&self, kind: Kind, index: u64) -> u64 {
        self.hash(kind, index) % self.namespaces()
    }

    fn task(&self, index: u64) -> TaskFacts {
        let h = self.hash(Kind::Task, index);
        let agent = (h >> 8) as usize % AGENTS.len();
        let phase = (h >> 16) as usize % PHASES.len();
        let finished = matches!(PHASES[phase], "Succeeded" | "Failed");
        let usage = finished.then(|| usage_of(h, true));
        let typed = match (self.kelos(), (h >> 4) % 3) {
            (false, _) | (true, 2) => Typed::Legacy,
            (true, 0) => Typed::Worker,
            (true, _) => Typed::Pool,
        };
        TaskFacts {
            agent,
            phase,
            usage,
            typed,
        }
    }

    /// The agent type a Task counts under.
    fn task_type(&self, index: u64, facts: &TaskFacts) -> &'static str {
        let agent = match facts.typed {
            Typed::Worker | Typed::Legacy => AGENTS[facts.agent],
            // Every Task on a pool names `pool-0`, which exists in the first `pools`
            // namespaces only.
            Typed::Pool => {
                let ns = self.namespace(Kind::Task, index);
                if ns < self.pools {
                    self.pool_agent(ns)
                } else {
                    "other"
                }
            }
        };
        if agent == "aider" { "other" } else { agent }
    }

    fn pool_agent(&self, pool: u64) -> &'static str {
        POOL_AGENTS[(self.hash(Kind::WorkerPool, pool) >> 8) as usize % POOL_AGENTS.len()]
    }

    /// Whether Task `index` has a TaskRecord (whose usage then counts instead of its own).
    fn recorded(&self, index: u64) -> bool {
        self.kelos() && index.is_multiple_of(2) && index / 2 < self.records
    }

    /// Appends objects `[from, to)` of `kind` to `out`, comma-separated.
    pub fn write_items(&self, kind: Kind, from: u64, to: u64, out: &mut Vec<u8>) {
        for index in from..to {
            if index > from {
                out.push(b',');
            }
            match kind {
                Kind::Task => self.write_task(index, out),
                Kind::TaskSpawner => self.write_spawner(index, out),
                Kind::WorkerPool => self.write_pool(index, out),
                Kind::TaskRecord => self.write_record(index, out),
                _ => self.write_counted(kind, index, out),
            }
        }
    }

    /// `metadata` of object `index` of `kind`, named `{name}-{index}`, in its namespace.
    fn write_metadata(&self, kind: Kind, index: u64, name: &str, out: &mut Vec<u8>) {
        let ns = self.namespace(kind, index);
        self.write_metadata_in(kind, index, ns, (name, index), out);
    }

    /// `metadata` of object `index` of `kind`, named `{name.0}-{name.1}`, in namespace `ns`.
    fn write_metadata_in(
        &self,
        kind: Kind,
        index: u64,
        ns: u64,
        (name, number): (&str, u64),
        out: &mut Vec<u8>,
    ) {
        let h = self.hash(kind, index);
        let api = self.api_version();
        let _ = write!(
            out,
            r#""metadata":{{"annotations":{{"axon.io/created-by":"taskspawner/issue-watcher-{ns}","kubectl.kubernetes.io/last-applied-configuration":"{{\"apiVersion\":\"{api}\",\"kind\":\"{kind:?}\"}}\n"}},"creationTimestamp":"2026-11-{day:02}T{hour:02}:14:03Z","generation":1,"labels":{{"app.kubernetes.io/managed-by":"axon","axon.io/taskspawner":"issue-watcher-{ns}","team":"team-{ns}"}},"managedFields":[{{"apiVersion":"{api}","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:labels":{{".":{{}},"f:team":{{}}}}}},"f:spec":{{".":{{}},"f:branch":{{}},"f:credentials":{{".":{{}},"f:secretRef":{{".":{{}},"f:name":{{}}}},"f:type":{{}}}},"f:prompt":{{}},"f:type":{{}},"f:workspaceRef":{{".":{{}},"f:name":{{}}}}}}}},"manager":"axon-controller","operation":"Update","time":"2026-11-20T09:14:03Z"}},{{"apiVersion":"{api}","fieldsType":"FieldsV1","fieldsV1":{{"f:status":{{".":{{}},"f:completionTime":{{}},"f:jobName":{{}},"f:message":{{}},"f:outputs":{{}},"f:phase":{{}},"f:podName":{{}},"f:results":{{".":{{}},"f:cost-usd":{{}},"f:input-tokens":{{}},"f:output-tokens":{{}}}},"f:startTime":{{}}}}}},"manager":"axon-controller","operation":"Update","subresource":"status","time":"2026-11-20T09:20:41Z"}}],"name":"{name}-{number}","namespace":"ns-{ns:04}","resourceVersion":"{rv}","uid":""#,
            day = 1 + h % 28,
            hour = h % 24,
            rv = 100_000 + index,
        );
        self.write_uid(kind, index, out);
        out.extend_from_slice(br#""}"#);
    }

    /// The UID of object `index` of `kind`, a UUID made from its hash.
    fn write_uid(&self, kind: Kind, index: u64, out: &mut Vec<u8>) {
        let h = self.hash(kind, index);
        let _ = write!(
            out,
            "{a:08x}-{b:04x}-4{c:03x}-8{d:03x}-{e:012x}",
            a = h as u32,
            b = (h >> 32) as u16,
            c = (h >> 48) as u16 & 0xfff,
            d = (h >> 20) as u16 & 0xfff,
            e = h >> 16,
        );
    }

    fn api_version(&self) -> &'static str {
        match self.flavor {
            Flavor::Axon => "axon.io/v1alpha1",
            Flavor::Kelos => "kelos.dev/v1alpha2",
        }
    }

    fn write_task(&self, index: u64, out: &mut Vec<u8>) {
        let facts = self.task(index);
        let _ = write!(
            out,
            r#"{{"apiVersion":"{}","kind":"Task","#,
            self.api_version()
        );
        self.write_metadata(Kind::Task, index, "task", out);
        let agent = AGENTS[facts.agent];
        let _ = write!(out, r#","spec":{{"branch":"axon/task-{index}","#);
        const CREDENTIALS: &str = r#""credentials":{"secretRef":{"name":"agent-credentials"},"type":"api-key"},"model":"opus","#;
        match facts.typed {
            Typed::Legacy => {
                let _ = write!(
                    out,
                    r#"{CREDENTIALS}"prompt":"{PROMPT}","type":"{agent}","workspaceRef":{{"name":"payments-repo"}}}},"#
                );
            }
            Typed::Worker => {
                let _ = write!(
                    out,
                    r#""prompt":"{PROMPT}","worker":{{{CREDENTIALS}"type":"{agent}","workspaceRef":{{"name":"payments-repo"}}}}}},"#
                );
            }
            Typed::Pool => {
                let _ = write!(
                    out,
                    r#""prompt":"{PROMPT}","workerPoolRef":{{"name":"pool-0"}}}},"#
                );
            }
        }
        let _ = write!(
            out,
            r#""status":{{"completionTime":"2026-11-20T09:20:41Z","jobName":"task-{index}-job","message":"Task {phase_word}: the agent exited with code 0 after 6m38s","outputs":["https://github.com/example/payments/pull/{index}"],"phase":"{phase}","podName":"task-{index}-job-x7k2p","#,
            phase = PHASES[facts.phase],
            phase_word = PHASES[facts.phase].to_ascii_lowercase(),
        );
        if let Some(usage) = facts.usage {
            let cost = usage.cost_ten_thousandths;
            if usage.broken_cost {
                out.extend_from_slice(br#""results":{"cost-usd":"n/a","#);
            } else {
                let _ = write!(
                    out,
                    r#""results":{{"cost-usd":"{}.{:04}","#,
                    cost / 10_000,
                    cost % 10_000
                );
            }
            let _ = write!(
                out,
                r#""input-tokens":"{}","output-tokens":"{}","pr_url":"https://github.com/example/payments/pull/{index}"}},"#,
                usage.input_tokens, usage.output_tokens
            );
        }
        out.extend_from_slice(br#""startTime":"2026-11-20T09:14:05Z""#);
        if let Some(usage) = facts.usage.filter(|_| self.kelos()) {
            out.extend_from_slice(br#","usage":"#);
            write_usage(usage, out);
        }
        out.extend_from_slice(b"}}");
    }

    fn write_pool(&self, index: u64, out: &mut Vec<u8>) {
        let h = self.hash(Kind::WorkerPool, index);
        let _ = write!(
            out,
            r#"{{"apiVersion":"{}","kind":"WorkerPool","#,
            self.api_version()
        );
        // Pool `p` is `pool-0` in namespace `p`.
        self.write_metadata_in(Kind::WorkerPool, index, index, ("pool", 0), out);
        let replicas = (h >> 16) % 5;
        let _ = write!(out, r#","spec":{{"#);
        // One pool in five leaves `replicas` to the CRD's default.
        if replicas > 0 {
            let _ = write!(out, r#""replicas":{replicas},"#);
        }
        let _ = write!(
            out,
            r#""volumeClaimTemplate":{{"accessModes":["ReadWriteOnce"],"resources":{{"requests":{{"storage":"20Gi"}}}}}},"worker":{{"credentials":{{"secretRef":{{"name":"agent-credentials"}},"type":"api-key"}},"type":"{agent}","workspaceRef":{{"name":"payments-repo"}}}}}},"status":{{"phase":"{phase}","readyReplicas":{ready},"replicas":{current},"serviceName":"pool-{index}","statefulSetName":"pool-{index}"}}}}"#,
            agent = self.pool_agent(index),
            phase = POOL_PHASES[(h >> 24) as usize % POOL_PHASES.len()],
            current = replicas.max(1),
            ready = replicas.max(1) - (h >> 32) % 2,
        );
    }

    /// Record `r` of Task `2r`: in that Task's namespace, with that Task's UID.
    fn write_record(&self, index: u64, out: &mut Vec<u8>) {
        let task = 2 * index;
        let _ = write!(
            out,
            r#"{{"apiVersion":"{}","kind":"TaskRecord","#,
            self.api_version()
        );
        let ns = self.namespace(Kind::Task, task);
        self.write_metadata_in(Kind::TaskRecord, index, ns, ("record", index), out);
        let _ = write!(
            out,
            r#","spec":{{"completionTime":"2026-11-20T09:31:40Z","model":"opus","phase":"Succeeded","startTime":"2026-11-20T09:14:05Z","taskRef":{{"name":"task-{task}","uid":""#
        );
        self.write_uid(Kind::Task, task, out);
        out.extend_from_slice(
            br#""},"ttlSecondsAfterCompletion":2592000,"type":"claude-code","usage":"#,
        );
        write_usage(self.record_usage(index), out);
        out.extend_from_slice(b"}}");
    }

    fn record_usage(&self, index: u64) -> Usage {
        usage_of(self.hash(Kind::TaskRecord, index), false)
    }

    fn spawner_sources(&self, index: u64) -> &'static [&'static str] {
        const SOURCES: [&[&str]; 4] = [
            &["githubIssues"],
            &["cron"],
            &["jira"],
            &["githubIssues", "cron"],
        ];
        SOURCES[(self.hash(Kind::TaskSpawner, index) >> 8) as usize % SOURCES.len()]
    }

    fn write_spawner(&self, index: u64, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            r#"{{"apiVersion":"{}","kind":"TaskSpawner","#,
            self.api_version()
        );
        self.write_metadata(Kind::TaskSpawner, index, "spawner", out);
        out.extend_from_slice(br#","spec":{"maxConcurrency":3,"taskTemplate":{"prompt":"Triage {{.Title}}","type":"claude-code"},"when":{"#);
        for (i, source) in self.spawner_sources(index).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let body = match *source {
                "githubIssues" => {
                    r#"{"labels":["axon"],"repo":"https://github.com/example/payments"}"#
                }
                "cron" => r#"{"schedule":"0 * * * *"}"#,
                _ => {
                    r#"{"baseUrl":"https://example.atlassian.net","jql":"project = PAY","project":"PAY"}"#
                }
            };
            let _ = write!(out, r#""{source}":{body}"#);
        }
        out.extend_from_slice(br#"}},"status":{"phase":"Running","totalTasksCreated":12}}"#);
    }

    fn write_counted(&self, kind: Kind, index: u64, out: &mut Vec<u8>) {
        let (name, spec) = match kind {
            Kind::AgentConfig => (
                "AgentConfig",
                r#"{"agentsMD":"Always run the tests before committing.\nNever push to main."}"#,
            ),
            _ => (
                "Workspace",
                r#"{"ref":"main","repo":"https://github.com/example/payments.git","secretRef":{"name":"github-token"}}"#,
            ),
        };
        let _ = write!(
            out,
            r#"{{"apiVersion":"{}","kind":"{name}","#,
            self.api_version()
        );
        self.write_metadata(kind, index, &name.to_ascii_lowercase(), out);
        let _ = write!(out, r#","spec":{spec}}}"#);
    }

    /// What a correct reporter must report for this cluster: `tasks`, `features`, `scale`,
    /// `usage` and `workerPools` of the report, as JSON.
    pub fn ground_truth(&self) -> serde_json::Value {
        let mut by_type = BTreeMap::<&str, u64>::new();
        let mut by_phase = BTreeMap::<&str, u64>::new();
        let mut sums = Sums::default();
        for index in 0..self.tasks {
            let facts = self.task(index);
            *by_type.entry(self.task_type(index, &facts)).or_default() += 1;
            let phase = PHASES[facts.phase];
            *by_phase
                .entry(if phase.is_empty() { "Unknown" } else { phase })
                .or_default() += 1;
            if let Some(usage) = facts.usage.filter(|_| !self.recorded(index)) {
                sums.add(usage);
            }
        }
        for index in 0..self.records {
            sums.add(self.record_usage(index));
        }
        let mut sources = BTreeSet::new();
        for index in 0..self.count(Kind::TaskSpawner) {
            for source in self.spawner_sources(index) {
                sources.insert(match *source {
                    "githubIssues" => "github",
                    other => other,
                });
            }
        }
        let mut namespaces = BTreeSet::new();
        for kind in [
            Kind::Task,
            Kind::TaskSpawner,
            Kind::AgentConfig,
            Kind::Workspace,
        ] {
            for index in 0..self.count(kind) {
                namespaces.insert(self.namespace(kind, index));
            }
        }
        for index in 0..self.records {
            namespaces.insert(self.namespace(Kind::Task, 2 * index));
        }
        let mut pools = serde_json::json!({"total": self.pools, "byPhase": {}, "desiredReplicas": 0,
            "currentReplicas": 0, "readyReplicas": 0});
        let (mut desired, mut current, mut ready) = (0u64, 0u64, 0u64);
        let mut pool_phases = BTreeMap::<&str, u64>::new();
        for index in 0..self.pools {
            namespaces.insert(index);
            let h = self.hash(Kind::WorkerPool, index);
            let replicas = (h >> 16) % 5;
            desired += replicas.max(1);
            current += replicas.max(1);
            ready += replicas.max(1) - (h >> 32) % 2;
            *pool_phases
                .entry(POOL_PHASES[(h >> 24) as usize % POOL_PHASES.len()])
                .or_default() += 1;
        }
        pools["byPhase"] = serde_json::json!(pool_phases);
        pools["desiredReplicas"] = desired.into();
        pools["currentReplicas"] = current.into();
        pools["readyReplicas"] = ready.into();
        serde_json::json!({
            "tasks": {"total": self.tasks, "byType": by_type, "byPhase": by_phase},
            "features": {
                "taskSpawners": self.count(Kind::TaskSpawner),
                "agentConfigs": self.count(Kind::AgentConfig),
                "workspaces": self.count(Kind::Workspace),
                "sourceTypes": sources,
                "sessionSpawners": 0,
                "taskBudgets": 0,
                "taskRecords": self.records,
            },
            "scale": {"namespaces": namespaces.len()},
            "usage": {"totalCostUsd": sums.cost_micros as f64 / 1e6, "totalInputTokens": sums.input, "totalOutputTokens": sums.output},
            "workerPools": pools,
        })
    }
}

struct TaskFacts {
    agent: usize,
    phase: usize,
    usage: Option<Usage>,
    typed: Typed,
}

/// Where a Task's agent type is: `.spec.type` (every Axon Task), `.spec.worker.type` or its
/// WorkerPool's (Kelos `v1alpha2`).
#[derive(Clone, Copy)]
enum Typed {
    Legacy,
    Worker,
    Pool,
}

#[derive(Clone, Copy)]
struct Usage {
    cost_ten_thousandths: u64,
    input_tokens: u64,
    output_tokens: u64,
    broken_cost: bool,
}

/// Usage drawn from a hash; one in 997 costs is unparsable when `may_break`.
fn usage_of(h: u64, may_break: bool) -> Usage {
    Usage {
        cost_ten_thousandths: (h >> 24) % 50_000,
        input_tokens: (h >> 32) % 200_000,
        output_tokens: (h >> 40) % 20_000,
        broken_cost: may_break && (h >> 50).is_multiple_of(997),
    }
}

/// `.status.usage` or a TaskRecord's `.spec.usage`, as the controller writes it: the cost in
/// the quantity's canonical form (`"1250m"`, `"12300u"`, `"2"`), left out when unparsable
/// (the controller keeps only valid costs).
fn write_usage(usage: Usage, out: &mut Vec<u8>) {
    out.push(b'{');
    if !usage.broken_cost {
        let micros = usage.cost_ten_thousandths * 100;
        let _ = match micros {
            m if m.is_multiple_of(1_000_000) => write!(out, r#""costUSD":"{}","#, m / 1_000_000),
            m if m.is_multiple_of(1_000) => write!(out, r#""costUSD":"{}m","#, m / 1_000),
            m => write!(out, r#""costUSD":"{m}u","#),
        };
    }
    let _ = write!(
        out,
        r#""inputTokens":{},"outputTokens":{}}}"#,
        usage.input_tokens, usage.output_tokens
    );
}

/// Usage sums as the reporter keeps them.
#[derive(Default)]
struct Sums {
    cost_micros: u64,
    input: u64,
    output: u64,
}

impl Sums {
    fn add(&mut self, usage: Usage) {
        if !usage.broken_cost {
            self.cost_micros += usage.cost_ten_thousandths * 100;
        }
        self.input += usage.input_tokens;
        self.output += usage.output_tokens;
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A prompt as users write them: long, with newlines, quotes and a code block.
const PROMPT: &str = r#"Fix the flaky integration test in the payments service.\n\nThe test `TestRefundWebhookRetries` fails about one run in twenty on CI with \"context deadline exceeded\". Reproduce it locally with `go test -run TestRefundWebhookRetries -count=200 ./internal/refunds/...`, find the race (I suspect the fake clock is advanced before the retry goroutine subscribes), and fix the root cause rather than raising the timeout.\n\nConstraints:\n- keep the public API of package refunds unchanged\n- add a regression test that fails without the fix\n- run `make lint test` before committing\n\nOpen a pull request against main titled \"refunds: fix retry race in webhook test\" and link issue #4821 in the description. If the fix needs a design change, stop and explain it in the pull request instead."#;
