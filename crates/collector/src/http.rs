//! The collector's routes. Each request is answered from here; what it did is counted in
//! [`Metrics`] and logged by route name, never by raw path, address or header.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use serde_json::json;
use tracing::{debug, error, warn};

use super::metrics::{Metrics, Reason};
use super::ratelimit::RateLimiter;
use super::store::{Database, Row, Stored};
use super::summary::{self, DEFAULT_DAYS, MAX_DAYS};
use super::{Clock, dashboard, utc_day};
use crate::validate::{self, Rejection};

/// The largest report body accepted. A real report is under 1 KiB; the limit leaves room
/// for growth and keeps a flood of large bodies cheap to refuse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a client is told to wait when storage failed: long enough for a database restart.
const STORAGE_RETRY_AFTER_SECS: u64 = 60;

pub type Body = Full<Bytes>;

pub struct State {
    pub db: Database,
    pub metrics: Arc<Metrics>,
    pub limiter: RateLimiter,
    pub read_token: Option<String>,
    /// Time allowed for a report's body to arrive once its headers have.
    pub request_timeout: Duration,
    pub clock: Clock,
}

/// The routes, by name; logs and metrics use these, not the path a client sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Ingest,
    Summary,
    Dashboard,
    Health,
    Ready,
    Metrics,
    Unknown,
}

impl Route {
    fn of(path: &str) -> Route {
        match path {
            "/v1/report" => Route::Ingest,
            "/v1/summary" => Route::Summary,
            "/" => Route::Dashboard,
            "/healthz" => Route::Health,
            "/readyz" => Route::Ready,
            "/metrics" => Route::Metrics,
            _ => Route::Unknown,
        }
    }

    fn method(self) -> Method {
        if self == Route::Ingest {
            Method::POST
        } else {
            Method::GET
        }
    }

    fn name(self) -> &'static str {
        match self {
            Route::Ingest => "/v1/report",
            Route::Summary => "/v1/summary",
            Route::Dashboard => "/",
            Route::Health => "/healthz",
            Route::Ready => "/readyz",
            Route::Metrics => "/metrics",
            Route::Unknown => "(unknown path)",
        }
    }
}

pub async fn handle(
    state: Arc<State>,
    client: IpAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let route = Route::of(request.uri().path());
    // Extension methods are free text a client chose; only standard ones are logged.
    let method_name = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        _ => "other method",
    };
    debug!("{method_name} {}: received", route.name());
    // HEAD is GET without the body (RFC 9110), which hyper leaves out for HEAD requests.
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    // RFC 9112: an HTTP/1.1 request has exactly one Host header.
    let hosts = request.headers().get_all(header::HOST).iter().count();
    let bad_host = request.version() == Version::HTTP_11 && hosts != 1;
    // Every request but the probes counts against its client's rate limit, whatever it
    // asks for (unknown paths and /metrics included).
    let probe = matches!(route, Route::Health | Route::Ready);
    let limited = match probe {
        true => None,
        false => state.limiter.check(client, (state.clock)()).err(),
    };
    let response = match (route, limited) {
        _ if bad_host => with_close(error_response(
            StatusCode::BAD_REQUEST,
            "bad request",
            None,
            "an HTTP/1.1 request has exactly one Host header",
        )),
        (Route::Ingest, Some(wait)) => {
            state.metrics.rejected(Reason::RateLimited);
            state.metrics.observe(started.elapsed());
            // The body is left unread: the connection cannot carry another request.
            with_close(rate_limited(wait))
        }
        (_, Some(wait)) => rate_limited(wait),
        (route, None) => respond(&state, request, route, method, started).await,
    };
    debug!(
        "{method_name} {}: {} in {:?}",
        route.name(),
        response.status().as_u16(),
        started.elapsed()
    );
    Ok(response)
}

