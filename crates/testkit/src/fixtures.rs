//! The operator's objects as a real API server returns them (metadata with uid,
//! resourceVersion, labels, annotations and managedFields; full spec and status), in the
//! shape each API version's CRD gives them: `axon.io/v1alpha1` as of Axon v0.12.0, and
//! `kelos.dev` `v1alpha1` and `v1alpha2` as of Kelos v0.52.0. Built fluently:
//! `Task::new("ns", "t1").agent("codex").phase("Failed").usage("0.5", "10", "20")`.
//! Every free-text field has a setter, so the privacy tests can plant a canary in each.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value, json};

/// An API group version the fake serves, and so the shape an object is rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Axon up to v0.12.0.
    AxonV1alpha1,
    /// Kelos' deprecated version, still served (v0.52.0).
    KelosV1alpha1,
    /// Kelos' storage version (v0.52.0).
    KelosV1alpha2,
}

impl Api {
    pub fn group(self) -> &'static str {
        match self {
            Api::AxonV1alpha1 => "axon.io",
            Api::KelosV1alpha1 | Api::KelosV1alpha2 => "kelos.dev",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Api::AxonV1alpha1 | Api::KelosV1alpha1 => "v1alpha1",
            Api::KelosV1alpha2 => "v1alpha2",
        }
    }

    /// `group/version`, as in `apiVersion`.
    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// The plurals this version serves.
    pub fn plurals(self) -> &'static [&'static str] {
        match self {
            Api::AxonV1alpha1 | Api::KelosV1alpha1 => {
                &["tasks", "taskspawners", "agentconfigs", "workspaces"]
            }
            Api::KelosV1alpha2 => &[
                "tasks",
                "taskspawners",
                "agentconfigs",
                "workspaces",
                "workerpools",
                "taskbudgets",
                "taskrecords",
                "sessions",
                "sessionspawners",
            ],
        }
    }
}

/// An object the fake API server can list.
pub trait Object {
    fn plural(&self) -> &'static str;
    /// The object as `api` serves it.
    fn to_json(&self, api: Api) -> Value;
}

/// Metadata shared by every kind; `extra` text goes into labels and annotations.
#[derive(Clone, Debug)]
pub struct Meta {
    pub namespace: String,
    pub name: String,
    pub label: String,
    pub annotation: String,
    /// Made from the namespace and name, so each object has its own.
    pub uid: String,
}

impl Meta {
    fn new(namespace: &str, name: &str) -> Meta {
        let mut hasher = DefaultHasher::new();
        (namespace, name).hash(&mut hasher);
        let h = hasher.finish();
        Meta {
            namespace: namespace.into(),
            name: name.into(),
            label: "team-a".into(),
            annotation: "created by the nightly pipeline".into(),
            uid: format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xfff,
                (h >> 20) & 0xfff,
                h.rotate_left(17) & 0xffff_ffff_ffff
            ),
        }
    }

    fn to_json(&self, kind: &str, api: Api) -> Value {
        json!({
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "resourceVersion": "48213",
            "generation": 1,
            "creationTimestamp": "2026-11-20T09:14:03Z",
            "labels": {"app.kubernetes.io/managed-by": "axon", "team": self.label},
            "annotations": {"axon.io/note": self.annotation},
            "managedFields": [{
                "manager": "axon-controller",
                "operation": "Update",
                "apiVersion": api.api_version(),
                "time": "2026-11-20T09:20:41Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {".": {}, "f:phase": {}, "f:results": {}}},
                "subresource": "status",
                "kind": kind
            }]
        })
    }
}

#[derive(Clone, Debug)]
pub struct Task {
    pub meta: Meta,
    /// The legacy `.spec.type` (the only one before `v1alpha2`); any JSON, so malformed
    /// values can be planted.
    pub agent: Value,
    /// `v1alpha2` `.spec.worker.type`: an inline worker.
    pub worker: Option<String>,
    /// `v1alpha2` `.spec.workerPoolRef.name`.
    pub pool: Option<String>,
    /// `.status.phase`; `Null` leaves it out.
    pub phase: Value,
    pub results: Map<String, Value>,
    /// `v1alpha2` `.status.usage`.
    pub status_usage: Option<Value>,
    pub prompt: String,
    pub branch: String,
    pub model: String,
    pub image: String,
    pub secret: String,
    pub message: String,
    pub output: String,
}

