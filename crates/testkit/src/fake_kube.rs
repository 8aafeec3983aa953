//! A fake Kubernetes API server speaking the real wire format, for the paths the reporter
//! uses and nothing else: discovery (`/apis`), paginated cluster-wide lists of the
//! operator's kinds in each installed API version (`axon.io/v1alpha1`, `kelos.dev`
//! `v1alpha1` and `v1alpha2`), `/version`, and ConfigMap get/create/update with
//! resourceVersion checks. Errors are `Status` objects
//! as the real API server sends them. Faults (any status, `Retry-After`, a hang) are
//! injected per route; any other path answers 404 and is recorded as unexpected, which
//! `requests()` turns into a test failure.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::fixtures::{Api, Object};
use crate::server::{Received, Server, json as json_response};

/// The bearer token in the kubeconfig the fake writes; anything else is 401.
const TOKEN: &str = "fake-kube-token";

/// Which requests a fault applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// Any page of a cluster-wide list of `plural`, in any version.
    List(&'static str),
    /// Page `n` (1-based) of a list of `plural`.
    ListPage(&'static str, u64),
    /// `GET /apis`.
    Discovery,
    Version,
    GetConfigMap,
    CreateConfigMap,
    UpdateConfigMap,
}

/// What a faulty request gets instead of its normal answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A `Status` error, optionally with `Retry-After` seconds.
    Status {
        code: u16,
        reason: &'static str,
        message: String,
        retry_after: Option<u64>,
    },
    /// A 200 with this body verbatim.
    Body(String),
    /// No answer, ever.
    Hang,
}

impl Reply {
    pub fn status(code: u16, reason: &'static str, message: &str) -> Reply {
        Reply::Status {
            code,
            reason,
            message: message.to_owned(),
            retry_after: None,
        }
    }

    pub fn too_many_requests(retry_after: u64) -> Reply {
        Reply::Status {
            code: 429,
            reason: "TooManyRequests",
            message:
                "the server has received too many requests and has asked us to try again later"
                    .into(),
            retry_after: Some(retry_after),
        }
    }

    /// What the API server answers for a continue token older than its compaction window.
    pub fn expired() -> Reply {
        Reply::status(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter.",
        )
    }

    /// RBAC's answer to a list the service account may not make.
    pub fn forbidden_list(plural: &str) -> Reply {
        Reply::status(
            403,
            "Forbidden",
            &format!(
                "{plural}.axon.io is forbidden: User \"system:serviceaccount:axon-system:axon-telemetry\" \
                 cannot list resource \"{plural}\" in API group \"axon.io\" at the cluster scope"
            ),
        )
    }
}

/// Something another writer does just before a request is handled.
pub type Interference = Box<dyn FnOnce(&mut State) + Send>;

struct Fault {
    route: Route,
    remaining: usize,
    reply: Reply,
}

/// The fake cluster's contents and what happened to it.
pub struct State {
    /// Items (as JSON text) by API version and plural; a plural that is absent has no
    /// CRD. A group version is served while any of its plurals is.
    lists: BTreeMap<(String, &'static str), Vec<String>>,
    config_maps: BTreeMap<(String, String), Value>,
    resource_version: u64,
    git_version: String,
    faults: Vec<Fault>,
    interference: Vec<(Route, Interference)>,
    requests: Vec<Received>,
    unexpected: Vec<String>,
    /// Lists laid out as typed lists are (metadata first) instead of as unstructured ones.
    typed_lists: bool,
}

impl State {
    /// Stores a ConfigMap as if another client had written it.
    pub fn put_config_map(&mut self, namespace: &str, name: &str, data: Value) {
        self.resource_version += 1;
        let map = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": format!("00000000-0000-4000-8000-{:012}", self.resource_version),
                "resourceVersion": self.resource_version.to_string(),
                "creationTimestamp": "2026-11-01T00:00:00Z"
            },
            "data": data
        });
        self.config_maps
            .insert((namespace.to_owned(), name.to_owned()), map);
    }
}

