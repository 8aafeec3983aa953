//! The reporter as a hermetic command: an empty environment but for a HOME and a
//! kubeconfig pointing at the fake API, so nothing from the machine leaks into a test,
//! and a timeout, so a hung run fails its test instead of stalling the suite. [`Reporter`]
//! is how every test runs `report`; [`bare`] is the binary with nothing, and [`hermetic`]
//! any other program (the demo).

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

use serde_json::Value;

use axon_telemetry_testkit::fake_kube::FakeKube;

use super::endpoint::Endpoint;

/// Far longer than any run in the tests takes (the slowest waits out a few retries).
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The reporter binary Cargo built for the integration tests.
pub fn binary() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("axon-telemetry")
}

/// A program with an empty environment and the run timeout.
pub fn hermetic(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear().timeout(RUN_TIMEOUT);
    command
}

/// `axon-telemetry report` against `kube`, with no other environment.
fn reporter(kube: &FakeKube) -> Command {
    let mut command = hermetic(binary());
    command
        .env_clear()
        .env("HOME", kube.dir())
        .env("KUBECONFIG", kube.kubeconfig())
        .arg("report");
    command
}

/// The one way the tests run `axon-telemetry report`: against a fake API, hermetic (see
/// [`reporter`]), with what each test adds, then [`Reporter::run`], or
/// [`Reporter::run_and_sent`] / [`Reporter::report`] with an endpoint of its own.
pub struct Reporter {
    command: Command,
}

impl Reporter {
    pub fn against(kube: &FakeKube) -> Reporter {
        Reporter {
            command: reporter(kube),
        }
    }

    /// Sends the report to `url` (`--endpoint`).
    pub fn sending_to(mut self, url: &str) -> Reporter {
        self.command.args(["--endpoint", url]);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Reporter
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Reporter {
        self.command.arg(arg);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Reporter {
        self.command.env(name, value);
        self
    }

    pub fn run(mut self) -> Run {
        run(&mut self.command)
    }

    /// Runs with an endpoint of its own: the run, and the reports it received, normalized.
    fn run_with_endpoint(self) -> (Run, Vec<Value>) {
        let endpoint = Endpoint::start();
        let run = self.sending_to(&endpoint.url()).run();
        let sent = endpoint
            .received()
            .iter()
            .map(|r| normalized(&r.body))
            .collect();
        (run, sent)
    }

    /// Runs with an endpoint of its own: the run, and the first report it received.
    pub fn run_and_sent(self) -> (Run, Option<Value>) {
        let (run, sent) = self.run_with_endpoint();
        (run, sent.into_iter().next())
    }

    /// A run that must succeed and send exactly one report: the report, normalized.
    pub fn report(self) -> (Value, Run) {
        let (run, mut sent) = self.run_with_endpoint();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(sent.len(), 1, "{}", run.stderr);
        (sent.remove(0), run)
    }
}

/// The binary with no arguments and an empty environment.
pub fn bare() -> Command {
    hermetic(binary())
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The log lines at `level` (text format: `LEVEL message`).
    pub fn logged(&self, level: &str) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(level)?.strip_prefix(' '))
            .collect()
    }
}

/// Retry warnings without their jittered delay: `retrying in <delay> (attempt 2 of 5)`.
pub fn without_delays(lines: Vec<&str>) -> Vec<String> {
    lines
        .into_iter()
        .map(
            |line| match (line.find("retrying in "), line.rfind(" (attempt")) {
                (Some(start), Some(end)) if start < end => {
                    format!("{}retrying in <delay>{}", &line[..start], &line[end..])
                }
                _ => line.to_owned(),
            },
        )
        .collect()
}

pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("the reporter binary runs");
    Run {
        code: output
            .status
            .code()
            .expect("the reporter exits, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Parses a report, checks its timestamp (RFC 3339, UTC, whole seconds, close to now) and
/// replaces it with `"<timestamp>"`, so the rest can be compared exactly.
pub fn normalized(report: &str) -> Value {
    let mut value: Value = serde_json::from_str(report).expect("the report is JSON");
    let stamp = value["timestamp"]
        .as_str()
        .expect("a timestamp string")
        .to_owned();
    assert!(
        stamp.ends_with('Z') && !stamp.contains('.'),
        "not whole-second UTC: {stamp}"
    );
    let at: jiff::Timestamp = stamp.parse().expect("RFC 3339");
    let age = jiff::Timestamp::now().duration_since(at).as_secs().abs();
    assert!(age < 300, "timestamp {stamp} is {age}s away from now");
    value["timestamp"] = Value::from("<timestamp>");
    value
}

/// The installation ID the fake cluster's ConfigMap holds.
pub fn stored_id(kube: &FakeKube) -> String {
    let map = kube
        .config_map("axon-system", "axon-telemetry")
        .expect("the ConfigMap exists");
    map["data"]["installationId"]
        .as_str()
        .expect("an installationId")
        .to_owned()
}