impl Task {
    pub fn new(namespace: &str, name: &str) -> Task {
        Task {
            meta: Meta::new(namespace, name),
            agent: json!("claude-code"),
            worker: None,
            pool: None,
            phase: Value::Null,
            results: Map::new(),
            status_usage: None,
            prompt: "Fix the flaky test in the payments service and open a pull request.".into(),
            branch: "fix/flaky-test".into(),
            model: "opus".into(),
            image: "ghcr.io/example/agent:1.2.3".into(),
            secret: "agent-credentials".into(),
            message: "Job completed".into(),
            output: "https://github.com/example/repo/pull/42".into(),
        }
    }

    pub fn agent(mut self, agent: &str) -> Task {
        self.agent = json!(agent);
        self
    }

    pub fn agent_json(mut self, agent: Value) -> Task {
        self.agent = agent;
        self
    }

    /// An inline worker of this type (`v1alpha2`), instead of the legacy `.spec.type`.
    pub fn worker(mut self, agent: &str) -> Task {
        self.worker = Some(agent.into());
        self.agent = Value::Null;
        self
    }

    /// Runs on this WorkerPool (`v1alpha2`), instead of the legacy `.spec.type`.
    pub fn pool(mut self, name: &str) -> Task {
        self.pool = Some(name.into());
        self.agent = Value::Null;
        self
    }

    pub fn phase(mut self, phase: &str) -> Task {
        self.phase = json!(phase);
        self
    }

    /// The three usage results as the agents write them: hyphenated keys, decimal strings.
    pub fn usage(self, cost_usd: &str, input_tokens: &str, output_tokens: &str) -> Task {
        self.result("cost-usd", json!(cost_usd))
            .result("input-tokens", json!(input_tokens))
            .result("output-tokens", json!(output_tokens))
    }

    /// The underscore spellings only Kelos' own telemetry fixtures use.
    pub fn legacy_usage(self, cost_usd: &str, input_tokens: &str, output_tokens: &str) -> Task {
        self.result("cost_usd", json!(cost_usd))
            .result("input_tokens", json!(input_tokens))
            .result("output_tokens", json!(output_tokens))
    }

    pub fn result(mut self, key: &str, value: Value) -> Task {
        self.results.insert(key.into(), value);
        self
    }

    /// `.status.usage` as the controller writes it when the Task ends (`v1alpha2`): the
    /// cost as a canonical quantity (`"1250m"`), tokens as integers.
    pub fn status_usage(mut self, usage: Value) -> Task {
        self.status_usage = Some(usage);
        self
    }

    /// The `.spec.worker` object, as `v1alpha2` has it.
    fn worker_json(&self, agent: &str) -> Value {
        json!({
            "type": agent,
            "model": self.model,
            "image": self.image,
            "credentials": {"type": "api-key", "secretRef": {"name": self.secret}},
            "workspaceRef": {"name": "main-repo"}
        })
    }
}

impl Object for Task {
    fn plural(&self) -> &'static str {
        "tasks"
    }

    fn to_json(&self, api: Api) -> Value {
        let mut status = json!({
            "message": self.message,
            "jobName": format!("{}-job", self.meta.name),
            "podName": format!("{}-job-x7k2p", self.meta.name),
            "startTime": "2026-11-20T09:14:05Z",
            "outputs": [self.output],
        });
        if !self.phase.is_null() {
            status["phase"] = self.phase.clone();
        }
        if !self.results.is_empty() {
            status["results"] = Value::Object(self.results.clone());
        }
        let mut spec = json!({
            "prompt": self.prompt,
            "branch": self.branch,
            "ttlSecondsAfterFinished": 3600
        });
        let legacy = || {
            json!({
                "model": self.model,
                "image": self.image,
                "credentials": {"type": "api-key", "secretRef": {"name": self.secret}},
                "workspaceRef": {"name": "main-repo"}
            })
        };
        let extend = |spec: &mut Value, with: Value| {
            for (k, v) in with.as_object().unwrap() {
                spec[k] = v.clone();
            }
        };
        match api {
            Api::AxonV1alpha1 | Api::KelosV1alpha1 => {
                // The conversion webhook fills v1alpha1's required `type` from an inline
                // worker, and leaves it empty for a pool-backed Task (Kelos
                // internal/conversion/task.go).
                let agent = match (&self.worker, &self.pool) {
                    (Some(worker), _) => json!(worker),
                    (None, Some(_)) => json!(""),
                    (None, None) => self.agent.clone(),
                };
                spec["type"] = agent;
                if self.pool.is_some() {
                    spec["credentials"] = json!({"type": ""});
                } else {
                    extend(&mut spec, legacy());
                }
            }
            Api::KelosV1alpha2 => {
                if let Some(worker) = &self.worker {
                    spec["worker"] = self.worker_json(worker);
                } else if let Some(pool) = &self.pool {
                    spec["workerPoolRef"] = json!({"name": pool});
                } else {
                    spec["type"] = self.agent.clone();
                    extend(&mut spec, legacy());
                }
                if let Some(usage) = &self.status_usage {
                    status["usage"] = usage.clone();
                }
            }
        }
        json!({
            "apiVersion": api.api_version(),
            "kind": "Task",
            "metadata": self.meta.to_json("Task", api),
            "spec": spec,
            "status": status
        })
    }
}