pub struct FakeKube {
    server: Server,
    state: Arc<Mutex<State>>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl FakeKube {
    /// An Axon v0.12.0 cluster: the four `axon.io/v1alpha1` CRDs and no objects.
    pub fn start() -> FakeKube {
        FakeKube::serving(&[Api::AxonV1alpha1])
    }

    /// A Kelos v0.52.0 cluster: `kelos.dev` `v1alpha2` and the deprecated `v1alpha1`, both
    /// served, and no objects.
    pub fn kelos() -> FakeKube {
        FakeKube::serving(&[Api::KelosV1alpha2, Api::KelosV1alpha1])
    }

    /// A cluster serving every kind of each of `apis`.
    pub fn serving(apis: &[Api]) -> FakeKube {
        let kube = FakeKube::with_lists(BTreeMap::new());
        for &api in apis {
            kube.install(api);
        }
        kube
    }

    /// Installs the CRDs of `api`'s kinds (empty lists for those not yet there).
    pub fn install(&self, api: Api) -> &Self {
        let mut state = self.state.lock().unwrap();
        for plural in api.plurals() {
            state.lists.entry((api.api_version(), plural)).or_default();
        }
        self
    }

    fn with_lists(lists: BTreeMap<(String, &'static str), Vec<String>>) -> FakeKube {
        let state = Arc::new(Mutex::new(State {
            lists,
            config_maps: BTreeMap::new(),
            resource_version: 1000,
            git_version: "v1.33.2".into(),
            faults: Vec::new(),
            interference: Vec::new(),
            requests: Vec::new(),
            unexpected: Vec::new(),
            typed_lists: false,
        }));
        let handler_state = state.clone();
        let server = Server::start(
            Arc::new(move |request| handle(&handler_state, request)),
            None,
        );
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = write_kubeconfig(dir.path(), &format!("http://{}", server.addr), TOKEN);
        FakeKube {
            server,
            state,
            dir,
            kubeconfig,
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory that lives as long as the fake (a HOME for the reporter).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Adds objects to the group of the first installed API version, as every version of
    /// that group serves them (the same object, in each version's shape).
    pub fn add(&self, objects: impl IntoIterator<Item = impl Object>) -> &Self {
        let group = {
            let state = self.state.lock().unwrap();
            let (first, _) = state
                .lists
                .keys()
                .next()
                .expect("an API is installed")
                .clone();
            first.split('/').next().unwrap().to_owned()
        };
        self.add_to(&group, objects)
    }

    /// Adds objects to API group `group` (`axon.io`, `kelos.dev`).
    pub fn add_to(&self, group: &str, objects: impl IntoIterator<Item = impl Object>) -> &Self {
        let mut state = self.state.lock().unwrap();
        for object in objects {
            let mut served = false;
            for api in [Api::AxonV1alpha1, Api::KelosV1alpha2, Api::KelosV1alpha1] {
                if api.group() != group {
                    continue;
                }
                if let Some(list) = state.lists.get_mut(&(api.api_version(), object.plural())) {
                    list.push(object.to_json(api).to_string());
                    served = true;
                }
            }
            assert!(
                served,
                "no installed {group} CRD serves {}",
                object.plural()
            );
        }
        self
    }

    /// Adds an item verbatim, e.g. one that is not valid as an object, to every installed
    /// version's list of `plural`.
    pub fn add_raw(&self, plural: &'static str, item: &str) -> &Self {
        let mut state = self.state.lock().unwrap();
        for ((_, p), list) in state.lists.iter_mut() {
            if *p == plural {
                list.push(item.to_owned());
            }
        }
        self
    }

    /// Serves lists laid out as typed lists (`metadata` before `items`).
    pub fn typed_lists(&self) -> &Self {
        self.state.lock().unwrap().typed_lists = true;
        self
    }

    /// Removes the CRD of `plural`, in every group.
    pub fn uninstall_crd(&self, plural: &'static str) -> &Self {
        self.state
            .lock()
            .unwrap()
            .lists
            .retain(|(_, p), _| *p != plural);
        self
    }

    pub fn set_git_version(&self, version: &str) -> &Self {
        self.state.lock().unwrap().git_version = version.to_owned();
        self
    }

    /// Answers the next `times` requests on `route` with `reply`.
    pub fn fault(&self, route: Route, times: usize, reply: Reply) -> &Self {
        self.state.lock().unwrap().faults.push(Fault {
            route,
            remaining: times,
            reply,
        });
        self
    }

    /// Runs `act` just before the next request on `route` is handled.
    pub fn interfere(&self, route: Route, act: impl FnOnce(&mut State) + Send + 'static) -> &Self {
        self.state
            .lock()
            .unwrap()
            .interference
            .push((route, Box::new(act)));
        self
    }

    pub fn put_config_map(&self, namespace: &str, name: &str, data: Value) -> &Self {
        self.state
            .lock()
            .unwrap()
            .put_config_map(namespace, name, data);
        self
    }

    pub fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state
            .config_maps
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every request as `METHOD target`, in order. Panics on any request the fake does not
    /// serve: the reporter must only use the paths a real cluster grants it.
    pub fn requests(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        assert!(
            state.unexpected.is_empty(),
            "unexpected requests: {:#?}",
            state.unexpected
        );
        state.requests.iter().map(Received::line).collect()
    }

    /// The requests themselves, bodies and headers included.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The list requests, `METHOD target`, in order (discovery's `GET /apis` is not one).
    pub fn list_requests(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("GET /apis/"))
            .collect()
    }

    /// Requests that change something.
    pub fn writes(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect()
    }
}

/// Writes `dir/kubeconfig` for the API server at `server` with bearer `token`; its path.
pub fn write_kubeconfig(dir: &Path, server: &str, token: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         users:\n- name: fake\n  user:\n    token: {token}\ncontexts:\n- name: fake\n  context:\n    \
         cluster: fake\n    user: fake\ncurrent-context: fake\n"
    );
    std::fs::write(&path, yaml).expect("write a kubeconfig");
    path
}

fn handle(state: &Mutex<State>, request: Received) -> Option<Response<Full<Bytes>>> {
    let mut state = state.lock().unwrap();
    state.requests.push(request.clone());
    if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Some(status(401, "Unauthorized", "Unauthorized", None));
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let query: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let Some(route) = route(&request.method, path, &query) else {
        state.unexpected.push(request.line());
        return Some(status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            None,
        ));
    };
    if let Some(i) = state
        .interference
        .iter()
        .position(|(r, _)| matches(r, &route))
    {
        let (_, act) = state.interference.remove(i);
        act(&mut state);
    }
    if let Some(fault) = state
        .faults
        .iter_mut()
        .find(|f| f.remaining > 0 && matches(&f.route, &route))
    {
        fault.remaining -= 1;
        return match fault.reply.clone() {
            Reply::Status {
                code,
                reason,
                message,
                retry_after,
            } => Some(status(code, reason, &message, retry_after)),
            Reply::Body(body) => Some(json_response(200, &body)),
            Reply::Hang => None,
        };
    }
    Some(serve(&mut state, &route, &query, &request.body))
}

/// A served request: the route plus, for lists, the page it asks for.
#[derive(Debug)]
enum Served {
    List {
        api: String,
        plural: String,
        page: u64,
    },
    Discovery,
    Version,
    GetConfigMap {
        namespace: String,
        name: String,
    },
    CreateConfigMap {
        namespace: String,
    },
    UpdateConfigMap {
        namespace: String,
        name: String,
    },
}

fn route(method: &str, path: &str, query: &HashMap<String, String>) -> Option<Served> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["version"]) => Some(Served::Version),
        ("GET", ["apis"]) => Some(Served::Discovery),
        ("GET", ["apis", group @ ("axon.io" | "kelos.dev"), version, plural]) => {
            let page = match query.get("continue") {
                Some(token) => decode_token(token).map_or(0, |t| t.page),
                None => 1,
            };
            Some(Served::List {
                api: format!("{group}/{version}"),
                plural: (*plural).to_owned(),
                page,
            })
        }
        ("GET", ["api", "v1", "namespaces", ns, "configmaps", name]) => {
            Some(Served::GetConfigMap {
                namespace: (*ns).into(),
                name: (*name).into(),
            })
        }
        ("POST", ["api", "v1", "namespaces", ns, "configmaps"]) => Some(Served::CreateConfigMap {
            namespace: (*ns).into(),
        }),
        ("PUT", ["api", "v1", "namespaces", ns, "configmaps", name]) => {
            Some(Served::UpdateConfigMap {
                namespace: (*ns).into(),
                name: (*name).into(),
            })
        }
        _ => None,
    }
}

