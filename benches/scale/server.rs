//! The benchmark's fake API: serves generated list pages (and, without `limit`, the whole
//! list in one response) as a chunked stream on the test kit's server, so it holds one
//! chunk in memory at a time however large the cluster. It counts requests and bytes and
//! times its own work.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axon_telemetry_testkit::generate::{Cluster, Kind};
use axon_telemetry_testkit::server::{Received, Server};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyper::Response;
use hyper::body::{Body, Bytes, Frame};

/// Objects per chunk of a streamed list: ~130 KB of Tasks.
const CHUNK_OBJECTS: u64 = 64;

/// What the server did since the last `take`.
#[derive(Default)]
pub struct Stats {
    requests: AtomicU64,
    list_requests: AtomicU64,
    bytes: AtomicU64,
    generating_nanos: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Taken {
    pub requests: u64,
    pub list_requests: u64,
    pub bytes: u64,
    pub generating_secs: f64,
}

impl Stats {
    pub fn take(&self) -> Taken {
        Taken {
            requests: self.requests.swap(0, Ordering::Relaxed),
            list_requests: self.list_requests.swap(0, Ordering::Relaxed),
            bytes: self.bytes.swap(0, Ordering::Relaxed),
            generating_secs: self.generating_nanos.swap(0, Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

pub struct FakeApi {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    // Stops its thread when dropped.
    _server: Server,
}

impl FakeApi {
    /// Serves `cluster` on 127.0.0.1 from the test kit's server: one thread of its own
    /// (one core, like an API server replica serving one client).
    pub fn start(cluster: Cluster) -> FakeApi {
        let stats = Arc::new(Stats::default());
        let served = Arc::clone(&stats);
        let server = Server::start(
            Arc::new(move |request: Received| Some(respond(cluster, &served, &request))),
            None,
        );
        FakeApi {
            addr: server.addr,
            stats,
            _server: server,
        }
    }
}

fn respond(cluster: Cluster, stats: &Arc<Stats>, request: &Received) -> Response<ListBody> {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let fixed = |status: u16, body: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(ListBody::fixed(body.as_bytes().to_vec(), stats.clone()))
            .unwrap()
    };
    if path == "/version" {
        return fixed(
            200,
            r#"{"major":"1","minor":"33","gitVersion":"v1.33.2","platform":"linux/amd64"}"#,
        );
    }
    let api = cluster.api();
    if path == "/apis" {
        let version = format!(
            r#"{{"groupVersion":"{}","version":"{}"}}"#,
            api.id(),
            api.version.name()
        );
        let groups = format!(
            r#"{{"kind":"APIGroupList","apiVersion":"v1","groups":[{{"name":"{}","versions":[{version}],"preferredVersion":{version}}}]}}"#,
            api.group.name()
        );
        return fixed(200, &groups);
    }
    if path.starts_with("/api/v1/namespaces/") && path.contains("/configmaps/") {
        return fixed(
            404,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"axon-telemetry\" not found","reason":"NotFound","code":404}"#,
        );
    }
    let prefix = format!("/apis/{}/", api.id());
    let Some(kind) = path
        .strip_prefix(&prefix)
        .and_then(|plural| cluster.kind_of(plural))
    else {
        return fixed(
            404,
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
        );
    };
    stats.list_requests.fetch_add(1, Ordering::Relaxed);
    let mut limit = None;
    let mut offset = 0;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "limit" => limit = value.parse::<u64>().ok(),
            "continue" => offset = decode_token(&value).unwrap_or(0),
            _ => {}
        }
    }
    let total = cluster.count(kind);
    let end = limit.map_or(total, |l| (offset + l).min(total));
    let body = ListBody {
        cluster,
        kind,
        next: offset,
        end,
        total,
        state: State::Prefix,
        stats: stats.clone(),
        fixed: None,
        wrote_items: false,
    };
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

/// A continue token shaped like the real server's: base64 of a small JSON document.
fn encode_token(offset: u64) -> String {
    BASE64.encode(format!(
        r#"{{"v":"meta.k8s.io/v1","rv":100000,"start":"{offset}\u0000"}}"#
    ))
}

fn decode_token(token: &str) -> Option<u64> {
    let text = String::from_utf8(BASE64.decode(token).ok()?).ok()?;
    let start = text.split_once(r#""start":""#)?.1;
    start.split('\\').next()?.parse().ok()
}

enum State {
    Prefix,
    Items,
    Done,
}

/// A list response produced chunk by chunk as the connection takes it.
pub struct ListBody {
    cluster: Cluster,
    kind: Kind,
    next: u64,
    end: u64,
    total: u64,
    state: State,
    stats: Arc<Stats>,
    fixed: Option<Vec<u8>>,
    wrote_items: bool,
}

impl ListBody {
    fn fixed(bytes: Vec<u8>, stats: Arc<Stats>) -> ListBody {
        ListBody {
            cluster: Cluster::default(),
            kind: Kind::Task,
            next: 0,
            end: 0,
            total: 0,
            state: State::Done,
            stats,
            fixed: Some(bytes),
            wrote_items: false,
        }
    }

    fn chunk(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(160 * 1024);
        match self.state {
            State::Done => return None,
            State::Prefix => {
                let _ = std::io::Write::write_fmt(
                    &mut out,
                    format_args!(r#"{{"apiVersion":"{}","items":["#, self.cluster.api().id()),
                );
                self.state = State::Items;
            }
            State::Items => {}
        }
        if self.next < self.end {
            if self.wrote_items {
                out.push(b',');
            }
            self.wrote_items = true;
            let to = (self.next + CHUNK_OBJECTS).min(self.end);
            self.cluster.write_items(self.kind, self.next, to, &mut out);
            self.next = to;
        }
        if self.next >= self.end {
            let _ = std::io::Write::write_fmt(
                &mut out,
                format_args!(r#"],"kind":"{}List","metadata":{{"#, self.kind.name()),
            );
            if self.end < self.total {
                let token = encode_token(self.end);
                let _ = std::io::Write::write_fmt(
                    &mut out,
                    format_args!(
                        r#""continue":"{token}","remainingItemCount":{},"#,
                        self.total - self.end
                    ),
                );
            }
            out.extend_from_slice(br#""resourceVersion":"100000"}}"#);
            self.state = State::Done;
        }
        Some(out)
    }
}

impl Body for ListBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let started = Instant::now();
        let chunk = match self.fixed.take() {
            Some(bytes) => Some(bytes),
            None => self.chunk(),
        };
        let stats = &self.stats;
        stats
            .generating_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Poll::Ready(chunk.map(|bytes| {
            stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            Ok(Frame::data(Bytes::from(bytes)))
        }))
    }
}
