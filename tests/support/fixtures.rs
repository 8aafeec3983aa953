//! Axon objects as a real API server returns them (metadata with uid, resourceVersion,
//! labels, annotations and managedFields; full spec and status), built fluently:
//! `Task::new("ns", "t1").agent("codex").phase("Failed").usage("0.5", "10", "20")`.
//! Every free-text field has a setter, so the privacy tests can plant a canary in each.

use serde_json::{Map, Value, json};

/// An object the fake API server can list.
pub trait Object {
    fn plural(&self) -> &'static str;
    fn to_json(&self) -> Value;
}

/// Metadata shared by every kind; `extra` text goes into labels and annotations.
#[derive(Clone, Debug)]
pub struct Meta {
    pub namespace: String,
    pub name: String,
    pub label: String,
    pub annotation: String,
}

impl Meta {
    fn new(namespace: &str, name: &str) -> Meta {
        Meta {
            namespace: namespace.into(),
            name: name.into(),
            label: "team-a".into(),
            annotation: "created by the nightly pipeline".into(),
        }
    }

    fn to_json(&self, kind: &str) -> Value {
        json!({
            "name": self.name,
            "namespace": self.namespace,
            "uid": "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b",
            "resourceVersion": "48213",
            "generation": 1,
            "creationTimestamp": "2026-11-20T09:14:03Z",
            "labels": {"app.kubernetes.io/managed-by": "axon", "team": self.label},
            "annotations": {"axon.io/note": self.annotation},
            "managedFields": [{
                "manager": "axon-controller",
                "operation": "Update",
                "apiVersion": "axon.io/v1alpha1",
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
    /// `.spec.type`; any JSON, so malformed values can be planted.
    pub agent: Value,
    /// `.status.phase`; `Null` leaves it out.
    pub phase: Value,
    pub results: Map<String, Value>,
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
            phase: Value::Null,
            results: Map::new(),
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

    pub fn phase(mut self, phase: &str) -> Task {
        self.phase = json!(phase);
        self
    }

    /// The three usage results as Axon writes them: decimal strings.
    pub fn usage(self, cost_usd: &str, input_tokens: &str, output_tokens: &str) -> Task {
        self.result("cost_usd", json!(cost_usd))
            .result("input_tokens", json!(input_tokens))
            .result("output_tokens", json!(output_tokens))
    }

    pub fn result(mut self, key: &str, value: Value) -> Task {
        self.results.insert(key.into(), value);
        self
    }
}

impl Object for Task {
    fn plural(&self) -> &'static str {
        "tasks"
    }

    fn to_json(&self) -> Value {
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
        json!({
            "apiVersion": "axon.io/v1alpha1",
            "kind": "Task",
            "metadata": self.meta.to_json("Task"),
            "spec": {
                "type": self.agent,
                "prompt": self.prompt,
                "branch": self.branch,
                "model": self.model,
                "image": self.image,
                "credentials": {"type": "api-key", "secretRef": {"name": self.secret}},
                "workspaceRef": {"name": "main-repo"},
                "ttlSecondsAfterFinished": 3600
            },
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

    fn to_json(&self) -> Value {
        json!({
            "apiVersion": "axon.io/v1alpha1",
            "kind": "TaskSpawner",
            "metadata": self.meta.to_json("TaskSpawner"),
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

    fn to_json(&self) -> Value {
        json!({
            "apiVersion": "axon.io/v1alpha1",
            "kind": "AgentConfig",
            "metadata": self.meta.to_json("AgentConfig"),
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

    fn to_json(&self) -> Value {
        json!({
            "apiVersion": "axon.io/v1alpha1",
            "kind": "Workspace",
            "metadata": self.meta.to_json("Workspace"),
            "spec": {"repo": self.repo, "ref": self.git_ref, "secretRef": {"name": self.secret}}
        })
    }
}

/// Any fixture, for building a mixed cluster in one list.
pub enum Any {
    Task(Task),
    TaskSpawner(TaskSpawner),
    AgentConfig(AgentConfig),
    Workspace(Workspace),
}

impl Object for Any {
    fn plural(&self) -> &'static str {
        match self {
            Any::Task(o) => o.plural(),
            Any::TaskSpawner(o) => o.plural(),
            Any::AgentConfig(o) => o.plural(),
            Any::Workspace(o) => o.plural(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Any::Task(o) => o.to_json(),
            Any::TaskSpawner(o) => o.to_json(),
            Any::AgentConfig(o) => o.to_json(),
            Any::Workspace(o) => o.to_json(),
        }
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