fn matches(route: &Route, served: &Served) -> bool {
    match (route, served) {
        (Route::List(p), Served::List { plural, .. }) => p == plural,
        (Route::ListPage(p, n), Served::List { plural, page, .. }) => p == plural && n == page,
        (Route::Discovery, Served::Discovery) => true,
        (Route::Version, Served::Version) => true,
        (Route::GetConfigMap, Served::GetConfigMap { .. }) => true,
        (Route::CreateConfigMap, Served::CreateConfigMap { .. }) => true,
        (Route::UpdateConfigMap, Served::UpdateConfigMap { .. }) => true,
        _ => false,
    }
}

/// Where a list continues: an opaque base64 token, as the real server's are.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Token {
    offset: usize,
    page: u64,
}

fn encode_token(token: &Token) -> String {
    BASE64.encode(serde_json::to_vec(token).unwrap())
}

/// The continue token the fake hands out for list page `page`, which starts at item
/// `offset`: for tests that make a page hand out the wrong one.
pub fn continue_token(offset: usize, page: u64) -> String {
    encode_token(&Token { offset, page })
}

fn decode_token(token: &str) -> Option<Token> {
    serde_json::from_slice(&BASE64.decode(token).ok()?).ok()
}

fn serve(
    state: &mut State,
    served: &Served,
    query: &HashMap<String, String>,
    body: &str,
) -> Response<Full<Bytes>> {
    match served {
        Served::Version => json_response(
            200,
            &json!({
                "major": "1", "minor": "33", "gitVersion": state.git_version,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-10-01T00:00:00Z", "goVersion": "go1.24.4", "compiler": "gc",
                "platform": "linux/amd64"
            })
            .to_string(),
        ),
        Served::List { api, plural, .. } => list(state, api, plural, query),
        Served::Discovery => json_response(200, &discovery(state).to_string()),
        Served::GetConfigMap { namespace, name } => {
            match state.config_maps.get(&(namespace.clone(), name.clone())) {
                Some(map) => json_response(200, &map.to_string()),
                None => status(
                    404,
                    "NotFound",
                    &format!("configmaps \"{name}\" not found"),
                    None,
                ),
            }
        }
        Served::CreateConfigMap { namespace } => {
            let Ok(map) = serde_json::from_str::<Value>(body) else {
                return status(400, "BadRequest", "the body is not a ConfigMap", None);
            };
            let name = map["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if state
                .config_maps
                .contains_key(&(namespace.clone(), name.clone()))
            {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("configmaps \"{name}\" already exists"),
                    None,
                );
            }
            store(state, namespace, &name, map)
        }
        Served::UpdateConfigMap { namespace, name } => {
            let Ok(map) = serde_json::from_str::<Value>(body) else {
                return status(400, "BadRequest", "the body is not a ConfigMap", None);
            };
            let Some(current) = state.config_maps.get(&(namespace.clone(), name.clone())) else {
                return status(
                    404,
                    "NotFound",
                    &format!("configmaps \"{name}\" not found"),
                    None,
                );
            };
            let sent = map["metadata"]["resourceVersion"].as_str();
            if sent.is_some() && sent != current["metadata"]["resourceVersion"].as_str() {
                let message = format!(
                    "Operation cannot be fulfilled on configmaps \"{name}\": the object has been modified; \
                     please apply your changes to the latest version and try again"
                );
                return status(409, "Conflict", &message, None);
            }
            store(state, namespace, name, map)
        }
    }
}

