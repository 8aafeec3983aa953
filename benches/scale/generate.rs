//! Realistic Axon objects generated on the fly from (seed, index), and the exact aggregates
//! they add up to (the ground truth), so that neither the fake nor the checker stores them.
//!
//! Objects look like what a real API server returns for a custom resource: keys sorted (Go
//! encodes unstructured maps sorted), full metadata with labels, annotations and
//! managedFields, a long prompt with escapes, status with usage strings. A Task is ~2 KB.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub use axon_telemetry::api::Kind;
use axon_telemetry::api::{Api, GROUPS};

/// The API the generated cluster serves: `axon.io/v1alpha1`, from the reporter's own table.
pub const AXON: Api = GROUPS[0].versions[0];

/// A kind's list, by its plural in the URL.
pub fn kind_of(plural: &str) -> Option<Kind> {
    AXON.kinds.iter().copied().find(|k| k.plural() == plural)
}

/// A generated cluster: how many of each kind, in how many namespaces.
#[derive(Clone, Copy, Debug)]
pub struct Cluster {
    pub seed: u64,
    pub tasks: u64,
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

impl Cluster {
    pub fn count(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Task => self.tasks,
            Kind::TaskSpawner => self.tasks / 200 + 1,
            Kind::AgentConfig => self.tasks / 1000 + 1,
            Kind::Workspace => self.tasks / 500 + 1,
            // Not in axon.io/v1alpha1, the API this cluster serves.
            _ => 0,
        }
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
        let usage = finished.then_some(Usage {
            cost_ten_thousandths: (h >> 24) % 50_000,
            input_tokens: (h >> 32) % 200_000,
            output_tokens: (h >> 40) % 20_000,
            // One in 997 finished Tasks carries an unparsable cost.
            broken_cost: (h >> 50).is_multiple_of(997),
        });
        TaskFacts {
            agent,
            phase,
            usage,
        }
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
                _ => self.write_counted(kind, index, out),
            }
        }
    }

    fn write_metadata(&self, kind: Kind, index: u64, name: &str, out: &mut Vec<u8>) {
        let ns = self.namespace(kind, index);
        let h = self.hash(kind, index);
        let _ = write!(
            out,
            r#""metadata":{{"annotations":{{"axon.io/created-by":"taskspawner/issue-watcher-{ns}","kubectl.kubernetes.io/last-applied-configuration":"{{\"apiVersion\":\"axon.io/v1alpha1\",\"kind\":\"{kind:?}\"}}\n"}},"creationTimestamp":"2026-11-{day:02}T{hour:02}:14:03Z","generation":1,"labels":{{"app.kubernetes.io/managed-by":"axon","axon.io/taskspawner":"issue-watcher-{ns}","team":"team-{ns}"}},"managedFields":[{{"apiVersion":"axon.io/v1alpha1","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:labels":{{".":{{}},"f:team":{{}}}}}},"f:spec":{{".":{{}},"f:branch":{{}},"f:credentials":{{".":{{}},"f:secretRef":{{".":{{}},"f:name":{{}}}},"f:type":{{}}}},"f:prompt":{{}},"f:type":{{}},"f:workspaceRef":{{".":{{}},"f:name":{{}}}}}}}},"manager":"axon-controller","operation":"Update","time":"2026-11-20T09:14:03Z"}},{{"apiVersion":"axon.io/v1alpha1","fieldsType":"FieldsV1","fieldsV1":{{"f:status":{{".":{{}},"f:completionTime":{{}},"f:jobName":{{}},"f:message":{{}},"f:outputs":{{}},"f:phase":{{}},"f:podName":{{}},"f:results":{{".":{{}},"f:cost-usd":{{}},"f:input-tokens":{{}},"f:output-tokens":{{}}}},"f:startTime":{{}}}}}},"manager":"axon-controller","operation":"Update","subresource":"status","time":"2026-11-20T09:20:41Z"}}],"name":"{name}-{index}","namespace":"ns-{ns:04}","resourceVersion":"{rv}","uid":"{a:08x}-{b:04x}-4{c:03x}-8{d:03x}-{e:012x}"}}"#,
            day = 1 + h % 28,
            hour = h % 24,
            rv = 100_000 + index,
            a = h as u32,
            b = (h >> 32) as u16,
            c = (h >> 48) as u16 & 0xfff,
            d = (h >> 20) as u16 & 0xfff,
            e = h >> 16,
        );
    }

    fn write_task(&self, index: u64, out: &mut Vec<u8>) {
        let facts = self.task(index);
        out.extend_from_slice(br#"{"apiVersion":"axon.io/v1alpha1","kind":"Task","#);
        self.write_metadata(Kind::Task, index, "task", out);
        let _ = write!(
            out,
            r#","spec":{{"branch":"axon/task-{index}","credentials":{{"secretRef":{{"name":"agent-credentials"}},"type":"api-key"}},"model":"opus","prompt":"{PROMPT}","type":"{agent}","workspaceRef":{{"name":"payments-repo"}}}},"status":{{"completionTime":"2026-11-20T09:20:41Z","jobName":"task-{index}-job","message":"Task {phase_word}: the agent exited with code 0 after 6m38s","outputs":["https://github.com/example/payments/pull/{index}"],"phase":"{phase}","podName":"task-{index}-job-x7k2p","#,
            agent = AGENTS[facts.agent],
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
        out.extend_from_slice(br#""startTime":"2026-11-20T09:14:05Z"}}"#);
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
        out.extend_from_slice(br#"{"apiVersion":"axon.io/v1alpha1","kind":"TaskSpawner","#);
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
        let _ = write!(out, r#"{{"apiVersion":"axon.io/v1alpha1","kind":"{name}","#);
        self.write_metadata(kind, index, &name.to_ascii_lowercase(), out);
        let _ = write!(out, r#","spec":{spec}}}"#);
    }

    /// What a correct reporter must report for this cluster: `tasks`, `features`, `scale`
    /// and `usage` of the report, as JSON.
    pub fn ground_truth(&self) -> serde_json::Value {
        let mut by_type = BTreeMap::<&str, u64>::new();
        let mut by_phase = BTreeMap::<&str, u64>::new();
        let (mut cost, mut input, mut output) = (0u64, 0u64, 0u64);
        for index in 0..self.tasks {
            let facts = self.task(index);
            let agent = AGENTS[facts.agent];
            *by_type
                .entry(if agent == "aider" { "other" } else { agent })
                .or_default() += 1;
            let phase = PHASES[facts.phase];
            *by_phase
                .entry(if phase.is_empty() { "Unknown" } else { phase })
                .or_default() += 1;
            if let Some(usage) = facts.usage {
                if !usage.broken_cost {
                    cost += usage.cost_ten_thousandths * 100;
                }
                input += usage.input_tokens;
                output += usage.output_tokens;
            }
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
        serde_json::json!({
            "tasks": {"total": self.tasks, "byType": by_type, "byPhase": by_phase},
            "features": {
                "taskSpawners": self.count(Kind::TaskSpawner),
                "agentConfigs": self.count(Kind::AgentConfig),
                "workspaces": self.count(Kind::Workspace),
                "sourceTypes": sources,
            },
            "scale": {"namespaces": namespaces.len()},
            "usage": {"totalCostUsd": cost as f64 / 1e6, "totalInputTokens": input, "totalOutputTokens": output},
        })
    }
}

struct TaskFacts {
    agent: usize,
    phase: usize,
    usage: Option<Usage>,
}

#[derive(Clone, Copy)]
struct Usage {
    cost_ten_thousandths: u64,
    input_tokens: u64,
    output_tokens: u64,
    broken_cost: bool,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A prompt as users write them: long, with newlines, quotes and a code block.
const PROMPT: &str = r#"Fix the flaky integration test in the payments service.\n\nThe test `TestRefundWebhookRetries` fails about one run in twenty on CI with \"context deadline exceeded\". Reproduce it locally with `go test -run TestRefundWebhookRetries -count=200 ./internal/refunds/...`, find the race (I suspect the fake clock is advanced before the retry goroutine subscribes), and fix the root cause rather than raising the timeout.\n\nConstraints:\n- keep the public API of package refunds unchanged\n- add a regression test that fails without the fix\n- run `make lint test` before committing\n\nOpen a pull request against main titled \"refunds: fix retry race in webhook test\" and link issue #4821 in the description. If the fix needs a design change, stop and explain it in the pull request instead."#;
