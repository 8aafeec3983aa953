//! The command line: help, version, usage errors (exit 2, one line), opt-out variables.

use crate::support::command::{Reporter, bare, run};
use crate::support::endpoint::Endpoint;
use crate::support::fake_kube::FakeKube;

#[test]
fn no_command_prints_help_and_exits_2() {
    let run = run(&mut bare());
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("Anonymous, opt-out usage telemetry for the Axon (Kelos) Kubernetes operator\n\nUsage: axon-telemetry <COMMAND>\n"), "{}", run.stderr);
}

#[test]
fn version_prints_the_reporter_version() {
    let run = run(bare().arg("--version"));
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (
            0,
            concat!("axon-telemetry ", env!("CARGO_PKG_VERSION"), "\n")
        )
    );
}

#[test]
fn every_flag_has_an_environment_twin_in_the_help() {
    let run = run(bare().args(["report", "--help"]));
    assert_eq!(run.code, 0);
    let flags_and_twins = [
        ("--endpoint <URL>", "[env: AXON_TELEMETRY_ENDPOINT=]"),
        ("--dry-run", "[env: AXON_TELEMETRY_DRY_RUN=]"),
        ("--namespace <NAMESPACE>", "[env: POD_NAMESPACE=]"),
        ("--axon-version <VERSION>", "[env: AXON_VERSION=]"),
        ("--timeout <DURATION>", "[env: AXON_TELEMETRY_TIMEOUT=]"),
        ("--deadline <DURATION>", "[env: AXON_TELEMETRY_DEADLINE=]"),
        ("--max-delay <DURATION>", "[env: AXON_TELEMETRY_MAX_DELAY=]"),
        ("--page-size <N>", "[env: AXON_TELEMETRY_PAGE_SIZE=]"),
        ("--ca-file <PATH>", "[env: SSL_CERT_FILE=]"),
        ("--strict", "[env: AXON_TELEMETRY_STRICT=]"),
        ("--log-format <FORMAT>", "[env: AXON_TELEMETRY_LOG_FORMAT=]"),
        ("--log-level <LEVEL>", "[env: AXON_TELEMETRY_LOG_LEVEL=]"),
    ];
    for (flag, twin) in flags_and_twins {
        let at = run
            .stdout
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} missing from:\n{}", run.stdout));
        let next_flag = run.stdout[at + 2..]
            .find("\n  -")
            .map_or(run.stdout.len(), |n| at + 2 + n);
        assert!(
            run.stdout[at..next_flag].contains(twin),
            "{flag} lacks {twin}:\n{}",
            &run.stdout[at..next_flag]
        );
    }
}

#[test]
fn bad_flags_exit_2_with_one_line_and_touch_nothing() {
    let kube = FakeKube::start();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--endpoint", "telemetry.axon.dev"],
            "error: invalid value 'telemetry.axon.dev' for '--endpoint <URL>': relative URL without a base; expected an http(s) URL such as https://telemetry.axon.dev/v1/report (see --help)",
        ),
        (
            &["--log-format", "xml"],
            "error: invalid value 'xml' for '--log-format <FORMAT>' [possible values: text, json] (see --help)",
        ),
        (
            &["--timeout", "-5s"],
            "error: invalid value '-5s' for '--timeout <DURATION>': the duration must be more than zero, e.g. 10s (see --help)",
        ),
        (
            &["--page-size", "100000"],
            "error: invalid value '100000' for '--page-size <N>': 100000 is not in 1..=8192 (see --help)",
        ),
        (
            &["--no-such-flag"],
            "error: unexpected argument '--no-such-flag' found (see --help)",
        ),
    ];
    for (args, message) in cases {
        let run = Reporter::against(&kube).args(args).run();
        assert_eq!(
            (run.code, run.stderr_lines()),
            (2, vec![message]),
            "{args:?}"
        );
    }
    assert_eq!(kube.requests(), Vec::<String>::new());
}

#[test]
fn bad_environment_values_name_the_flag() {
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .env("AXON_TELEMETRY_ENDPOINT", "ftp://example.com/report")
        .run();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr_lines(),
        [
            "error: invalid value 'ftp://example.com/report' for '--endpoint <URL>': the scheme must be http or https, not ftp; expected an http(s) URL such as https://telemetry.axon.dev/v1/report (see --help)"
        ]
    );
}