#[derive(Clone, Debug)]
pub struct TaskSpawner {
    pub meta: Meta,
    pub when: Map<String, Value>,
    pub phase: String,
    pub message: String,
    pub prompt: String,
}

impl TaskSpawner {
    pub fn new(namespace: &str, name: &str) -> TaskSpawner {
        TaskSpawner {
            meta: Meta::new(namespace, name),
            when: Map::new(),
            phase: "Running".into(),
            message: "watching for new issues".into(),
            prompt: "Triage the issue {{.Title}}".into(),
        }
    }

    pub fn github(self, repo: &str) -> TaskSpawner {
        self.when(
            "githubIssues",
            json!({"repo": repo, "labels": ["axon"], "state": "open"}),
        )
    }

    pub fn cron(self, schedule: &str) -> TaskSpawner {
        self.when("cron", json!({"schedule": schedule}))
    }

    pub fn jira(self, base_url: &str, project: &str, jql: &str) -> TaskSpawner {
        self.when(
            "jira",
            json!({"baseUrl": base_url, "project": project, "jql": jql, "secretRef": {"name": "jira-token"}}),
        )
    }

    pub fn when(mut self, key: &str, value: Value) -> TaskSpawner {
        self.when.insert(key.into(), value);
        self
    }
}

impl Object for TaskSpawner {
    fn plural(&self) -> &'static str {
        "taskspawners"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "TaskSpawner",
            "metadata": self.meta.to_json("TaskSpawner", api),
            "spec": {
                "when": self.when,
                "taskTemplate": {"type": "claude-code", "prompt": self.prompt, "workspaceRef": {"name": "main-repo"}},
                "pollInterval": "5m",
                "maxConcurrency": 3
            },
            "status": {"phase": self.phase, "message": self.message, "totalTasksCreated": 12}
        })
    }
}

#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub meta: Meta,
    pub instructions: String,
}

impl AgentConfig {
    pub fn new(namespace: &str, name: &str) -> AgentConfig {
        AgentConfig {
            meta: Meta::new(namespace, name),
            instructions: "Always run the tests before committing.".into(),
        }
    }
}

impl Object for AgentConfig {
    fn plural(&self) -> &'static str {
        "agentconfigs"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "AgentConfig",
            "metadata": self.meta.to_json("AgentConfig", api),
            "spec": {
                "agentsMD": self.instructions,
                "plugins": [{"name": "review", "skills": [{"name": "lint", "content": "Run the linter."}]}]
            }
        })
    }
}

#[derive(Clone, Debug)]
pub struct Workspace {
    pub meta: Meta,
    pub repo: String,
    pub git_ref: String,
    pub secret: String,
}

impl Workspace {
    pub fn new(namespace: &str, name: &str) -> Workspace {
        Workspace {
            meta: Meta::new(namespace, name),
            repo: "https://github.com/example/payments.git".into(),
            git_ref: "main".into(),
            secret: "github-token".into(),
        }
    }
}

impl Object for Workspace {
    fn plural(&self) -> &'static str {
        "workspaces"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "Workspace",
            "metadata": self.meta.to_json("Workspace", api),
            "spec": {"repo": self.repo, "ref": self.git_ref, "secretRef": {"name": self.secret}}
        })
    }
}

/// A WorkerPool (`kelos.dev/v1alpha2` only).
#[derive(Clone, Debug)]
pub struct WorkerPool {
    pub meta: Meta,
    pub agent: String,
    /// `.spec.replicas`; `None` leaves it unset (the CRD defaults it to 1).
    pub replicas: Option<u32>,
    pub phase: String,
    pub current: u32,
    pub ready: u32,
    pub image: String,
    pub secret: String,
    pub message: String,
}

