//! Faults on the Kubernetes side: each gets a message an operator can act on and a
//! documented exit code, never a panic.

use serde_json::json;

use crate::support::command::{Reporter, normalized, without_delays};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::{FakeKube, Reply, Route, continue_token};
use crate::support::fixtures::Task;

#[test]
fn missing_crd_counts_zero_and_warns_naming_it() {
    let kube = FakeKube::start();
    kube.uninstall_crd("workspaces")
        .add([Task::new("a", "t").agent("codex")]);
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("WARN"),
        [
            "CRD workspaces.axon.io is not installed (the API server answered 404 for /apis/axon.io/v1alpha1/workspaces): counting 0 Workspaces"
        ]
    );
    let sent = normalized(&endpoint.received()[0].body);
    assert_eq!(
        (
            sent["features"]["workspaces"].clone(),
            sent["tasks"]["total"].clone()
        ),
        (json!(0), json!(1))
    );
}

#[test]
fn forbidden_list_exits_1_naming_the_missing_rule() {
    let kube = FakeKube::start();
    kube.fault(
        Route::List("taskspawners"),
        usize::MAX,
        Reply::forbidden_list("taskspawners"),
    );
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not collect the report: listing taskspawners.axon.io cluster-wide was forbidden: the reporter's \
          service account needs a ClusterRole rule {apiGroups: [axon.io], resources: [taskspawners], verbs: [list]} \
          (the chart creates it unless rbac.create=false): listing taskspawners.axon.io: the API server answered 403 \
          Forbidden: taskspawners.axon.io is forbidden: User \"system:serviceaccount:axon-system:axon-telemetry\" \
          cannot list resource \"taskspawners\" in API group \"axon.io\" at the cluster scope"
        ]
    );
    assert_eq!(endpoint.received().len(), 0);
    let lists: Vec<String> = kube
        .requests()
        .into_iter()
        .filter(|r| r.contains("/apis/"))
        .collect();
    assert_eq!(
        lists,
        [
            "GET /apis/axon.io/v1alpha1/tasks?limit=500",
            "GET /apis/axon.io/v1alpha1/taskspawners?limit=500"
        ]
    );
}

#[test]
fn an_expired_continue_token_restarts_the_list_without_double_counting() {
    let kube = FakeKube::start();
    kube.add((0..1200).map(|i| Task::new("a", &format!("t{i}")).agent("gemini")));
    kube.fault(Route::ListPage("tasks", 3), 1, Reply::expired());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("WARN"),
        [
            "listing tasks.axon.io: the continue token expired (410 Gone) after 2 pages; listing again from the start (restart 1 of 3)"
        ]
    );
    assert_eq!(
        normalized(&endpoint.received()[0].body)["tasks"],
        json!({"total": 1200, "byType": {"gemini": 1200}, "byPhase": {"Unknown": 1200}})
    );
    let task_pages = kube
        .requests()
        .into_iter()
        .filter(|r| r.contains("/tasks?"))
        .count();
    assert_eq!(task_pages, 2 + 1 + 3);
}

#[test]
fn tokens_that_keep_expiring_fail_after_the_restart_bound() {
    let kube = FakeKube::start();
    kube.add((0..600).map(|i| Task::new("a", &format!("t{i}"))));
    kube.fault(Route::ListPage("tasks", 2), usize::MAX, Reply::expired());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not collect the report: listing tasks.axon.io: the continue token expired 3 times in a row (410 Gone); \
          the API server drops list snapshots faster than this cluster can be listed"
        ]
    );
    assert_eq!(
        kube.requests()
            .into_iter()
            .filter(|r| r.contains("/tasks?"))
            .count(),
        8
    );
}

#[test]
fn throttling_is_retried_honouring_retry_after() {
    let kube = FakeKube::start();
    kube.add([Task::new("a", "t")]);
    kube.fault(Route::List("tasks"), 2, Reply::too_many_requests(1));
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("WARN"),
        [
            "listing tasks.axon.io: the API server answered 429; retrying in 1.0s (attempt 2 of 5)",
            "listing tasks.axon.io: the API server answered 429; retrying in 1.0s (attempt 3 of 5)",
        ]
    );
    assert_eq!(
        normalized(&endpoint.received()[0].body)["tasks"]["total"],
        1
    );
}

