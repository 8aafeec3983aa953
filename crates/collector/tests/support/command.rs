//! The collector binary as a hermetic command: an empty environment, and a timeout, so a
//! hung run fails its test instead of stalling the suite.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

/// Far longer than any run in the tests takes.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The collector binary Cargo built for the integration tests.
pub fn binary() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("axon-telemetry-collector")
}

/// A program with an empty environment and the run timeout.
pub fn hermetic(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env_clear().timeout(RUN_TIMEOUT);
    command
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stderr: String,
}

pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("the binary runs");
    Run {
        code: output
            .status
            .code()
            .expect("the binary exits, not killed by a signal"),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
