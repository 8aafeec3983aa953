//! The release's versions and pins agree: Cargo.toml's version is the chart's version and
//! appVersion, the image tag install.yaml runs and the Dockerfile's version label; the release workflow publishes that
//! version's tag under the chart's image name, with the toolchain Cargo.toml names, pinned
//! actions, least privilege and no `pull_request_target`. hack/lint-workflows.sh lints the
//! workflow (actionlint, zizmor); hack/release.sh builds what it publishes.

use std::path::Path;

use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const RUST_VERSION: &str = env!("CARGO_PKG_RUST_VERSION");

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(path)).expect(path);
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn workflow() -> Value {
    yaml(".github/workflows/release.yaml")
}

/// The release job's steps' scripts, joined.
fn scripts(workflow: &Value) -> String {
    let steps = workflow["jobs"]["release"]["steps"]
        .as_array()
        .expect("steps");
    steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_chart_install_yaml_and_the_dockerfile_carry_cargos_version() {
    let chart = yaml("charts/axon-telemetry/Chart.yaml");
    assert_eq!(chart["version"], VERSION);
    assert_eq!(chart["appVersion"], VERSION);
    let values = yaml("charts/axon-telemetry/values.yaml");
    let repository = values["image"]["repository"].as_str().unwrap();
    assert_eq!(repository, "ghcr.io/kelos-dev/axon-telemetry");
    assert_eq!(values["image"]["tag"], "");
    assert_eq!(values["image"]["digest"], "");
    let install = std::fs::read_to_string(Path::new(ROOT).join("install.yaml")).unwrap();
    let images: Vec<&str> = install
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image: "))
        .collect();
    assert_eq!(images, [format!("\"{repository}:{VERSION}\"")]);
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let args: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("ARG VERSION="))
        .collect();
    assert_eq!(args, [VERSION]);
}

#[test]
fn the_workflow_publishes_tag_v_version_under_the_charts_image_name() {
    let workflow = workflow();
    assert_eq!(workflow["on"], json!({"push": {"tags": ["v*"]}}));
    let scripts = scripts(&workflow);
    // The tag must be v<Cargo.toml's version>, and the names are the chart's.
    assert!(
        scripts.contains(r#"if [[ $TAG != "v$version" ]]; then"#),
        "{scripts}"
    );
    assert!(scripts.contains("version=$(hack/version.sh)"), "{scripts}");
    assert!(
        scripts.contains(r#""docker://ghcr.io/${OWNER,,}/axon-telemetry:$version""#),
        "{scripts}"
    );
    assert!(
        scripts.contains(r#""target/release-artifacts/axon-telemetry-$version.tgz" "oci://ghcr.io/${OWNER,,}/charts""#),
        "{scripts}"
    );
    assert!(
        scripts.contains(r#"hack/release.sh --registry "ghcr.io/${OWNER,,}""#),
        "{scripts}"
    );
    // The toolchain is the one Cargo.toml requires.
    assert!(
        scripts.contains(&format!("rustup toolchain install {RUST_VERSION} ")),
        "{scripts}"
    );
}

#[test]
fn the_workflow_pins_actions_and_grants_least_privilege() {
    let workflow = workflow();
    assert_eq!(workflow["permissions"], json!({}));
    let text =
        std::fs::read_to_string(Path::new(ROOT).join(".github/workflows/release.yaml")).unwrap();
    assert!(!text.contains("pull_request_target"));
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(jobs.keys().collect::<Vec<_>>(), ["release"]);
    assert_eq!(
        jobs["release"]["permissions"],
        json!({"contents": "write", "packages": "write"})
    );
    let mut actions = 0;
    for step in jobs["release"]["steps"].as_array().unwrap() {
        let Some(uses) = step["uses"].as_str() else {
            continue;
        };
        actions += 1;
        let (_, pin) = uses.split_once('@').expect(uses);
        assert!(
            pin.len() == 40
                && pin
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{uses} is not pinned to a commit SHA"
        );
        assert_eq!(step["with"]["persist-credentials"], false, "{uses}");
    }
    assert_eq!(actions, 1);
}