/// Stores a written ConfigMap as the API server would: its metadata, data and labels,
/// with a new resourceVersion.
fn store(state: &mut State, namespace: &str, name: &str, map: Value) -> Response<Full<Bytes>> {
    state.put_config_map(namespace, name, map["data"].clone());
    let key = (namespace.to_owned(), name.to_owned());
    let stored = state.config_maps.get_mut(&key).unwrap();
    stored["metadata"]["labels"] = map["metadata"]["labels"].clone();
    json_response(200, &stored.to_string())
}

/// The `APIGroupList` of `/apis`: every group version with an installed CRD, plus one
/// built-in group, as a real server always has those. The preferred version is the first
/// installed one (for Kelos, `v1alpha2`: Kubernetes ranks it above `v1alpha1`).
fn discovery(state: &State) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = vec![("apps".into(), vec!["v1".into()])];
    for (api, _) in state.lists.keys() {
        let (group, version) = api.split_once('/').unwrap();
        match groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, versions)) if versions.iter().any(|v| v == version) => {}
            Some((_, versions)) => versions.push(version.to_owned()),
            None => groups.push((group.to_owned(), vec![version.to_owned()])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, mut versions)| {
            versions.sort_by(|a, b| b.cmp(a));
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn list(
    state: &State,
    api: &str,
    plural: &str,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let Some(items) = state.lists.get(&(api.to_owned(), plural_of(plural))) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            None,
        );
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => items.len().max(1),
        Some(Ok(limit)) if limit > 0 => limit,
        Some(_) => return status(400, "BadRequest", "limit must be a positive integer", None),
    };
    let (offset, page) = match query.get("continue") {
        None => (0, 1),
        Some(token) => match decode_token(token) {
            Some(token) => (token.offset, token.page),
            None => {
                return status(
                    400,
                    "BadRequest",
                    "continue key is not valid: illegal base64 data",
                    None,
                );
            }
        },
    };
    let end = (offset + limit).min(items.len());
    let mut metadata = json!({"resourceVersion": state.resource_version.to_string()});
    if end < items.len() {
        metadata["continue"] = json!(encode_token(&Token {
            offset: end,
            page: page + 1
        }));
        metadata["remainingItemCount"] = json!(items.len() - end);
    }
    let kind = kind_of(plural);
    let items = items[offset.min(items.len())..end].join(",");
    // Custom resources are served as unstructured lists: keys sorted, metadata last. Typed
    // lists put metadata first.
    let body = if state.typed_lists {
        format!(
            r#"{{"kind":"{kind}List","apiVersion":"{api}","metadata":{metadata},"items":[{items}]}}"#
        )
    } else {
        format!(
            r#"{{"apiVersion":"{api}","items":[{items}],"kind":"{kind}List","metadata":{metadata}}}"#
        )
    };
    json_response(200, &body)
}

const KINDS: [(&str, &str); 9] = [
    ("tasks", "Task"),
    ("taskspawners", "TaskSpawner"),
    ("agentconfigs", "AgentConfig"),
    ("workspaces", "Workspace"),
    ("workerpools", "WorkerPool"),
    ("taskbudgets", "TaskBudget"),
    ("taskrecords", "TaskRecord"),
    ("sessions", "Session"),
    ("sessionspawners", "SessionSpawner"),
];

fn kind_of(plural: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(p, _)| *p == plural)
        .map_or("Unknown", |(_, kind)| kind)
}

/// The plural as the static string the lists are keyed by ("" for an unknown one).
fn plural_of(plural: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(p, _)| *p == plural)
        .map_or("", |(p, _)| p)
}

fn status(
    code: u16,
    reason: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Response<Full<Bytes>> {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code
    });
    if let Some(seconds) = retry_after {
        status["details"] = json!({"retryAfterSeconds": seconds});
    }
    let mut response = json_response(code, &status.to_string());
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}