#[test]
fn server_errors_are_retried_then_fail_the_run() {
    let kube = FakeKube::start();
    kube.fault(
        Route::List("agentconfigs"),
        usize::MAX,
        Reply::status(503, "ServiceUnavailable", "etcd is unavailable"),
    );
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 1);
    assert_eq!(
        without_delays(run.logged("WARN")),
        (2..=5)
            .map(|n| format!("listing agentconfigs.axon.io: the API server answered 503; retrying in <delay> (attempt {n} of 5)"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not collect the report: listing agentconfigs.axon.io failed: listing agentconfigs.axon.io: \
          the API server answered 503 ServiceUnavailable: etcd is unavailable"
        ]
    );
    assert_eq!(endpoint.received().len(), 0);
}

/// A copy of `kube`'s kubeconfig with its line starting with `key` replaced by `lines`.
fn edited_kubeconfig(kube: &FakeKube, key: &str, lines: &str) -> std::path::PathBuf {
    let original = std::fs::read_to_string(kube.kubeconfig()).unwrap();
    let line = original
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in the kubeconfig"));
    let path = kube.dir().join("edited-kubeconfig");
    std::fs::write(&path, original.replace(line, lines)).unwrap();
    path
}

#[test]
fn an_unreachable_api_server_fails_after_bounded_retries() {
    let kube = FakeKube::start();
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let kubeconfig = edited_kubeconfig(&kube, "server:", "    server: http://127.0.0.1:1");
    let run = Reporter::against(&kube)
        .env("KUBECONFIG", &kubeconfig)
        .arg("--dry-run")
        .run();
    assert_eq!(run.code, 1);
    let warnings = without_delays(run.logged("WARN"));
    assert_eq!(
        warnings,
        (2..=5)
            .map(|n| format!("reading ConfigMap axon-system/axon-telemetry: the API server gave no answer (ServiceError: client error (Connect)); retrying in <delay> (attempt {n} of 5)"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not get the installation ID: could not read or write ConfigMap axon-system/axon-telemetry: reading \
          ConfigMap axon-system/axon-telemetry: no answer from the API server at http://127.0.0.1:1/ after 5 attempts: \
          ServiceError: client error (Connect): tcp connect error: Connection refused (os error 111)"
        ]
    );
}

#[test]
fn a_hanging_exec_credential_plugin_ends_at_the_deadline() {
    let kube = FakeKube::start();
    // A credential plugin that never answers (it outlives the run, then ends by itself).
    let exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      \
                command: /bin/sleep\n      args: [\"30\"]\n      interactiveMode: Never";
    let kubeconfig = edited_kubeconfig(&kube, "token:", exec);
    let run = Reporter::against(&kube)
        .env("KUBECONFIG", &kubeconfig)
        .args(["--dry-run", "--deadline", "2s"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.logged("ERROR"),
        [
            "the run's deadline of 2s passed while setting up the Kubernetes client: look for a credential plugin (exec) in the kubeconfig that does not answer"
        ]
    );
}

#[test]
fn an_unreadable_server_version_is_reported_as_unknown() {
    let kube = FakeKube::start();
    kube.fault(
        Route::Version,
        1,
        Reply::status(
            403,
            "Forbidden",
            "forbidden: User cannot get path \"/version\"",
        ),
    );
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("WARN"),
        [
            "reporting k8sVersion \"unknown\": reading the server version: the API server answered 403 Forbidden: forbidden: User cannot get path \"/version\""
        ]
    );
    assert_eq!(
        normalized(&endpoint.received()[0].body)["k8sVersion"],
        "unknown"
    );
}

#[test]
fn a_hung_api_server_ends_at_the_run_deadline() {
    let kube = FakeKube::start();
    kube.fault(Route::List("tasks"), 1, Reply::Hang);
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .sending_to(&endpoint.url())
        .args(["--deadline", "2s"])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.logged("ERROR"),
        [
            "the run's deadline of 2s passed before the report was collected: raise --deadline, or look for a slow or unreachable API server"
        ]
    );
    assert_eq!(endpoint.received().len(), 0);
}

#[test]
fn a_page_that_is_not_a_list_fails_naming_the_page() {
    let kube = FakeKube::start();
    kube.add((0..3).map(|i| Task::new("a", &format!("t{i}"))));
    kube.fault(
        Route::ListPage("tasks", 2),
        1,
        Reply::Body("<html>proxy error</html>".into()),
    );
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .sending_to(&endpoint.url())
        .args(["--page-size", "2"])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not collect the report: listing tasks.axon.io: page 2 is not a valid Kubernetes List: expected '{' at byte 0"
        ]
    );
}