/// The answer to a request that may be served.
async fn respond(
    state: &State,
    request: Request<Incoming>,
    route: Route,
    method: Method,
    started: Instant,
) -> Response<Body> {
    match route {
        Route::Unknown => error_response(
            StatusCode::NOT_FOUND,
            "not found",
            None,
            "no such path; reports go to POST /v1/report",
        ),
        _ if method != route.method() => {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                None,
                &format!("{} takes {}", route.name(), route.method()),
            );
            let allow = HeaderValue::from_static(if route == Route::Ingest {
                "POST"
            } else {
                "GET, HEAD"
            });
            response.headers_mut().insert(header::ALLOW, allow);
            response
        }
        Route::Ingest => {
            let response = ingest(state, request).await;
            state.metrics.observe(started.elapsed());
            response
        }
        Route::Summary | Route::Dashboard => read(state, &request, route).await,
        Route::Health => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
        Route::Ready => match state.db.ping().await {
            Ok(()) => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
            Err(e) => {
                warn!("not ready: {}", crate::error_chain(&e));
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    "the database is unreachable\n".into(),
                )
            }
        },
        Route::Metrics => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ),
    }
}

async fn ingest(state: &State, request: Request<Incoming>) -> Response<Body> {
    let reject = |reason: Reason, response: Response<Body>| {
        state.metrics.rejected(reason);
        debug!("rejected a report: {}", reason.label());
        response
    };
    // Answered before the body was read (or while it was): the connection cannot carry
    // another request, and a well-behaved client is told so.
    let refuse = |reason: Reason, response: Response<Body>| reject(reason, with_close(response));
    if !is_json(request.headers()) {
        return refuse(
            Reason::UnsupportedMediaType,
            error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported media type",
                None,
                "Content-Type must be application/json",
            ),
        );
    }
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "report too large",
            None,
            &format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return refuse(Reason::TooLarge, too_large());
    }
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES).collect();
    let body = match tokio::time::timeout(state.request_timeout, body).await {
        Err(_) => {
            return refuse(
                Reason::Timeout,
                error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    None,
                    &format!("the body did not arrive within {:?}", state.request_timeout),
                ),
            );
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse(Reason::TooLarge, too_large());
        }
        Ok(Err(_)) => {
            return refuse(
                Reason::Invalid,
                error_response(
                    StatusCode::BAD_REQUEST,
                    "incomplete body",
                    None,
                    "the body ended early",
                ),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };

    let now = (state.clock)();
    let report = match validate::report(&body, now) {
        Ok(report) => report,
        Err(rejection) => {
            let (reason, summary) = match rejection {
                Rejection::Invalid { .. } => (Reason::Invalid, "invalid report"),
                Rejection::UnsupportedSchemaVersion { .. } => (
                    Reason::UnsupportedSchemaVersion,
                    "unsupported schemaVersion",
                ),
            };
            let field = rejection.field().to_owned();
            let message = match &rejection {
                Rejection::Invalid { message, .. } => message.clone(),
                other => other.to_string(),
            };
            return reject(
                reason,
                error_response(StatusCode::BAD_REQUEST, summary, Some(&field), &message),
            );
        }
    };
    let json = serde_json::to_string(&report).expect("a report always serializes");
    let row = Row {
        installation: report.installation_id,
        day: utc_day(now),
        received: now,
        report: &json,
    };
    match state.db.put(row).await {
        Ok(stored) => {
            let replaced = stored == Stored::Replaced;
            state.metrics.accepted(replaced);
            debug!("stored a report (replaced: {replaced})");
            json_response(
                StatusCode::ACCEPTED,
                &json!({ "status": "stored", "replaced": replaced }),
            )
        }
        Err(e) => {
            error!("a report was not stored: {}", crate::error_chain(&e));
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable",
                None,
                "the report was not stored; retry later",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, STORAGE_RETRY_AFTER_SECS.into());
            reject(Reason::Unavailable, response)
        }
    }
}

