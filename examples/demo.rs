//! A dry-run report against a fake cluster, for anyone without one: `hack/demo.sh`.
//!
//! Starts the test suite's fake Kubernetes API (crates/testkit) with a small sample of Kelos
//! v0.52.0 objects (`--axon`: of Axon v0.12.0, the `axon.io` era), writes a kubeconfig for
//! it, and runs the real `axon-telemetry report --dry-run` binary against it. Stdout is the
//! exact JSON such a cluster would send; stderr is what `kubectl logs` would show.
//! `--send URL` sends the report to a collector at URL instead of a dry run (each run is a
//! new installation). `--reporter PATH` runs that reporter binary instead of the one built
//! beside the demo, and `--runner PROGRAM` runs it under PROGRAM, as Cargo's `runner` does
//! (hack/test-arm64.sh: an arm64 build under `qemu-aarch64-static`). Other arguments go to
//! the reporter.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use axon_telemetry_testkit::{fake_kube::FakeKube, fixtures};

/// Removes `flag` from `args`; whether it was there.
fn take_flag(args: &mut Vec<OsString>, flag: &str) -> bool {
    let found = args.iter().position(|a| a == flag);
    found.map(|i| args.remove(i)).is_some()
}

/// Removes `flag` and the value after it from `args`; the value.
fn take_value(args: &mut Vec<OsString>, flag: &str) -> Option<OsString> {
    let i = args.iter().position(|a| a == flag)?;
    if i + 1 >= args.len() {
        return None;
    }
    let value = args.remove(i + 1);
    args.remove(i);
    Some(value)
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let axon = take_flag(&mut args, "--axon");
    let runner = take_value(&mut args, "--runner");
    let chosen = take_value(&mut args, "--reporter").map(PathBuf::from);
    let (kube, sample, release) = if axon {
        let kube = FakeKube::start();
        kube.add(fixtures::sample_cluster());
        (kube, "sample_cluster() (Axon v0.12.0)", "v0.12.0")
    } else {
        let kube = FakeKube::kelos();
        kube.add(fixtures::kelos_cluster());
        (kube, "kelos_cluster() (Kelos v0.52.0)", "v0.52.0")
    };
    let reporter = match chosen {
        Some(path) if path.exists() => path,
        Some(path) => {
            eprintln!("demo: no reporter at {}", path.display());
            return ExitCode::from(2);
        }
        // Cargo puts examples in target/<profile>/examples/, next to the binaries.
        None => match std::env::current_exe() {
            Ok(exe) if exe.with_file_name("../axon-telemetry").exists() => {
                exe.with_file_name("../axon-telemetry")
            }
            _ => {
                eprintln!(
                    "demo: build the reporter first: cargo build --bin axon-telemetry (hack/demo.sh does)"
                );
                return ExitCode::from(2);
            }
        },
    };
    eprintln!(
        "demo: a fake Kubernetes API at {} serves the objects of crates/testkit/src/fixtures.rs {sample}",
        kube.url()
    );
    let mode: Vec<OsString> = match take_value(&mut args, "--send") {
        Some(endpoint) => vec!["--endpoint".into(), endpoint, "--strict".into()],
        None => vec!["--dry-run".into()],
    };
    let mut command = match runner {
        Some(runner) => {
            let mut command = Command::new(runner);
            command.arg(reporter);
            command
        }
        None => Command::new(reporter),
    };
    let status = command
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
