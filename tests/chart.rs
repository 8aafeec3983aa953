//! The Helm chart, checked with both pinned Helm majors (hack/install-helm.sh puts them in
//! .tools/): `helm lint --strict`, a matrix of values rendered by `helm template` whose every
//! document must parse into its Kubernetes type with no unknown field and equal what is
//! expected, the schema's rejections, NOTES, the docs of every value, and install.yaml.
//! A missing Helm fails these tests; it never skips them.

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn chart() -> PathBuf {
    Path::new(ROOT).join("charts/axon-telemetry")
}

/// A pinned Helm, run with its own HOME so that nothing of the user's Helm config applies.
struct Helm {
    major: &'static str,
    binary: PathBuf,
    home: tempfile::TempDir,
}

impl Helm {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let home = self.home.path();
        std::process::Command::new(&self.binary)
            .args(args)
            .env_clear()
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home)
            .env("XDG_CACHE_HOME", home)
            .env("XDG_DATA_HOME", home)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.binary.display()))
    }

    /// `helm template` with `args` (e.g. `--set x=y`): the documents, or Helm's stderr.
    fn template(&self, args: &[&str]) -> Result<Vec<Value>, String> {
        let chart = chart();
        let mut all = vec![
            "template",
            "axon-telemetry",
            chart.to_str().unwrap(),
            "--namespace",
            "axon-system",
        ];
        all.extend_from_slice(args);
        let output = self.run(&all);
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(documents(&String::from_utf8(output.stdout).unwrap()))
    }
}

/// Helm 4 and Helm 3, as hack/install-helm.sh installs them.
fn helms() -> Vec<Helm> {
    [("v4.", "helm4"), ("v3.", "helm3")]
        .into_iter()
        .map(|(major, dir)| {
            let binary = Path::new(ROOT).join(".tools").join(dir).join("helm");
            assert!(
                binary.exists(),
                "Helm is missing at {}: run hack/install-helm.sh (hack/test.sh does)",
                binary.display()
            );
            let helm = Helm {
                major,
                binary,
                home: tempfile::tempdir().unwrap(),
            };
            let version = helm.run(&["version", "--template", "{{.Version}}"]);
            let version = String::from_utf8_lossy(&version.stdout).into_owned();
            assert!(
                version.starts_with(major),
                "{dir} is Helm {version}, expected {major}x"
            );
            helm
        })
        .collect()
}

/// The documents of a multi-document YAML stream, each checked against its Kubernetes type.
fn documents(yaml: &str) -> Vec<Value> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("valid YAML");
    let documents: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
    for document in &documents {
        match document["kind"].as_str() {
            Some("CronJob") => check_cron_job(&strict::<CronJob>(document)),
            Some("ServiceAccount") => drop(strict::<ServiceAccount>(document)),
            Some("ClusterRole") => drop(strict::<ClusterRole>(document)),
            Some("ClusterRoleBinding") => drop(strict::<ClusterRoleBinding>(document)),
            Some("Role") => drop(strict::<Role>(document)),
            Some("RoleBinding") => drop(strict::<RoleBinding>(document)),
            Some("Namespace") => drop(strict::<Namespace>(document)),
            Some("Pod") => drop(strict::<Pod>(document)),
            other => panic!("unexpected kind {other:?}"),
        }
    }
    documents
}

/// Deserializes into `T`, failing on any field `T` does not have: k8s-openapi would
/// otherwise drop a misspelled field (`backofLimit`) without a word.
fn strict<T: DeserializeOwned>(document: &Value) -> T {
    let mut unknown = Vec::new();
    let typed = serde_ignored::deserialize(document.clone(), |path| unknown.push(path.to_string()))
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", document["kind"]));
    assert_eq!(
        unknown,
        Vec::<String>::new(),
        "unknown fields in {}",
        document["kind"]
    );
    typed
}