async fn read(state: &State, request: &Request<Incoming>, route: Route) -> Response<Body> {
    if let Some(refusal) = refusal(state.read_token.as_deref(), request.headers()) {
        return refusal;
    }
    let days = match days_of(request.uri().query()) {
        Ok(days) => days,
        Err(message) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid query",
                Some("days"),
                &message,
            );
        }
    };
    let now = (state.clock)();
    let summary = match summary::build(&state.db, utc_day(now), days, now).await {
        Ok(summary) => summary,
        Err(e) => {
            error!("the summary could not be read: {}", crate::error_chain(&e));
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable",
                None,
                "the summary could not be read; retry later",
            );
        }
    };
    if route == Route::Summary {
        return json_response(StatusCode::OK, &summary);
    }
    let mut response = text(
        StatusCode::OK,
        "text/html; charset=utf-8",
        dashboard::render(&summary),
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(dashboard::CONTENT_SECURITY_POLICY),
    );
    response
}

/// `?days=N`, 1 to [`MAX_DAYS`], default [`DEFAULT_DAYS`].
fn days_of(query: Option<&str>) -> Result<u32, String> {
    let value = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "days")
        .map(|(_, v)| v.into_owned());
    match value {
        None => Ok(DEFAULT_DAYS),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| format!("must be a whole number of days from 1 to {MAX_DAYS}")),
    }
}

/// Reads take the token as `Authorization: Bearer TOKEN`, or as the password of HTTP Basic
/// authentication (any user name), which lets a browser open the dashboard. `None` when
/// the request may read.
fn refusal(token: Option<&str>, headers: &HeaderMap) -> Option<Response<Body>> {
    let Some(token) = token else {
        return Some(error_response(
            StatusCode::FORBIDDEN,
            "reads are disabled",
            None,
            "start the collector with --read-token (or AXON_TELEMETRY_READ_TOKEN) to read the summary",
        ));
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(offered_token);
    if offered.is_some_and(|offered| same(offered.as_bytes(), token.as_bytes())) {
        return None;
    }
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        None,
        "reads need the read token: Authorization: Bearer TOKEN, or Basic with TOKEN as the password",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"axon-telemetry\", charset=\"UTF-8\""),
    );
    Some(response)
}

fn offered_token(authorization: &str) -> Option<String> {
    let (scheme, value) = authorization.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let pair = String::from_utf8(decoded).ok()?;
        return pair
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

/// Compares in time that depends on the length only, so a token cannot be guessed byte by
/// byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn rate_limited(wait: Duration) -> Response<Body> {
    let seconds = wait.as_secs().max(1);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "rate limited",
        None,
        &format!("too many requests from this address; retry after {seconds} s"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, seconds.into());
    response
}

/// `response`, saying that the connection closes after it.
fn with_close(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn error_response(
    status: StatusCode,
    error: &str,
    field: Option<&str>,
    message: &str,
) -> Response<Body> {
    let body = match field {
        Some(field) => json!({ "error": error, "field": field, "message": message }),
        None => json!({ "error": error, "message": message }),
    };
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_string(body).expect("response bodies always serialize");
    text(status, "application/json", body)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_bearer_or_basic_passwords() {
        assert_eq!(offered_token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(offered_token("bearer  abc ").as_deref(), Some("abc"));
        // "reader:abc"
        assert_eq!(
            offered_token("Basic cmVhZGVyOmFiYw==").as_deref(),
            Some("abc")
        );
        assert_eq!(offered_token("Basic !!!"), None);
        assert_eq!(offered_token("Digest abc"), None);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }

    #[test]
    fn the_window_is_bounded() {
        assert_eq!(days_of(None), Ok(30));
        assert_eq!(days_of(Some("days=7")), Ok(7));
        assert_eq!(days_of(Some("x=1&days=365")), Ok(365));
        let err = Err("must be a whole number of days from 1 to 365".to_owned());
        for bad in ["days=0", "days=366", "days=-1", "days=seven", "days="] {
            assert_eq!(days_of(Some(bad)), err, "{bad}");
        }
    }

    #[test]
    fn json_content_types_may_carry_parameters() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonp"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
