//! The installation ID in ConfigMap axon-telemetry: created once, then only read; races
//! with another writer resolve to one ID.

use serde_json::json;

use crate::support::command::{Reporter, stored_id};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::{FakeKube, Reply, Route};

const THEIRS: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

#[test]
fn the_first_run_creates_the_config_map_with_a_random_uuid() {
    let kube = FakeKube::start();
    let (run, sent) = Reporter::against(&kube).run_and_sent();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let map = kube.config_map("axon-system", "axon-telemetry").unwrap();
    assert_eq!(
        map["metadata"]["labels"],
        json!({"app.kubernetes.io/name": "axon-telemetry", "app.kubernetes.io/part-of": "axon"})
    );
    let id = stored_id(&kube);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    assert_eq!(sent.unwrap()["installationId"], id);
    assert_eq!(
        kube.writes(),
        ["POST /api/v1/namespaces/axon-system/configmaps"]
    );
    assert_eq!(
        run.logged("INFO")[1],
        "created installation ID in ConfigMap axon-system/axon-telemetry; delete the ConfigMap to get a new one"
    );
}

#[test]
fn later_runs_only_read_the_id() {
    let kube = FakeKube::start();
    Reporter::against(&kube).run_and_sent();
    let first = stored_id(&kube);
    for _ in 0..2 {
        let (run, sent) = Reporter::against(&kube).run_and_sent();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(sent.unwrap()["installationId"], first);
    }
    assert_eq!(
        kube.writes(),
        ["POST /api/v1/namespaces/axon-system/configmaps"]
    );
}

#[test]
fn the_namespace_comes_from_pod_namespace() {
    let kube = FakeKube::start();
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .env("POD_NAMESPACE", "telemetry")
        .args(["--endpoint", &endpoint.url()])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        kube.writes(),
        ["POST /api/v1/namespaces/telemetry/configmaps"]
    );
    assert!(kube.config_map("telemetry", "axon-telemetry").is_some());
}

#[test]
fn losing_the_create_race_uses_the_winners_id() {
    let kube = FakeKube::start();
    kube.interfere(Route::CreateConfigMap, |state| {
        state.put_config_map(
            "axon-system",
            "axon-telemetry",
            json!({"installationId": THEIRS}),
        )
    });
    let (run, sent) = Reporter::against(&kube).run_and_sent();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sent.unwrap()["installationId"], THEIRS);
    assert_eq!(stored_id(&kube), THEIRS);
    let identity_requests: Vec<String> = kube
        .requests()
        .into_iter()
        .filter(|r| r.contains("configmaps"))
        .collect();
    assert_eq!(
        identity_requests,
        [
            "GET /api/v1/namespaces/axon-system/configmaps/axon-telemetry",
            "POST /api/v1/namespaces/axon-system/configmaps",
            "GET /api/v1/namespaces/axon-system/configmaps/axon-telemetry",
        ]
    );
}

#[test]
fn an_invalid_id_is_replaced_under_its_resource_version() {
    let kube = FakeKube::start();
    kube.put_config_map(
        "axon-system",
        "axon-telemetry",
        json!({"installationId": "not-a-uuid", "note": "kept"}),
    );
    let version_before =
        kube.config_map("axon-system", "axon-telemetry").unwrap()["metadata"]["resourceVersion"]
            .clone();
    let (run, sent) = Reporter::against(&kube).run_and_sent();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = stored_id(&kube);
    assert_eq!(sent.unwrap()["installationId"], id);
    assert_eq!(
        kube.config_map("axon-system", "axon-telemetry").unwrap()["data"]["note"],
        "kept"
    );
    let update = kube
        .received()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&update.body).unwrap();
    assert_eq!(body["metadata"]["resourceVersion"], version_before);
    assert_eq!(
        run.logged("WARN"),
        [
            "ConfigMap axon-system/axon-telemetry held no valid installationId; replaced it with a new one"
        ]
    );
}

#[test]
fn a_conflicting_update_rereads_and_uses_the_other_writers_id() {
    let kube = FakeKube::start();
    kube.put_config_map("axon-system", "axon-telemetry", json!({}));
    kube.interfere(Route::UpdateConfigMap, |state| {
        state.put_config_map(
            "axon-system",
            "axon-telemetry",
            json!({"installationId": THEIRS}),
        )
    });
    let (run, sent) = Reporter::against(&kube).run_and_sent();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(sent.unwrap()["installationId"], THEIRS);
    assert_eq!(
        kube.writes(),
        ["PUT /api/v1/namespaces/axon-system/configmaps/axon-telemetry"]
    );
}

#[test]
fn forbidden_config_map_access_exits_1_naming_the_role() {
    let kube = FakeKube::start();
    let message = "configmaps \"axon-telemetry\" is forbidden: User \"system:serviceaccount:axon-system:axon-telemetry\" \
                   cannot get resource \"configmaps\" in API group \"\" in the namespace \"axon-system\"";
    kube.fault(
        Route::GetConfigMap,
        1,
        Reply::status(403, "Forbidden", message),
    );
    let (run, sent) = Reporter::against(&kube).run_and_sent();
    assert_eq!(run.code, 1);
    assert_eq!(sent, None);
    assert_eq!(
        run.logged("ERROR"),
        [format!(
            "could not get the installation ID: access to ConfigMap axon-system/axon-telemetry was forbidden: the \
             reporter's service account needs a Role in axon-system allowing get and update on configmaps named \
             axon-telemetry, and create on configmaps (the chart creates it unless rbac.create=false): reading \
             ConfigMap axon-system/axon-telemetry: the API server answered 403 Forbidden: {message}"
        )]
    );
}