#[test]
fn opting_out_makes_no_request_at_all() {
    for (name, value) in [("DO_NOT_TRACK", "1"), ("AXON_TELEMETRY_DISABLED", "true")] {
        let kube = FakeKube::start();
        let endpoint = Endpoint::start();
        let run = Reporter::against(&kube)
            .env(name, value)
            .args(["--endpoint", &endpoint.url()])
            .run();
        assert_eq!(run.code, 0, "{name}");
        assert_eq!(
            run.stderr_lines(),
            [format!(
                " INFO telemetry is disabled because {name} is set: nothing is collected or sent"
            )]
        );
        assert_eq!(kube.requests(), Vec::<String>::new());
        assert_eq!(endpoint.received().len(), 0);
    }
}

#[test]
fn do_not_track_0_does_not_opt_out() {
    let kube = FakeKube::start();
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .env("DO_NOT_TRACK", "0")
        .args(["--endpoint", &endpoint.url()])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(endpoint.received().len(), 1);
}

#[test]
fn the_plans_spelling_runs_a_report() {
    let kube = FakeKube::start();
    let endpoint = Endpoint::start();
    let mut command = bare();
    command
        .env("HOME", kube.dir())
        .env("KUBECONFIG", kube.kubeconfig());
    let run = run(command.args([
        "--telemetry-report",
        "--telemetry-endpoint",
        &endpoint.url(),
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(endpoint.received().len(), 1);
}

#[test]
fn no_kubeconfig_outside_a_pod_exits_2_saying_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    let run = run(bare()
        .env("HOME", home.path())
        .args(["report", "--dry-run"]));
    assert_eq!(run.code, 2);
    let config = home.path().join(".kube/config");
    assert_eq!(
        run.logged("ERROR"),
        [format!(
            "cannot reach Kubernetes: no usable Kubernetes configuration: set KUBECONFIG or create ~/.kube/config, \
             or run in a pod with a service account: failed to infer config: in-cluster: (failed to read an incluster \
             environment variable: environment variable not found), kubeconfig: (failed to read kubeconfig from \
             '{:?}': No such file or directory (os error 2))",
            config
        )]
    );
}

/// The kubeconfig is read before the random delay: a bad one exits 2 at once, not up to
/// `--max-delay` later (the run's timeout, a minute, would fail this test).
#[test]
fn a_bad_kubeconfig_exits_2_before_the_random_delay() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "this: is: not a kubeconfig").unwrap();
    let run = run(bare()
        .env("HOME", home.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["report", "--max-delay", "30m"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.logged("INFO").len(), 1, "{}", run.stderr);
    assert!(
        run.logged("ERROR")[0].starts_with(
            "cannot reach Kubernetes: no usable Kubernetes configuration: set KUBECONFIG or create ~/.kube/config"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_ca_file_without_certificates_exits_2_before_any_request() {
    let kube = FakeKube::start();
    let ca = kube.dir().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let run = Reporter::against(&kube).arg("--ca-file").arg(&ca).run();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.logged("ERROR"),
        [format!(
            "cannot prepare to send the report: {} holds no PEM certificate (--ca-file / SSL_CERT_FILE)",
            ca.display()
        )]
    );
    assert_eq!(kube.requests(), Vec::<String>::new());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .args(["--dry-run", "--log-format", "json"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages.last(),
        Some(
            &"dry run: the report is on stdout; nothing was sent and nothing was written to the cluster"
        )
    );
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["timestamp"].is_string())
    );
}

#[test]
fn max_delay_waits_a_random_time_before_reporting_but_not_in_a_dry_run() {
    let kube = FakeKube::start();
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .args(["--endpoint", &endpoint.url(), "--max-delay", "20ms"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let waiting = run.logged("INFO")[1];
    assert!(waiting.starts_with("waiting ") && waiting.ends_with(" before reporting: a random delay up to --max-delay 20ms, so that clusters do not all report at once"), "{waiting}");
    assert_eq!(endpoint.received().len(), 1);

    let dry = Reporter::against(&kube)
        .args(["--dry-run"])
        .env("AXON_TELEMETRY_MAX_DELAY", "1h")
        .run();
    assert!(!dry.stderr.contains("waiting"), "{}", dry.stderr);
}
