//! The two comparison clients, each run as its own process so that its memory and CPU are
//! measured alone: the I/O floor (fetch every page, discard it) and the unpaginated baseline
//! (the original plan: list each kind in one request into memory, then count).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use http_body_util::BodyExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::client::Body;
use serde_json::{Value, json};

use axon_telemetry_testkit::generate::{Cluster, Flavor};

/// Bytes kept from the end of a page: the list's metadata (with the continue token) is there.
const TAIL: usize = 4096;

/// Fetches every page of every kind as the reporter does (same page size, same client
/// library, one request at a time) and throws the bodies away. Returns the pages fetched.
pub async fn floor(page_size: u32, flavor: Flavor) -> u64 {
    let client = kube::Client::try_default()
        .await
        .expect("a kubeconfig for the fake API");
    let api = Cluster {
        flavor,
        ..Cluster::default()
    }
    .api();
    let mut pages = 0;
    for &kind in api.kinds {
        let path = api.list_path(kind);
        let mut token: Option<String> = None;
        loop {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &page_size.to_string());
            if let Some(token) = &token {
                query.append_pair("continue", token);
            }
            let uri = format!("{path}?{}", query.finish());
            let response = client
                .send(http::Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let mut body = response.into_body();
            let mut tail = Vec::with_capacity(2 * TAIL);
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    let keep = data.len().min(TAIL);
                    tail.extend_from_slice(&data[data.len() - keep..]);
                    if tail.len() > TAIL {
                        tail.drain(..tail.len() - TAIL);
                    }
                }
            }
            pages += 1;
            token = continue_token(&tail);
            if token.is_none() {
                break;
            }
        }
    }
    pages
}

fn continue_token(tail: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(tail).ok()?;
    let start = text.rfind(r#""continue":""#)? + r#""continue":""#.len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned()).filter(|t| !t.is_empty())
}

/// The original plan: every kind listed without `limit` into memory as whole objects,
/// then counted. Prints the same aggregates as the report for checking. Axon clusters only.
pub async fn baseline() -> Value {
    let client = kube::Client::try_default()
        .await
        .expect("a kubeconfig for the fake API");
    let axon = Cluster::default().api();
    let mut lists = Vec::new();
    for kind in axon.kinds {
        let resource = ApiResource {
            group: axon.group.name().into(),
            version: axon.version.name().into(),
            api_version: axon.id().to_string(),
            kind: kind.name().into(),
            plural: kind.plural().into(),
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        lists.push(
            api.list(&ListParams::default())
                .await
                .expect("an unpaginated list")
                .items,
        );
    }
    let [tasks, spawners, configs, workspaces] =
        <[Vec<DynamicObject>; 4]>::try_from(lists).unwrap();
    let mut namespaces = HashSet::new();
    let mut by_type = BTreeMap::<String, u64>::new();
    let mut by_phase = BTreeMap::<String, u64>::new();
    let (mut cost, mut input, mut output) = (0u64, 0u64, 0u64);
    for task in &tasks {
        let agent = task.data["spec"]["type"].as_str().unwrap_or("");
        let agent = if ["claude-code", "codex", "gemini", "opencode", "cursor"].contains(&agent) {
            agent
        } else {
            "other"
        };
        *by_type.entry(agent.to_owned()).or_default() += 1;
        let phase = task.data["status"]["phase"].as_str().unwrap_or("");
        let phase = if ["Pending", "Running", "Succeeded", "Failed", "Waiting"].contains(&phase) {
            phase
        } else {
            "Unknown"
        };
        *by_phase.entry(phase.to_owned()).or_default() += 1;
        let results = &task.data["status"]["results"];
        let number = |key: &str| {
            results[key]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        cost += number("cost-usd").map_or(0, |v| (v * 1e6).round() as u64);
        input += number("input-tokens").map_or(0, |v| v as u64);
        output += number("output-tokens").map_or(0, |v| v as u64);
    }
    let mut sources = BTreeSet::new();
    for spawner in &spawners {
        if let Some(when) = spawner.data["spec"]["when"].as_object() {
            for key in when.keys() {
                sources.insert(match key.as_str() {
                    "githubIssues" => "github",
                    "cron" => "cron",
                    "jira" => "jira",
                    _ => "other",
                });
            }
        }
    }
    for object in tasks
        .iter()
        .chain(&spawners)
        .chain(&configs)
        .chain(&workspaces)
    {
        namespaces.insert(object.metadata.namespace.clone().unwrap_or_default());
    }
    json!({
        "tasks": {"total": tasks.len(), "byType": by_type, "byPhase": by_phase},
        "features": {
            "taskSpawners": spawners.len(),
            "agentConfigs": configs.len(),
            "workspaces": workspaces.len(),
            "sourceTypes": sources,
            "sessionSpawners": 0,
            "taskBudgets": 0,
            "taskRecords": 0,
        },
        "scale": {"namespaces": namespaces.len()},
        "usage": {"totalCostUsd": cost as f64 / 1e6, "totalInputTokens": input, "totalOutputTokens": output},
    })
}
