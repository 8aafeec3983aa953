//! Delivering the report: headers and body, retries and their bounds, timeouts, TLS with
//! an operator's CA, proxies, and what a failed send does to the exit code.

use crate::support::command::{Reporter, normalized, without_delays};
use crate::support::endpoint::{Answer, Endpoint};
use crate::support::fake_kube::FakeKube;
use crate::support::fixtures::sample_cluster;

#[test]
fn the_report_is_posted_as_json_exactly_as_logged() {
    let kube = FakeKube::start();
    kube.add(sample_cluster());
    let endpoint = Endpoint::start();
    let run = Reporter::against(&kube)
        .args(["--endpoint", &endpoint.url()])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = endpoint.received();
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.line(), "POST /v1/report");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("axon-telemetry/", env!("CARGO_PKG_VERSION")))
    );
    let info = run.logged("INFO");
    assert_eq!(
        info[info.len() - 2],
        format!(
            "sending the report to {} report={}",
            endpoint.url(),
            request.body
        )
    );
    assert_eq!(
        info[info.len() - 1],
        format!("{} accepted the report (HTTP 202)", endpoint.url())
    );
    assert_eq!(normalized(&request.body)["tasks"]["total"], 7);
}

#[test]
fn any_2xx_is_success() {
    let endpoint = Endpoint::answering(vec![Answer::Status(204)]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .args(["--strict"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.logged("INFO").last().unwrap(),
        &format!("{} accepted the report (HTTP 204)", endpoint.url())
    );
}

#[test]
fn server_errors_are_retried_three_times_then_only_warn() {
    let endpoint = Endpoint::answering(vec![
        Answer::Status(503),
        Answer::Status(500),
        Answer::Status(502),
    ]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .run();
    assert_eq!(run.code, 0);
    assert_eq!(endpoint.received().len(), 3);
    let url = endpoint.url();
    assert_eq!(
        without_delays(run.logged("WARN")),
        [
            format!(
                "sending the report to {url} failed (HTTP 503); retrying in <delay> (attempt 2 of 3)"
            ),
            format!(
                "sending the report to {url} failed (HTTP 500); retrying in <delay> (attempt 3 of 3)"
            ),
            format!("the report was not sent: no answer from {url} after 3 attempts: HTTP 502"),
        ]
    );
}

#[test]
fn strict_turns_a_failed_send_into_exit_3() {
    let endpoint = Endpoint::answering(vec![Answer::Status(503); 3]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .args(["--strict"])
        .run();
    assert_eq!(run.code, 3);
    let endpoint = Endpoint::answering(vec![Answer::Status(400)]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .run();
    let strict_by_env = {
        let kube = FakeKube::start();
        let endpoint = Endpoint::answering(vec![Answer::Status(400)]);
        Reporter::against(&kube)
            .env("AXON_TELEMETRY_STRICT", "true")
            .sending_to(&endpoint.url())
            .run()
    };
    assert_eq!((run.code, strict_by_env.code), (0, 3));
}

#[test]
fn throttling_waits_as_long_as_retry_after_says() {
    let endpoint = Endpoint::answering(vec![Answer::RetryAfter(429, 1)]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(endpoint.received().len(), 2);
    assert_eq!(
        run.logged("WARN"),
        [format!(
            "sending the report to {} failed (HTTP 429); retrying in 1.0s (attempt 2 of 3)",
            endpoint.url()
        )]
    );
}

#[test]
fn a_client_error_is_not_retried_and_its_reason_is_quoted() {
    let endpoint = Endpoint::answering(vec![Answer::Body(
        400,
        "{\"error\": \"installationId: not a UUID\"}\n",
    )]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .run();
    assert_eq!(run.code, 0);
    assert_eq!(endpoint.received().len(), 1);
    assert_eq!(
        run.logged("WARN"),
        [format!(
            "the report was not sent: {} rejected the report with HTTP 400: {{\"error\": \"installationId: not a UUID\"}} \
             (not retried: the same report would be rejected again)",
            endpoint.url()
        )]
    );
}

#[test]
fn a_hung_endpoint_times_out_on_every_attempt() {
    let endpoint = Endpoint::answering(vec![Answer::Hang; 3]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .args(["--timeout", "1s", "--strict"])
        .run();
    assert_eq!(run.code, 3);
    assert_eq!(endpoint.received().len(), 3);
    assert_eq!(
        without_delays(run.logged("WARN")).last().unwrap(),
        &format!(
            "the report was not sent: no answer from {} after 3 attempts: no answer within 1s",
            endpoint.url()
        )
    );
}

#[test]
fn a_dead_endpoint_only_warns() {
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .args(["--endpoint", "http://127.0.0.1:1/v1/report"])
        .run();
    assert_eq!(run.code, 0);
    assert_eq!(
        without_delays(run.logged("WARN")),
        [
            "sending the report to http://127.0.0.1:1/v1/report failed (client error (Connect): tcp connect error: Connection refused (os error 111)); retrying in <delay> (attempt 2 of 3)",
            "sending the report to http://127.0.0.1:1/v1/report failed (client error (Connect): tcp connect error: Connection refused (os error 111)); retrying in <delay> (attempt 3 of 3)",
            "the report was not sent: no answer from http://127.0.0.1:1/v1/report after 3 attempts: client error (Connect): tcp connect error: Connection refused (os error 111)",
        ]
    );
}

#[test]
fn a_redirect_is_not_followed() {
    let endpoint = Endpoint::answering(vec![Answer::Redirect(
        "https://elsewhere.example/v1/report",
    )]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .run();
    assert_eq!(endpoint.received().len(), 1);
    assert_eq!(
        run.logged("WARN"),
        [format!(
            "the report was not sent: {} redirected the report to https://elsewhere.example/v1/report: set --endpoint to that URL",
            endpoint.url()
        )]
    );
}

#[test]
fn https_with_the_operators_ca_file_completes_a_real_handshake() {
    let endpoint = Endpoint::tls(vec![]);
    let ca = endpoint.ca_file().to_str().unwrap().to_owned();
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .args(["--ca-file", &ca, "--strict"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(endpoint.received().len(), 1);
    assert!(endpoint.url().starts_with("https://127.0.0.1:"));

    let kube = FakeKube::start();
    let by_env = Reporter::against(&kube)
        .sending_to(&endpoint.url())
        .args(["--strict"])
        .env("SSL_CERT_FILE", &ca)
        .run();
    assert_eq!(by_env.code, 0, "{}", by_env.stderr);
    assert_eq!(endpoint.received().len(), 2);
}

#[test]
fn https_to_an_unknown_ca_is_refused() {
    let endpoint = Endpoint::tls(vec![]);
    let run = Reporter::against(&FakeKube::start())
        .sending_to(&endpoint.url())
        .args(["--strict"])
        .run();
    assert_eq!(run.code, 3);
    assert_eq!(endpoint.received().len(), 0);
    assert_eq!(
        without_delays(run.logged("WARN")).last().unwrap(),
        &format!(
            "the report was not sent: no answer from {} after 3 attempts: client error (Connect): invalid peer certificate: UnknownIssuer",
            endpoint.url()
        )
    );
}

#[test]
fn http_proxy_from_the_environment_is_used() {
    let proxy = Endpoint::start();
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .sending_to("http://telemetry.invalid/v1/report")
        .args(["--strict"])
        .env("HTTP_PROXY", format!("http://{}", proxy.authority()))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let received = proxy.received();
    assert_eq!(received.len(), 1);
    // Through a proxy, the request target is the absolute URL.
    assert_eq!(
        received[0].line(),
        "POST http://telemetry.invalid/v1/report"
    );
    assert_eq!(
        run.logged("WARN"),
        [
            "http://telemetry.invalid/v1/report is plain http: the report crosses the network unencrypted (fine for a collector inside this cluster, otherwise use https)"
        ]
    );
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let endpoint = Endpoint::start();
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .sending_to(&endpoint.url())
        .args(["--strict"])
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("NO_PROXY", "127.0.0.1")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(endpoint.received().len(), 1);
}

#[test]
fn credentials_in_the_endpoint_never_reach_the_logs() {
    let endpoint = Endpoint::start();
    let url = endpoint.url().replace("http://", "http://user:s3cret@");
    let kube = FakeKube::start();
    let run = Reporter::against(&kube)
        .sending_to(&url)
        .args(["--strict"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert_eq!(
        endpoint.received()[0].header("authorization"),
        Some("Basic dXNlcjpzM2NyZXQ=")
    );
}