impl WorkerPool {
    pub fn new(namespace: &str, name: &str) -> WorkerPool {
        WorkerPool {
            meta: Meta::new(namespace, name),
            agent: "claude-code".into(),
            replicas: None,
            phase: "Ready".into(),
            current: 1,
            ready: 1,
            image: "ghcr.io/example/agent:1.2.3".into(),
            secret: "anthropic-api-key".into(),
            message: "all replicas ready".into(),
        }
    }

    pub fn agent(mut self, agent: &str) -> WorkerPool {
        self.agent = agent.into();
        self
    }

    pub fn replicas(mut self, desired: u32, current: u32, ready: u32) -> WorkerPool {
        self.replicas = Some(desired);
        self.current = current;
        self.ready = ready;
        self
    }

    pub fn phase(mut self, phase: &str) -> WorkerPool {
        self.phase = phase.into();
        self
    }
}

impl Object for WorkerPool {
    fn plural(&self) -> &'static str {
        "workerpools"
    }

    fn to_json(&self, api: Api) -> Value {
        let mut spec = json!({
            "worker": {
                "type": self.agent,
                "image": self.image,
                "credentials": {"type": "api-key", "secretRef": {"name": self.secret}},
                "workspaceRef": {"name": "main-repo"}
            },
            "volumeClaimTemplate": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}
        });
        if let Some(replicas) = self.replicas {
            spec["replicas"] = json!(replicas);
        }
        json!({
            "apiVersion": api.api_version(),
            "kind": "WorkerPool",
            "metadata": self.meta.to_json("WorkerPool", api),
            "spec": spec,
            "status": {
                "observedGeneration": 1,
                "phase": self.phase,
                "statefulSetName": format!("{}-workers", self.meta.name),
                "serviceName": format!("{}-workers", self.meta.name),
                "replicas": self.current,
                "readyReplicas": self.ready,
                "message": self.message
            }
        })
    }
}

/// An interactive Session (`kelos.dev/v1alpha2` only).
#[derive(Clone, Debug)]
pub struct Session {
    pub meta: Meta,
    pub agent: String,
    pub phase: String,
    pub prompt: String,
    pub branch: String,
    pub message: String,
    pub pull_request: String,
}

impl Session {
    pub fn new(namespace: &str, name: &str) -> Session {
        Session {
            meta: Meta::new(namespace, name),
            agent: "claude-code".into(),
            phase: "Ready".into(),
            prompt: "Inspect this repository and ask what I would like to work on.".into(),
            branch: "interactive-review".into(),
            message: "session is ready".into(),
            pull_request: "https://github.com/example/repo/pull/7".into(),
        }
    }

    pub fn agent(mut self, agent: &str) -> Session {
        self.agent = agent.into();
        self
    }

    pub fn phase(mut self, phase: &str) -> Session {
        self.phase = phase.into();
        self
    }
}

impl Object for Session {
    fn plural(&self) -> &'static str {
        "sessions"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "Session",
            "metadata": self.meta.to_json("Session", api),
            "spec": {
                "initialBranch": self.branch,
                "initialPrompt": self.prompt,
                "worker": {"type": self.agent, "credentials": {"type": "api-key", "secretRef": {"name": "claude-credentials"}}}
            },
            "status": {
                "phase": self.phase,
                "podName": format!("{}-0", self.meta.name),
                "message": self.message,
                "branch": self.branch,
                "pullRequest": {"url": self.pull_request, "state": "open"}
            }
        })
    }
}

/// A SessionSpawner (`kelos.dev/v1alpha2` only): GitHub webhooks that start Sessions.
#[derive(Clone, Debug)]
pub struct SessionSpawner {
    pub meta: Meta,
    pub repo: String,
    pub prompt: String,
}

impl SessionSpawner {
    pub fn new(namespace: &str, name: &str) -> SessionSpawner {
        SessionSpawner {
            meta: Meta::new(namespace, name),
            repo: "example/payments".into(),
            prompt: "Review the pull request.".into(),
        }
    }
}