/// What types cannot say: enum-like strings hold one of their values.
fn check_cron_job(cron_job: &CronJob) {
    let spec = cron_job.spec.as_ref().unwrap();
    let policy = spec.concurrency_policy.as_deref().unwrap();
    assert!(
        ["Allow", "Forbid", "Replace"].contains(&policy),
        "concurrencyPolicy {policy}"
    );
    let pod = spec
        .job_template
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("OnFailure"));
    let pull = pod.containers[0].image_pull_policy.as_deref().unwrap();
    assert!(
        ["Always", "IfNotPresent", "Never"].contains(&pull),
        "imagePullPolicy {pull}"
    );
}

fn labels() -> Value {
    json!({
        "helm.sh/chart": "axon-telemetry-0.1.0",
        "app.kubernetes.io/name": "axon-telemetry",
        "app.kubernetes.io/instance": "axon-telemetry",
        "app.kubernetes.io/version": "0.1.0",
        "app.kubernetes.io/component": "telemetry",
        "app.kubernetes.io/part-of": "axon",
        "app.kubernetes.io/managed-by": "Helm"
    })
}

fn subjects(service_account: &str) -> Value {
    json!([{"kind": "ServiceAccount", "name": service_account, "namespace": "axon-system"}])
}

fn service_account() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "axon-telemetry", "namespace": "axon-system", "labels": labels()},
        "automountServiceAccountToken": false
    })
}

fn rbac(service_account: &str) -> Vec<Value> {
    let meta = json!({"name": "axon-telemetry", "labels": labels()});
    let namespaced =
        json!({"name": "axon-telemetry", "namespace": "axon-system", "labels": labels()});
    vec![
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": [
                {"apiGroups": ["axon.io"], "resources": ["tasks", "taskspawners", "agentconfigs", "workspaces"], "verbs": ["list"]},
                {"apiGroups": ["kelos.dev"], "resources": ["workerpools", "taskrecords", "tasks", "taskspawners", "agentconfigs", "workspaces", "sessions", "sessionspawners", "taskbudgets"], "verbs": ["list"]}
            ]
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "axon-telemetry"},
            "subjects": subjects(service_account)
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": namespaced,
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["axon-telemetry"], "verbs": ["get", "update"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}
            ]
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": namespaced,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "axon-telemetry"},
            "subjects": subjects(service_account)
        }),
    ]
}

fn cron_job() -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "axon-telemetry", "namespace": "axon-system", "labels": labels()},
        "spec": {
            "schedule": "0 6 * * *",
            "concurrencyPolicy": "Replace",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "startingDeadlineSeconds": 600,
            "jobTemplate": {
                "metadata": {"labels": labels()},
                "spec": {
                    "backoffLimit": 3,
                    "activeDeadlineSeconds": 3600,
                    "template": {
                        "metadata": {"labels": labels()},
                        "spec": {
                            "serviceAccountName": "axon-telemetry",
                            "automountServiceAccountToken": true,
                            "restartPolicy": "OnFailure",
                            "securityContext": {
                                "runAsNonRoot": true,
                                "runAsUser": 65532,
                                "runAsGroup": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"}
                            },
                            "containers": [{
                                "name": "reporter",
                                "image": "ghcr.io/kelos-dev/axon-telemetry:0.1.0",
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "report",
                                    "--endpoint", "https://telemetry.axon.dev/v1/report",
                                    "--max-delay", "30m"
                                ],
                                "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                                "securityContext": {
                                    "allowPrivilegeEscalation": false,
                                    "readOnlyRootFilesystem": true,
                                    "capabilities": {"drop": ["ALL"]}
                                },
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "32Mi"},
                                    "limits": {"cpu": "100m", "memory": "64Mi"}
                                }
                            }]
                        }
                    }
                }
            }
        }
    })
}

/// Everything the defaults render, in Helm's install order.
fn defaults() -> Vec<Value> {
    let mut all = vec![service_account()];
    all.extend(rbac("axon-telemetry"));
    all.push(cron_job());
    all
}

fn kinds(documents: &[Value]) -> Vec<&str> {
    documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect()
}

fn pod_spec(cron_job: &mut Value) -> &mut Value {
    &mut cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
}

