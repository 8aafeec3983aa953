//! Delivers the report: one HTTP POST, bounded retries, proxies from the environment, and
//! rustls with the bundled Mozilla roots plus any CA the operator adds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tracing::warn;

use crate::backoff::{self, Attempt, Backoff};

/// Retries for a report that got no answer, a 5xx or a 429. The issue's contract: three
/// attempts in all. The run's deadline bounds them too.
pub const SEND_BACKOFF: Backoff = Backoff {
    attempts: 3,
    base: Duration::from_secs(1),
    max_delay: Duration::from_secs(10),
    max_retry_after: Duration::from_secs(60),
};

/// How much of a rejecting endpoint's answer is quoted: enough for a validation message.
const MAX_QUOTED_BODY: usize = 200;

/// Problems with the sending setup: the operator's configuration, found before collecting.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read CA certificates from {path} (--ca-file / SSL_CERT_FILE)")]
    CaFile {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("{path} holds no PEM certificate (--ca-file / SSL_CERT_FILE)")]
    CaFileEmpty { path: PathBuf },
    #[error("a certificate in {path} is not a valid CA certificate (--ca-file / SSL_CERT_FILE)")]
    CaCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("could not set up TLS")]
    Tls(#[source] rustls::Error),
    #[error("could not set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{endpoint} rejected the report with HTTP {status}: {body} (not retried: the same report would be rejected again)"
    )]
    Rejected {
        endpoint: String,
        status: u16,
        body: String,
    },
    #[error("{endpoint} redirected the report to {location}: set --endpoint to that URL")]
    Redirected { endpoint: String, location: String },
    #[error("no answer from {endpoint} after {attempts} attempts: {last}")]
    GaveUp {
        endpoint: String,
        attempts: u32,
        last: String,
    },
}

/// The endpoint's answer to a delivered report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    pub attempts: u32,
}

/// Sends reports to one endpoint.
pub struct Sender {
    client: reqwest::Client,
    endpoint: Url,
    timeout: Duration,
}

impl Sender {
    /// Builds the HTTP client. `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` apply as usual.
    pub fn new(
        endpoint: Url,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<Sender, SetupError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(ca_file)?)
            .user_agent(concat!("axon-telemetry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            // A redirected POST turns into a GET: better to tell the operator.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(SetupError::Client)?;
        Ok(Sender {
            client,
            endpoint,
            timeout,
        })
    }

    /// POSTs `body` (JSON), retrying as [`SEND_BACKOFF`] allows. Any 2xx is success.
    pub async fn send(&self, body: &str) -> Result<Delivered, Error> {
        let endpoint = redacted(&self.endpoint);
        let endpoint = endpoint.as_str();
        let attempt = |number| async move {
            let sent = self
                .client
                .post(self.endpoint.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned())
                .send()
                .await;
            let (last, retry_after) = match sent {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Attempt::Done(Delivered {
                            status: status.as_u16(),
                            attempts: number,
                        });
                    }
                    if status.is_redirection() {
                        let location = response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .unwrap_or("(no Location header)")
                            .to_owned();
                        let endpoint = endpoint.to_owned();
                        return Attempt::Failed(Error::Redirected { endpoint, location });
                    }
                    let retry_after = backoff::retry_after(response.headers());
                    if !backoff::retryable(status) {
                        let body = quoted(response.text().await.unwrap_or_default());
                        return Attempt::Failed(Error::Rejected {
                            endpoint: endpoint.to_owned(),
                            status: status.as_u16(),
                            body,
                        });
                    }
                    (format!("HTTP {}", status.as_u16()), retry_after)
                }
                Err(e) if e.is_timeout() => (format!("no answer within {:?}", self.timeout), None),
                Err(e) => (describe(&e), None),
            };
            Attempt::Retry {
                error: Error::GaveUp {
                    endpoint: endpoint.to_owned(),
                    attempts: number,
                    last: last.clone(),
                },
                why: last,
                retry_after,
            }
        };
        SEND_BACKOFF
            .run(attempt, |why, delay, next| {
                warn!(
                    "sending the report to {endpoint} failed ({why}); retrying in {delay:.1?} (attempt {next} of {})",
                    SEND_BACKOFF.attempts
                )
            })
            .await
    }
}

/// rustls on the ring provider (the one kube uses: one provider, no ambiguity), trusting
/// the bundled Mozilla roots plus the certificates in `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, SetupError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let ca_error = |source| SetupError::CaFile {
            path: path.to_owned(),
            source,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(ca_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(ca_error)?;
        if certs.is_empty() {
            return Err(SetupError::CaFileEmpty {
                path: path.to_owned(),
            });
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|source| SetupError::CaCertificate {
                    path: path.to_owned(),
                    source,
                })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The endpoint without credentials, for logs.
pub fn redacted(endpoint: &Url) -> String {
    let mut shown = endpoint.clone();
    // Both fail only for URLs that cannot have credentials at all.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Whether the endpoint is plain http to somewhere other than this machine.
pub fn is_plain_http_off_host(endpoint: &Url) -> bool {
    let loopback = match endpoint.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    endpoint.scheme() == "http" && !loopback
}

/// The reason a request failed, without reqwest's own "error sending request for url".
fn describe(error: &reqwest::Error) -> String {
    std::error::Error::source(error).map_or_else(|| error.to_string(), crate::error_chain)
}

/// A response body trimmed to one short line.
fn quoted(body: String) -> String {
    let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if line.is_empty() => "(empty body)".to_owned(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_logs() {
        let url = Url::parse("https://user:secret@collector.example/v1/report?x=1").unwrap();
        assert_eq!(redacted(&url), "https://collector.example/v1/report?x=1");
    }

    #[test]
    fn plain_http_is_flagged_unless_it_stays_on_this_machine() {
        let flagged = |u: &str| is_plain_http_off_host(&Url::parse(u).unwrap());
        assert!(flagged("http://collector.monitoring.svc:8080/v1/report"));
        assert!(flagged("http://10.0.0.1/v1/report"));
        assert!(!flagged("http://127.0.0.1:9000/v1/report"));
        assert!(!flagged("http://localhost/v1/report"));
        assert!(!flagged("http://[::1]/v1/report"));
        assert!(!flagged("https://telemetry.axon.dev/v1/report"));
    }

    #[test]
    fn quoted_bodies_are_one_short_line() {
        assert_eq!(
            quoted("{\n  \"error\": \"bad\"\n}".into()),
            r#"{ "error": "bad" }"#
        );
        assert_eq!(quoted(String::new()), "(empty body)");
        assert_eq!(quoted("é".repeat(300)).chars().count(), MAX_QUOTED_BODY + 1);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = tls_config(Some(&path)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} holds no PEM certificate (--ca-file / SSL_CERT_FILE)",
                path.display()
            )
        );
        let missing = dir.path().join("missing.pem");
        let err = tls_config(Some(&missing)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read CA certificates from {} (--ca-file / SSL_CERT_FILE)",
                missing.display()
            )
        );
    }
}