impl Object for SessionSpawner {
    fn plural(&self) -> &'static str {
        "sessionspawners"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "SessionSpawner",
            "metadata": self.meta.to_json("SessionSpawner", api),
            "spec": {
                "when": {"githubWebhook": {"repository": self.repo, "events": ["pull_request"]}},
                "sessionTemplate": {"initialPrompt": self.prompt, "worker": {"type": "claude-code"}}
            },
            "status": {"totalSessions": 3, "lastSessionName": format!("{}-3", self.meta.name)}
        })
    }
}

/// A TaskBudget (`kelos.dev/v1alpha2` only).
#[derive(Clone, Debug)]
pub struct TaskBudget {
    pub meta: Meta,
    pub selector: String,
}

impl TaskBudget {
    pub fn new(namespace: &str, name: &str) -> TaskBudget {
        TaskBudget {
            meta: Meta::new(namespace, name),
            selector: "platform".into(),
        }
    }
}

impl Object for TaskBudget {
    fn plural(&self) -> &'static str {
        "taskbudgets"
    }

    fn to_json(&self, api: Api) -> Value {
        json!({
            "apiVersion": api.api_version(),
            "kind": "TaskBudget",
            "metadata": self.meta.to_json("TaskBudget", api),
            "spec": {
                "taskSelector": {"matchLabels": {"team": self.selector}},
                "period": {"type": "Daily", "timezone": "UTC"},
                "maxCostUSD": "50"
            },
            "status": {"used": {"costUSD": "3250m", "inputTokens": 150000, "outputTokens": 9000}}
        })
    }
}

/// A TaskRecord (`kelos.dev/v1alpha2` only): what the controller keeps of a finished Task.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub meta: Meta,
    pub task_name: String,
    pub task_uid: String,
    pub agent: String,
    pub model: String,
    pub phase: String,
    /// `.spec.usage`; `None` leaves it out.
    pub usage: Option<Value>,
}

impl TaskRecord {
    /// The record of `task`, as the controller names it.
    pub fn of(task: &Task) -> TaskRecord {
        TaskRecord {
            meta: Meta::new(&task.meta.namespace, &format!("{}-record", task.meta.name)),
            task_name: task.meta.name.clone(),
            task_uid: task.meta.uid.clone(),
            agent: "claude-code".into(),
            model: task.model.clone(),
            phase: "Succeeded".into(),
            usage: None,
        }
    }

    pub fn usage(mut self, usage: Value) -> TaskRecord {
        self.usage = Some(usage);
        self
    }
}

impl Object for TaskRecord {
    fn plural(&self) -> &'static str {
        "taskrecords"
    }

    fn to_json(&self, api: Api) -> Value {
        let mut spec = json!({
            "taskRef": {"name": self.task_name, "uid": self.task_uid},
            "type": self.agent,
            "model": self.model,
            "phase": self.phase,
            "startTime": "2026-11-20T09:14:05Z",
            "completionTime": "2026-11-20T09:31:40Z",
            "ttlSecondsAfterCompletion": 2592000
        });
        if let Some(usage) = &self.usage {
            spec["usage"] = usage.clone();
        }
        json!({
            "apiVersion": api.api_version(),
            "kind": "TaskRecord",
            "metadata": self.meta.to_json("TaskRecord", api),
            "spec": spec
        })
    }
}

/// Any fixture, for building a mixed cluster in one list.
pub enum Any {
    Task(Task),
    TaskSpawner(TaskSpawner),
    AgentConfig(AgentConfig),
    Workspace(Workspace),
    WorkerPool(WorkerPool),
    Session(Session),
    SessionSpawner(SessionSpawner),
    TaskBudget(TaskBudget),
    TaskRecord(TaskRecord),
}

impl Any {
    fn object(&self) -> &dyn Object {
        match self {
            Any::Task(o) => o,
            Any::TaskSpawner(o) => o,
            Any::AgentConfig(o) => o,
            Any::Workspace(o) => o,
            Any::WorkerPool(o) => o,
            Any::Session(o) => o,
            Any::SessionSpawner(o) => o,
            Any::TaskBudget(o) => o,
            Any::TaskRecord(o) => o,
        }
    }
}

impl Object for Any {
    fn plural(&self) -> &'static str {
        self.object().plural()
    }

    fn to_json(&self, api: Api) -> Value {
        self.object().to_json(api)
    }
}