fn container(cron_job: &mut Value) -> &mut Value {
    &mut pod_spec(cron_job)["containers"][0]
}

/// Renders `args` with every Helm and compares with `expected`, document by document.
/// The `helm test` Pod that goes with `cron_job`: its pod spec exactly, but for a dry run
/// that restarts never, and the test hook's annotations.
fn test_pod(cron_job: &Value) -> Value {
    let template = &cron_job["spec"]["jobTemplate"]["spec"]["template"];
    let mut spec = template["spec"].clone();
    spec["restartPolicy"] = json!("Never");
    spec["containers"][0]["args"] = json!(["report", "--dry-run", "--strict"]);
    let mut annotations = json!({
        "helm.sh/hook": "test",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"
    });
    if let Some(pod_annotations) = template["metadata"]["annotations"].as_object() {
        for (key, value) in pod_annotations {
            annotations[key] = value.clone();
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "axon-telemetry-test",
            "namespace": cron_job["metadata"]["namespace"],
            "labels": template["metadata"]["labels"],
            "annotations": annotations
        },
        "spec": spec
    })
}

/// Renders with both Helm majors and compares every document with `expected`, plus the
/// `helm test` Pod of its CronJob, which `helm template` renders last.
fn assert_renders(args: &[&str], expected: &[Value]) {
    let mut expected = expected.to_vec();
    if let Some(cron_job) = expected.iter().find(|d| d["kind"] == "CronJob") {
        expected.push(test_pod(cron_job));
    }
    let expected = &expected[..];
    for helm in helms() {
        let rendered = helm
            .template(args)
            .unwrap_or_else(|e| panic!("Helm {} {args:?}: {e}", helm.major));
        assert_eq!(
            kinds(&rendered),
            kinds(expected),
            "Helm {} {args:?}",
            helm.major
        );
        for (got, want) in rendered.iter().zip(expected) {
            assert_eq!(got, want, "Helm {} {args:?}: {}", helm.major, want["kind"]);
        }
    }
}