#[test]
fn oversized_pages_are_fetched_again_with_half_the_limit() {
    let kube = FakeKube::start();
    let mut big = Task::new("a", "big").agent("codex");
    big.prompt = "x".repeat(20_000);
    kube.add((0..600).map(|i| Task {
        meta: Task::new("a", &format!("t{i}")).meta,
        ..big.clone()
    }));
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube).sending_to(&endpoint.url()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("WARN"),
        ["listing tasks.axon.io: a page exceeded 8388608 bytes; fetching it again with limit 250"]
    );
    let limits: Vec<String> = kube
        .requests()
        .into_iter()
        .filter(|r| r.contains("/tasks?"))
        .map(|r| {
            r.split_once('?')
                .unwrap()
                .1
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(limits, ["limit=500", "limit=250", "limit=250", "limit=250"]);
    assert_eq!(
        normalized(&endpoint.received()[0].body)["tasks"]["total"],
        600
    );
}

/// A continue token of the wrong type (or metadata that is not an object) would end the
/// list after one page and count only that page; it fails the run instead, naming the kind.
#[test]
fn a_list_whose_continue_token_has_the_wrong_type_fails_naming_the_kind() {
    for (metadata, at, expected) in [
        (
            r#"{"continue":42}"#,
            85,
            r#"a string as the List's "metadata.continue""#,
        ),
        (
            r#"{"continue":{"page":2}}"#,
            85,
            r#"a string as the List's "metadata.continue""#,
        ),
        (
            r#""not an object""#,
            73,
            r#"an object as the List's "metadata""#,
        ),
    ] {
        let kube = FakeKube::start();
        kube.add((0..3).map(|i| Task::new("a", &format!("t{i}"))));
        kube.fault(
            Route::ListPage("tasks", 1),
            1,
            Reply::Body(format!(
                r#"{{"apiVersion":"axon.io/v1alpha1","items":[],"kind":"TaskList","metadata":{metadata}}}"#
            )),
        );
        let endpoint = Endpoint::start();
        let run = Reporter::against(&kube)
            .sending_to(&endpoint.url())
            .args(["--page-size", "1"])
            .run();
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(
            run.logged("ERROR"),
            [format!(
                "could not collect the report: listing tasks.axon.io: page 1 is not a valid Kubernetes List: expected {expected} at byte {at}"
            )]
        );
        assert_eq!(endpoint.received().len(), 0);
    }
}

/// A continue token that leads back to a page already listed would loop until the run's
/// deadline; it fails at once, naming the kind and the loop.
#[test]
fn a_continue_token_that_leads_back_fails_at_once() {
    let kube = FakeKube::start();
    kube.add((0..3).map(|i| Task::new("a", &format!("t{i}")).agent("codex")));
    // The fake's token for page 2, which page 1 hands out; page 2 hands it out again.
    let page_2 = continue_token(1, 2);
    kube.fault(
        Route::ListPage("tasks", 2),
        1,
        Reply::Body(format!(
            r#"{{"apiVersion":"axon.io/v1alpha1","items":[],"kind":"TaskList","metadata":{{"continue":"{page_2}"}}}}"#
        )),
    );
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .sending_to(&endpoint.url())
        .args(["--page-size", "1"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.logged("ERROR"),
        [
            "could not collect the report: listing tasks.axon.io: page 2 leads back to a page already listed \
             (its continue token repeats an earlier page's); the API server is answering in a loop"
        ]
    );
}