/// A small, plausible cluster: what the demo serves and what its test expects.
pub fn sample_cluster() -> Vec<Any> {
    vec![
        Any::Task(
            Task::new("team-a", "fix-login")
                .agent("claude-code")
                .phase("Succeeded")
                .usage("1.25", "120000", "8000"),
        ),
        Any::Task(
            Task::new("team-a", "bump-deps")
                .agent("claude-code")
                .phase("Succeeded")
                .usage("0.40", "30000", "2500"),
        ),
        Any::Task(
            Task::new("team-a", "flaky-test")
                .agent("codex")
                .phase("Failed")
                .usage("0.15", "9000", "700"),
        ),
        Any::Task(
            Task::new("team-b", "docs-pass")
                .agent("gemini")
                .phase("Running"),
        ),
        Any::Task(
            Task::new("team-b", "triage-17")
                .agent("claude-code")
                .phase("Pending"),
        ),
        Any::Task(
            Task::new("platform", "upgrade-go")
                .agent("opencode")
                .phase("Waiting"),
        ),
        Any::TaskSpawner(
            TaskSpawner::new("team-a", "issues").github("https://github.com/example/payments"),
        ),
        Any::TaskSpawner(TaskSpawner::new("platform", "nightly").cron("0 2 * * *")),
        Any::AgentConfig(AgentConfig::new("team-a", "house-rules")),
        Any::Workspace(Workspace::new("team-a", "payments")),
        Any::Workspace(Workspace::new("platform", "infra")),
        // Not yet seen by the controller: no phase.
        Any::Task(Task::new("team-b", "new-task").agent("claude-code")),
    ]
}

/// A Kelos v0.52.0 cluster: Tasks with inline workers, on a WorkerPool and in the legacy
/// form, usage in `.status.usage` and in TaskRecords, every new kind. What
/// `dry_run::a_kelos_cluster_gives_the_exact_v2_report` expects.
pub fn kelos_cluster() -> Vec<Any> {
    let recorded = Task::new("team-a", "fix-login")
        .worker("claude-code")
        .phase("Succeeded")
        .usage("1.25", "120000", "8000")
        .status_usage(json!({"costUSD": "1250m", "inputTokens": 120000, "outputTokens": 8000}));
    let gone = Task::new("team-a", "deleted-yesterday");
    vec![
        Any::WorkerPool(
            WorkerPool::new("team-a", "big")
                .agent("codex")
                .replicas(3, 3, 2),
        ),
        Any::WorkerPool(WorkerPool::new("team-b", "small").phase("Scaling")),
        Any::TaskRecord(
            TaskRecord::of(&recorded)
                .usage(json!({"costUSD": "1250m", "inputTokens": 120000, "outputTokens": 8000})),
        ),
        Any::TaskRecord(
            TaskRecord::of(&gone)
                .usage(json!({"costUSD": "12300u", "inputTokens": 900, "outputTokens": 70})),
        ),
        Any::Task(recorded),
        Any::Task(
            Task::new("team-a", "bump-deps")
                .pool("big")
                .phase("Running"),
        ),
        Any::Task(
            Task::new("team-b", "docs-pass")
                .pool("small")
                .phase("Waiting"),
        ),
        Any::Task(
            Task::new("team-b", "orphan")
                .pool("no-such-pool")
                .phase("Pending"),
        ),
        Any::Task(
            Task::new("platform", "upgrade-go")
                .agent("cursor")
                .phase("Failed")
                .usage("0.40", "30000", "2500")
                .status_usage(
                    json!({"costUSD": "400m", "inputTokens": 30000, "outputTokens": 2500}),
                ),
        ),
        Any::Task(
            Task::new("platform", "older")
                .agent("gemini")
                .phase("Succeeded")
                .usage("0.15", "9000", "700"),
        ),
        Any::TaskSpawner(
            TaskSpawner::new("team-a", "issues").github("https://github.com/example/payments"),
        ),
        Any::TaskSpawner(TaskSpawner::new("team-b", "linear").when(
            "linearWebhook",
            json!({"secretRef": {"name": "linear-secret"}}),
        )),
        Any::TaskSpawner(TaskSpawner::new("platform", "nightly").cron("0 2 * * *")),
        Any::AgentConfig(AgentConfig::new("team-a", "house-rules")),
        Any::Workspace(Workspace::new("team-a", "payments")),
        Any::Session(Session::new("team-b", "pairing").agent("codex")),
        Any::Session(Session::new("team-c", "review").phase("Suspended")),
        Any::SessionSpawner(SessionSpawner::new("team-c", "pr-reviews")),
        Any::TaskBudget(TaskBudget::new("platform", "daily-cap")),
    ]
}