#[test]
fn lint_strict_passes_with_both_helm_majors() {
    for helm in helms() {
        let output = helm.run(&["lint", "--strict", chart().to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Helm {}: {stdout}{}",
            helm.major,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{stdout}"
        );
    }
}

#[test]
fn defaults_render_the_cron_job_and_least_privilege_rbac() {
    assert_renders(&[], &defaults());
}

#[test]
fn disabled_renders_nothing() {
    assert_renders(&["--set", "telemetry.enabled=false"], &[]);
    assert_renders(
        &[
            "--set",
            "telemetry.enabled=false",
            "--set",
            "serviceAccount.create=false",
        ],
        &[],
    );
}

#[test]
fn schedule_time_zone_endpoint_and_delay_reach_the_cron_job() {
    let mut expected = defaults();
    let cron = expected.last_mut().unwrap();
    cron["spec"]["schedule"] = json!("30 2 * * 1");
    cron["spec"]["timeZone"] = json!("Europe/Berlin");
    container(cron)["args"] = json!([
        "report",
        "--endpoint",
        "http://collector.monitoring.svc:8080/v1/report",
        "--axon-version",
        "v0.5.0",
        "--max-delay",
        "0s"
    ]);
    assert_renders(
        &[
            "--set",
            "telemetry.schedule=30 2 * * 1",
            "--set",
            "telemetry.timeZone=Europe/Berlin",
            "--set",
            "telemetry.endpoint=http://collector.monitoring.svc:8080/v1/report",
            "--set",
            "telemetry.maxDelay=0s",
            "--set",
            "axonVersion=v0.5.0",
        ],
        &expected,
    );
}

#[test]
fn an_existing_service_account_is_bound_instead_of_created() {
    let mut expected = rbac("reporter-sa");
    let mut cron = cron_job();
    pod_spec(&mut cron)["serviceAccountName"] = json!("reporter-sa");
    expected.push(cron);
    assert_renders(
        &[
            "--set",
            "serviceAccount.create=false",
            "--set",
            "serviceAccount.name=reporter-sa",
        ],
        &expected,
    );
}

#[test]
fn rbac_create_false_leaves_rbac_to_the_operator() {
    assert_renders(
        &["--set", "rbac.create=false"],
        &[service_account(), cron_job()],
    );
}

#[test]
fn extra_env_follows_pod_namespace() {
    let mut expected = defaults();
    let cron = expected.last_mut().unwrap();
    let env = container(cron)["env"].as_array_mut().unwrap();
    env.push(json!({"name": "HTTPS_PROXY", "value": "http://proxy.example:3128"}));
    env.push(json!({"name": "NO_PROXY", "value": ".svc,10.0.0.0/8"}));
    assert_renders(
        &[
            "--set-json",
            r#"extraEnv=[{"name":"HTTPS_PROXY","value":"http://proxy.example:3128"},{"name":"NO_PROXY","value":".svc,10.0.0.0/8"}]"#,
        ],
        &expected,
    );
}

#[test]
fn resources_can_be_overridden() {
    let mut expected = defaults();
    let cron = expected.last_mut().unwrap();
    container(cron)["resources"] = json!({"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}});
    assert_renders(
        &[
            "--set",
            "resources.requests.memory=48Mi",
            "--set",
            "resources.limits.memory=128Mi",
            "--set",
            "resources.limits.cpu=200m",
        ],
        &expected,
    );
}

#[test]
fn pod_placement_image_and_job_knobs_are_rendered_where_kubernetes_reads_them() {
    let mut expected = defaults();
    let cron = expected.last_mut().unwrap();
    cron["spec"]["concurrencyPolicy"] = json!("Forbid");
    cron["spec"]["successfulJobsHistoryLimit"] = json!(3);
    cron["spec"]["failedJobsHistoryLimit"] = json!(0);
    cron["spec"]
        .as_object_mut()
        .unwrap()
        .remove("startingDeadlineSeconds");
    let job = &mut cron["spec"]["jobTemplate"]["spec"];
    job["backoffLimit"] = json!(0);
    job["activeDeadlineSeconds"] = json!(900);
    job["ttlSecondsAfterFinished"] = json!(86400);
    let template = &mut job["template"];
    template["metadata"]["labels"]["team"] = json!("platform");
    template["metadata"]["annotations"] = json!({"example.com/owner": "sre"});
    let pod = &mut template["spec"];
    pod["priorityClassName"] = json!("low");
    pod["imagePullSecrets"] = json!([{"name": "regcred"}]);
    pod["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    pod["tolerations"] =
        json!([{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]);
    pod["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["system"]}]}}]}});
    pod["containers"][0]["image"] = json!("registry.example/axon-telemetry:dev");
    pod["containers"][0]["imagePullPolicy"] = json!("Always");
    assert_renders(
        &[
            "--set",
            "concurrencyPolicy=Forbid",
            "--set",
            "successfulJobsHistoryLimit=3",
            "--set",
            "failedJobsHistoryLimit=0",
            "--set",
            "startingDeadlineSeconds=null",
            "--set",
            "backoffLimit=0",
            "--set",
            "activeDeadlineSeconds=900",
            "--set",
            "ttlSecondsAfterFinished=86400",
            "--set",
            "podLabels.team=platform",
            "--set",
            "podAnnotations.example\\.com/owner=sre",
            "--set",
            "priorityClassName=low",
            "--set-json",
            r#"imagePullSecrets=[{"name":"regcred"}]"#,
            "--set",
            "nodeSelector.kubernetes\\.io/os=linux",
            "--set-json",
            r#"tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]"#,
            "--set-json",
            r#"affinity={"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{"matchExpressions":[{"key":"pool","operator":"In","values":["system"]}]}}]}}"#,
            "--set",
            "image.repository=registry.example/axon-telemetry",
            "--set",
            "image.tag=dev",
            "--set",
            "image.pullPolicy=Always",
        ],
        &expected,
    );
}

#[test]
fn an_image_digest_wins_over_the_tag_in_the_cron_job_and_the_test_pod() {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let mut expected = defaults();
    container(expected.last_mut().unwrap())["image"] =
        json!(format!("ghcr.io/kelos-dev/axon-telemetry@{digest}"));
    assert_renders(
        &[
            "--set",
            &format!("image.digest={digest}"),
            "--set",
            "image.tag=dev",
        ],
        &expected,
    );
}

#[test]
fn the_pod_meets_the_restricted_pod_security_standard() {
    for helm in helms() {
        let mut rendered = helm.template(&[]).unwrap();
        let test = rendered.iter().find(|d| d["kind"] == "Pod").unwrap()["spec"].clone();
        let cron = rendered
            .iter_mut()
            .find(|d| d["kind"] == "CronJob")
            .unwrap();
        let reporter = pod_spec(cron).clone();
        // The `helm test` Pod runs exactly as the reports do.
        for pod in [reporter, test] {
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
            assert_ne!(pod["securityContext"]["runAsUser"], 0);
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            for container in pod["containers"].as_array().unwrap() {
                let context = &container["securityContext"];
                assert_eq!(context["allowPrivilegeEscalation"], false);
                assert_eq!(context["capabilities"]["drop"], json!(["ALL"]));
                assert_eq!(context["readOnlyRootFilesystem"], true);
                assert!(
                    context.get("privileged").is_none()
                        && context["capabilities"].get("add").is_none()
                );
            }
            assert!(
                pod.get("volumes").is_none()
                    && pod.get("hostNetwork").is_none()
                    && pod.get("hostPID").is_none()
            );
        }
    }
}

#[test]
fn the_cluster_role_lists_exactly_what_the_reporter_reads() {
    let rendered = helms()[0].template(&[]).unwrap();
    let role = rendered
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .unwrap();
    // One rule per group, listing every kind any of its versions serves, in table order.
    let rules: Vec<_> = axon_telemetry::api::GROUPS
        .iter()
        .map(|group| {
            let mut plurals: Vec<&str> = Vec::new();
            for kind in group.versions.iter().flat_map(|api| api.kinds) {
                if !plurals.contains(&kind.plural()) {
                    plurals.push(kind.plural());
                }
            }
            json!({"apiGroups": [group.group.name()], "resources": plurals, "verbs": ["list"]})
        })
        .collect();
    assert_eq!(role["rules"], json!(rules));
    let role = rendered.iter().find(|d| d["kind"] == "Role").unwrap();
    assert_eq!(
        role["rules"][0]["resourceNames"],
        json!([axon_telemetry::CONFIG_MAP_NAME])
    );
}

/// The operator's own chart can take this one as a dependency: Helm passes the parent's
/// `global` values to it (the schema allows them), the parent's `telemetry.enabled` is the
/// dependency's condition, and the parent sets `axonVersion` to the operator's release.
#[test]
fn a_parent_chart_includes_it_as_a_dependency_with_telemetry_on_and_off() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(
        parent.path().join("Chart.yaml"),
        "apiVersion: v2\nname: kelos\nversion: 0.52.0\nappVersion: v0.52.0\ndependencies:\n\
         - name: axon-telemetry\n  version: 0.1.0\n  repository: file://../axon-telemetry\n\
         \x20 condition: telemetry.enabled\n",
    )
    .unwrap();
    std::fs::write(
        parent.path().join("values.yaml"),
        "global:\n  imageRegistry: registry.example\ntelemetry:\n  enabled: true\n\
         axon-telemetry:\n  axonVersion: v0.52.0\n",
    )
    .unwrap();
    // Vendored, as `helm dependency build` would: no repository is reached.
    copy_dir(&chart(), &parent.path().join("charts/axon-telemetry"));
    for helm in helms() {
        let render = |args: &[&str]| {
            let mut all = vec![
                "template",
                "kelos",
                parent.path().to_str().unwrap(),
                "--namespace",
                "kelos-system",
            ];
            all.extend_from_slice(args);
            let output = helm.run(&all);
            assert!(
                output.status.success(),
                "Helm {} {args:?}: {}",
                helm.major,
                String::from_utf8_lossy(&output.stderr)
            );
            documents(&String::from_utf8(output.stdout).unwrap())
        };
        let on = render(&[]);
        assert_eq!(
            kinds(&on),
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Role",
                "RoleBinding",
                "CronJob",
                "Pod"
            ],
            "Helm {}",
            helm.major
        );
        let cron = on.iter().find(|d| d["kind"] == "CronJob").unwrap();
        let args =
            &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"];
        assert_eq!(
            args,
            &json!([
                "report",
                "--endpoint",
                "https://telemetry.axon.dev/v1/report",
                "--axon-version",
                "v0.52.0",
                "--max-delay",
                "30m"
            ]),
            "Helm {}",
            helm.major
        );
        assert_eq!(cron["metadata"]["namespace"], "kelos-system");
        let off = render(&["--set", "telemetry.enabled=false"]);
        assert_eq!(kinds(&off), Vec::<&str>::new(), "Helm {}", helm.major);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_schema_rejects_bad_values_naming_them() {
    let cases: [(&[&str], &str); 13] = [
        (
            &["--set", "axonVersion=main"],
            "- at '/axonVersion': 'main' does not match pattern",
        ),
        (
            &["--set", "telemetry.enabled=yes"],
            "- at '/telemetry/enabled': got string, want boolean",
        ),
        (
            &["--set", "telemetry.schedule="],
            "- at '/telemetry/schedule': minLength: got 0, want 1",
        ),
        (
            &["--set-json", "telemetry.schedule=5"],
            "- at '/telemetry/schedule': got number, want string",
        ),
        (
            &["--set", "telemetry.endpoint=ftp://example.com/report"],
            "- at '/telemetry/endpoint': 'ftp://example.com/report' does not match pattern",
        ),
        (
            &["--set", "telemetry.endpoint=telemetry.axon.dev"],
            "- at '/telemetry/endpoint': 'telemetry.axon.dev' does not match pattern",
        ),
        (
            &["--set", "telemetry.maxDelay=soon"],
            "- at '/telemetry/maxDelay': 'soon' does not match pattern",
        ),
        (
            &["--set", "clusterName=prod"],
            "- at '': additional properties 'clusterName' not allowed",
        ),
        (
            &["--set", "successfulJobsHistoryLimit=-1"],
            "- at '/successfulJobsHistoryLimit': minimum: got -1, want 0",
        ),
        (
            &["--set", "backoffLimit=-3"],
            "- at '/backoffLimit': minimum: got -3, want 0",
        ),
        (
            &["--set", "image.digest=0.1.0"],
            "- at '/image/digest': '0.1.0' does not match pattern",
        ),
        (
            &["--set", "image.digest=sha256:ABC"],
            "- at '/image/digest': 'sha256:ABC' does not match pattern",
        ),
        (
            &["--set", "concurrencyPolicy=Sometimes"],
            "- at '/concurrencyPolicy': value must be one of 'Allow', 'Forbid', 'Replace'",
        ),
    ];
    for helm in helms() {
        for (args, line) in cases {
            let error = helm
                .template(args)
                .expect_err(&format!("{args:?} must be rejected"));
            assert!(
                error.contains(line),
                "Helm {} {args:?}: expected {line:?} in:\n{error}",
                helm.major
            );
        }
        let error = helm
            .template(&["--set", "serviceAccount.create=false"])
            .unwrap_err();
        assert!(
            error.contains("serviceAccount.name is required when serviceAccount.create=false"),
            "Helm {}: {error}",
            helm.major
        );
    }
}

#[test]
fn notes_say_what_is_sent_how_to_see_it_and_how_to_opt_out() {
    // `helm template` leaves NOTES out; Helm 4 renders them in a client-only dry run.
    let helm = helms().remove(0);
    let notes = |args: &[&str]| {
        let chart = chart();
        let mut all = vec![
            "install",
            "axon-telemetry",
            chart.to_str().unwrap(),
            "-n",
            "axon-system",
            "--dry-run=client",
        ];
        all.extend_from_slice(args);
        let output = helm.run(&all);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout.split_once("NOTES:\n").expect("NOTES").1.to_owned()
    };
    let on = notes(&[]);
    for expected in [
        "TELEMETRY.md",
        "helm test axon-telemetry -n axon-system --logs",
        "kubectl logs -n axon-system -l app.kubernetes.io/name=axon-telemetry --tail=-1",
        "kubectl create job -n axon-system --from=cronjob/axon-telemetry axon-telemetry-now",
        "helm upgrade axon-telemetry <this chart> -n axon-system --reuse-values --set telemetry.enabled=false",
        "kubectl delete cronjob axon-telemetry -n axon-system",
    ] {
        assert!(
            on.contains(expected),
            "{expected:?} missing from NOTES:\n{on}"
        );
    }
    let off = notes(&["--set", "telemetry.enabled=false"]);
    assert!(
        off.starts_with("axon-telemetry is off (telemetry.enabled=false)"),
        "{off}"
    );
}

/// Dotted paths of the values, descending into the chart's own groups only: maps such as
/// `resources` or `podLabels` are passed through to Kubernetes whole and documented as one.
fn value_paths(values: &Value, prefix: &str, out: &mut Vec<String>) {
    const GROUPS: [&str; 4] = ["telemetry", "image", "serviceAccount", "rbac"];
    for (key, value) in values.as_object().unwrap() {
        let path = format!("{prefix}{key}");
        if prefix.is_empty() && GROUPS.contains(&key.as_str()) {
            value_paths(value, &format!("{path}."), out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_value_has_a_comment_a_readme_row_and_a_schema() {
    let text = std::fs::read_to_string(chart().join("values.yaml")).unwrap();
    let values: Value = serde_saphyr::from_str(&text).unwrap();
    let mut paths = Vec::new();
    value_paths(&values, "", &mut paths);
    paths.sort();

    // A comment line right above each value's key.
    let lines: Vec<&str> = text.lines().collect();
    for path in &paths {
        let key = format!("{}:", path.rsplit('.').next().unwrap());
        let indent = if path.contains('.') { "  " } else { "" };
        let at = lines
            .iter()
            .position(|l| l.strip_prefix(indent).is_some_and(|l| l.starts_with(&key)))
            .unwrap_or_else(|| panic!("{path} not found in values.yaml"));
        assert!(
            lines[at - 1].trim_start().starts_with('#'),
            "{path} has no comment above it in values.yaml"
        );
    }

    // One row per value in the chart README's table.
    let readme = std::fs::read_to_string(chart().join("README.md")).unwrap();
    let mut rows: Vec<String> = readme
        .split_once("## Values")
        .unwrap()
        .1
        .lines()
        .filter_map(|l| {
            l.strip_prefix("| `")?
                .split_once('`')
                .map(|(name, _)| name.to_owned())
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows, paths,
        "the chart README's values table and values.yaml differ"
    );

    // A schema entry for each value.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).unwrap())
            .unwrap();
    for path in &paths {
        let pointer = format!("/properties/{}", path.replace('.', "/properties/"));
        assert!(
            schema.pointer(&pointer).is_some(),
            "values.schema.json has no {pointer}"
        );
    }
}

#[test]
fn install_yaml_is_a_fresh_render_with_its_namespace() {
    let verify = std::process::Command::new(Path::new(ROOT).join("hack/verify-install-yaml.sh"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let text = std::fs::read_to_string(Path::new(ROOT).join("install.yaml")).unwrap();
    assert!(text.starts_with("# axon-telemetry: anonymous usage telemetry for Axon. What is sent: TELEMETRY.md.\n#\n# GENERATED by hack/update-install-yaml.sh from charts/axon-telemetry (chart version\n# 0.1.0)"));
    let documents = documents(&text);
    assert_eq!(
        documents[0],
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "axon-system"}})
    );
    assert_eq!(documents[1..], defaults()[..]);
}
