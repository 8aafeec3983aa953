//! The cluster's API server, through the `kube` crate's client: setup, requests with bounded
//! retries, discovery, list pages as raw bytes, the server version, and the one ConfigMap
//! the reporter may write.
//!
//! Requests go through `kube::Client::send`, not `Api<T>`: the reporter needs the raw page
//! bytes to decode them without building objects, its own bounded and logged retries
//! instead of kube's (up to 15, for controllers), and no library path that logs response
//! bodies. Requests are described by purpose in messages, never by URL: a continue token
//! encodes the name of the last object listed.

use std::time::Duration;

use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::client::Body;
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::backoff::{self, Attempt, Backoff};

/// Retries for API requests answered 429, 5xx or not at all: five attempts ride out a
/// brief API server restart or throttling; the run's deadline bounds them all.
pub const API_BACKOFF: Backoff = Backoff {
    attempts: 5,
    base: Duration::from_millis(250),
    max_delay: Duration::from_secs(8),
    max_retry_after: Duration::from_secs(30),
};

/// The longest silence while reading a response. A page of 500 objects arrives in well
/// under a second from a healthy API server.
const API_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest list page kept in memory. Far above a normal page (500 Tasks of ~3 KB is
/// 1.5 MB), and low enough that the three pages a list holds at most (`collect::list`) fit
/// the chart's 64 MiB limit with room to spare.
/// A larger page is fetched again with half the limit.
pub const MAX_PAGE_BYTES: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no usable Kubernetes configuration: set KUBECONFIG or create ~/.kube/config, \
         or run in a pod with a service account"
    )]
    NoConfig(#[source] Box<kube::config::InferConfigError>),
    #[error("could not set up a Kubernetes client for {server}")]
    Client {
        server: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{request}: the API server answered {code} {reason}: {message}")]
    Status {
        request: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{request}: no answer from the API server at {server} after {attempts} attempts")]
    Unreachable {
        request: String,
        server: String,
        attempts: u32,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{request}: the response was cut off")]
    Interrupted {
        request: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{request}: the response is larger than {limit} bytes")]
    TooLarge { request: String, limit: usize },
    #[error("{request}: the response is not the expected JSON")]
    Decode {
        request: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{request}: could not build the request")]
    Request {
        request: String,
        #[source]
        source: http::Error,
    },
}

impl Error {
    /// The HTTP status the API server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection to the API server; clones share it.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    server: String,
}

impl Cluster {
    /// Connects like every kube client: `KUBECONFIG` or `~/.kube/config` when present,
    /// otherwise the pod's service account. kube runs a kubeconfig's exec credential plugin
    /// while it builds the client, blocking: that part runs on a blocking thread, so that
    /// the caller's timeout can end a plugin that never answers.
    pub async fn connect() -> Result<Cluster> {
        let mut config = kube::Config::infer()
            .await
            .map_err(|e| Error::NoConfig(Box::new(e)))?;
        config.default_retry = false;
        config.read_timeout = Some(API_READ_TIMEOUT);
        config.headers.push((
            USER_AGENT,
            HeaderValue::from_static(concat!("axon-telemetry/", env!("CARGO_PKG_VERSION"))),
        ));
        let server = config.cluster_url.to_string();
        let client = tokio::task::spawn_blocking(move || kube::Client::try_from(config))
            .await
            .expect("building the client does not panic");
        let client = client.map_err(|source| Error::Client {
            server: server.clone(),
            source: Box::new(source),
        })?;
        Ok(Cluster { client, server })
    }

    /// Sends a request, retrying answers 429 and 5xx and requests that got no answer, as
    /// [`API_BACKOFF`] allows. Returns the first 2xx response; any other status is an error.
    async fn send(
        &self,
        request: &str,
        method: &Method,
        uri: &Uri,
        body: Option<&[u8]>,
    ) -> Result<Response<Body>> {
        let attempt = |number| async move {
            match self.client.send(build_request(method, uri, body)).await {
                Ok(response) if response.status().is_success() => Attempt::Done(response),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = backoff::retry_after(response.headers());
                    let error = status_error(request, response).await;
                    if !backoff::retryable(status) {
                        return Attempt::Failed(error);
                    }
                    Attempt::Retry {
                        why: format!("answered {}", status.as_u16()),
                        retry_after,
                        error,
                    }
                }
                Err(source) => Attempt::Retry {
                    why: format!("gave no answer ({source})"),
                    retry_after: None,
                    error: Error::Unreachable {
                        request: request.to_owned(),
                        server: self.server.clone(),
                        attempts: number,
                        source: Box::new(source),
                    },
                },
            }
        };
        API_BACKOFF
            .run(attempt, |why, delay, next| {
                warn!(
                    "{request}: the API server {why}; retrying in {delay:.1?} (attempt {next} of {})",
                    API_BACKOFF.attempts
                )
            })
            .await
    }

    /// Fetches one list page into `page` (cleared first), so its buffer is reused.
    pub async fn list_page(
        &self,
        request: &str,
        path: &str,
        limit: u32,
        continue_token: Option<&str>,
        page: &mut Vec<u8>,
    ) -> Result<()> {
        let uri = list_uri(path, limit, continue_token).map_err(|source| Error::Request {
            request: request.to_owned(),
            source: source.into(),
        })?;
        let response = self.send(request, &Method::GET, &uri, None).await?;
        read_body(request, response, page).await
    }

    /// The API server's `gitVersion`, e.g. `v1.33.2`.
    pub async fn server_version(&self) -> Result<String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Info {
            git_version: String,
        }
        let request = "reading the server version";
        let info: Info = self.json(request, Method::GET, "/version", None).await?;
        Ok(info.git_version)
    }

    /// Every `group/version` the API server serves, from discovery (`GET /apis`, which
    /// every authenticated client may read).
    pub async fn served_group_versions(&self) -> Result<Vec<String>> {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList;
        let request = "discovering the served API groups";
        let groups: APIGroupList = self.json(request, Method::GET, "/apis", None).await?;
        Ok(groups
            .groups
            .into_iter()
            .flat_map(|g| g.versions.into_iter().map(|v| v.group_version))
            .collect())
    }

    /// Reads a ConfigMap; `None` when it does not exist.
    pub async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>> {
        let request = format!("reading ConfigMap {namespace}/{name}");
        let path = format!("/api/v1/namespaces/{namespace}/configmaps/{name}");
        match self.json(&request, Method::GET, &path, None).await {
            Ok(map) => Ok(Some(map)),
            Err(e) if e.status_code() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a ConfigMap; a 409 (someone created it first) is an [`Error::Status`].
    pub async fn create_config_map(&self, namespace: &str, map: &ConfigMap) -> Result<ConfigMap> {
        let name = map.metadata.name.as_deref().unwrap_or_default();
        let request = format!("creating ConfigMap {namespace}/{name}");
        let path = format!("/api/v1/namespaces/{namespace}/configmaps");
        self.json(&request, Method::POST, &path, Some(map)).await
    }

    /// Replaces a ConfigMap; a stale `resourceVersion` is a 409 [`Error::Status`].
    pub async fn replace_config_map(&self, namespace: &str, map: &ConfigMap) -> Result<ConfigMap> {
        let name = map.metadata.name.as_deref().unwrap_or_default();
        let request = format!("updating ConfigMap {namespace}/{name}");
        let path = format!("/api/v1/namespaces/{namespace}/configmaps/{name}");
        self.json(&request, Method::PUT, &path, Some(map)).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: &str,
        method: Method,
        path: &str,
        body: Option<&ConfigMap>,
    ) -> Result<T> {
        let decode = |source| Error::Decode {
            request: request.to_owned(),
            source,
        };
        let uri = Uri::try_from(path).map_err(|source| Error::Request {
            request: request.to_owned(),
            source: source.into(),
        })?;
        let body = body.map(serde_json::to_vec).transpose().map_err(decode)?;
        let response = self.send(request, &method, &uri, body.as_deref()).await?;
        let mut bytes = Vec::new();
        read_body(request, response, &mut bytes).await?;
        serde_json::from_slice(&bytes).map_err(decode)
    }
}

/// A list request's URI. (Its own function: the query builder must not live across an
/// `await`, as it is not `Send`.)
fn list_uri(
    path: &str,
    limit: u32,
    continue_token: Option<&str>,
) -> Result<Uri, http::uri::InvalidUri> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(token) = continue_token {
        query.append_pair("continue", token);
    }
    Uri::try_from(format!("{path}?{}", query.finish()))
}

/// One attempt of a request; JSON when it has a body.
fn build_request(method: &Method, uri: &Uri, body: Option<&[u8]>) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_vec()));
    // Method and URI are already parsed and the header is static: nothing left to fail.
    builder.body(body).expect("a request from parsed parts")
}

/// Reads a whole response body into `into`, failing beyond [`MAX_PAGE_BYTES`].
async fn read_body(request: &str, response: Response<Body>, into: &mut Vec<u8>) -> Result<()> {
    into.clear();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|source| Error::Interrupted {
            request: request.to_owned(),
            source: Box::new(source),
        })?;
        if let Ok(data) = frame.into_data() {
            if into.len() + data.len() > MAX_PAGE_BYTES {
                return Err(Error::TooLarge {
                    request: request.to_owned(),
                    limit: MAX_PAGE_BYTES,
                });
            }
            into.extend_from_slice(&data);
        }
    }
    Ok(())
}

/// Turns a non-2xx answer into an error carrying the `Status` the API server sent.
async fn status_error(request: &str, response: Response<Body>) -> Error {
    let code = response.status().as_u16();
    let mut bytes = Vec::new();
    // The body only explains the failure; a broken one still leaves the status code.
    let _ = read_body(request, response, &mut bytes).await;
    let (reason, message) = match serde_json::from_slice::<kube::core::Status>(&bytes) {
        Ok(status) if !status.reason.is_empty() || !status.message.is_empty() => {
            (status.reason, status.message)
        }
        _ => (
            StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned(),
            "(no Kubernetes Status in the response)".to_owned(),
        ),
    };
    Error::Status {
        request: request.to_owned(),
        code,
        reason,
        message,
    }
}
