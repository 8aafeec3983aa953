//! A mock report endpoint: records every request and answers from a script (any status,
//! `Retry-After`, a body, or no answer at all), then 202. Over plain HTTP, or HTTPS with a
//! certificate from a test CA written to a PEM file for `--ca-file`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;

use axon_telemetry_testkit::server::{Received, Server};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    RetryAfter(u16, u64),
    Body(u16, &'static str),
    Redirect(&'static str),
    Hang,
}

pub struct Endpoint {
    server: Server,
    received: Arc<Mutex<Vec<Received>>>,
    scheme: &'static str,
    /// The test CA's certificate (HTTPS only).
    ca_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Endpoint {
    /// Answers 202 to everything.
    pub fn start() -> Endpoint {
        Endpoint::answering(vec![])
    }

    /// Answers from `script`, then 202.
    pub fn answering(script: Vec<Answer>) -> Endpoint {
        Endpoint::launch(script, None)
    }

    /// HTTPS for `localhost` and `127.0.0.1`, with a certificate signed by a fresh test CA.
    pub fn tls(script: Vec<Answer>) -> Endpoint {
        Endpoint::launch(script, Some(()))
    }

    fn launch(script: Vec<Answer>, tls: Option<()>) -> Endpoint {
        let dir = tempfile::tempdir().unwrap();
        let (config, ca_file) = match tls {
            Some(()) => {
                let (config, ca_pem) = test_ca_server_config();
                let ca_file = dir.path().join("ca.pem");
                std::fs::write(&ca_file, ca_pem).unwrap();
                (Some(config), Some(ca_file))
            }
            None => (None, None),
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        let handler = Arc::new(move |request: Received| {
            log.lock().unwrap().push(request);
            let answer = script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Answer::Status(202));
            respond(answer)
        });
        let server = Server::start(handler, config);
        let scheme = if ca_file.is_some() { "https" } else { "http" };
        Endpoint {
            server,
            received,
            scheme,
            ca_file,
            _dir: dir,
        }
    }

    /// The report URL on 127.0.0.1.
    pub fn url(&self) -> String {
        format!("{}://{}/v1/report", self.scheme, self.server.addr)
    }

    /// The address, for a proxy URL.
    pub fn authority(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn ca_file(&self) -> &Path {
        self.ca_file.as_deref().expect("an HTTPS endpoint")
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn respond(answer: Answer) -> Option<Response<Full<Bytes>>> {
    let (status, body, header) = match answer {
        Answer::Status(code) => (code, String::new(), None),
        Answer::RetryAfter(code, seconds) => (
            code,
            String::new(),
            Some(("retry-after", seconds.to_string())),
        ),
        Answer::Body(code, body) => (code, body.to_owned(), None),
        Answer::Redirect(location) => (308, String::new(), Some(("location", location.to_owned()))),
        Answer::Hang => return None,
    };
    let mut response = Response::builder().status(status);
    if let Some((name, value)) = header {
        response = response.header(name, value);
    }
    Some(response.body(Full::new(Bytes::from(body))).unwrap())
}

/// A rustls server config whose certificate a fresh CA signed, and that CA in PEM.
fn test_ca_server_config() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "axon-telemetry test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
        )
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}
