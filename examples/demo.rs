//! A dry-run report against a fake cluster, for anyone without one: `hack/demo.sh`.
//!
//! Starts the test suite's fake Kubernetes API (tests/support) with a small sample of Kelos
//! v0.52.0 objects (`--axon`: of Axon v0.12.0, the `axon.io` era), writes a kubeconfig for
//! it, and runs the real `axon-telemetry report --dry-run` binary against it. Stdout is the
//! exact JSON such a cluster would send; stderr is what `kubectl logs` would show.
//! `--send URL` sends the report to a collector at URL instead of a dry run (each run is a
//! new installation). Other arguments go to the reporter.

use std::ffi::OsString;
use std::process::{Command, ExitCode};

#[path = "../tests/support/mod.rs"]
mod support;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let axon = match args.iter().position(|a| a == "--axon") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    let (kube, sample, release) = if axon {
        let kube = support::fake_kube::FakeKube::start();
        kube.add(support::fixtures::sample_cluster());
        (kube, "sample_cluster() (Axon v0.12.0)", "v0.12.0")
    } else {
        let kube = support::fake_kube::FakeKube::kelos();
        kube.add(support::fixtures::kelos_cluster());
        (kube, "kelos_cluster() (Kelos v0.52.0)", "v0.52.0")
    };
    // Cargo puts examples in target/<profile>/examples/, next to the binaries.
    let reporter = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("axon-telemetry")))
        .filter(|path| path.exists());
    let Some(reporter) = reporter else {
        eprintln!(
            "demo: build the reporter first: cargo build --bin axon-telemetry (hack/demo.sh does)"
        );
        return ExitCode::from(2);
    };
    eprintln!(
        "demo: a fake Kubernetes API at {} serves the objects of tests/support/fixtures.rs {sample}",
        kube.url()
    );
    let mode: Vec<OsString> = match args.iter().position(|a| a == "--send") {
        Some(i) if i + 1 < args.len() => {
            let endpoint = args.remove(i + 1);
            args.remove(i);
            vec!["--endpoint".into(), endpoint, "--strict".into()]
        }
        _ => vec!["--dry-run".into()],
    };
    let status = Command::new(reporter)
        .env_clear()
        .env("HOME", kube.dir())
        .env("KUBECONFIG", kube.kubeconfig())
        .args(["report", "--axon-version", release])
        .args(mode)
        .args(args)
        .status();
    match status {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1) as u8),
        Err(e) => {
            eprintln!("demo: could not run the reporter: {e}");
            ExitCode::from(1)
        }
    }
}
