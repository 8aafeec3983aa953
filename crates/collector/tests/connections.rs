//! Clients that hold connections and never read what they are sent: they get their share of
//! the collector's connections and no more, and lose a connection whose response they do not
//! take. Other clients are served meanwhile. The attackers connect from 127.0.0.1 and the
//! ordinary client from 127.0.0.2 (all of 127/8 is this machine).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::collector::{Backend, Collector};

const ATTACKER: &str = "127.0.0.1";
const ORDINARY: &str = "127.0.0.2";

/// A connection to `to` from the loopback address `source`, with a receive buffer of
/// `receive_buffer` bytes if given (small, so that a client that does not read blocks the
/// server's writes soon).
async fn connect_from(source: &str, to: SocketAddr, receive_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.connect(to).await.unwrap()
}

/// `GET path` from `source` on a connection of its own: the status line and the body.
async fn get_from(source: &str, to: SocketAddr, path: &str) -> (String, String) {
    let mut stream = connect_from(source, to, None).await;
    let request = format!("GET {path} HTTP/1.1\r\nhost: collector\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a whole response");
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the metric `name` (a counter without labels).
async fn metric(to: SocketAddr, name: &str) -> u64 {
    let (status, body) = get_from(ORDINARY, to, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let line = body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in:\n{body}"));
    line.parse().unwrap()
}

/// `count` requests for `/metrics` in one write, as a client that pipelines would send them.
fn pipelined(count: usize) -> Vec<u8> {
    b"GET /metrics HTTP/1.1\r\nhost: collector\r\n\r\n".repeat(count)
}

/// Enough file descriptors for both ends of `connections` loopback connections.
fn allow_open_files(connections: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct they are given, nothing else.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit: {}", std::io::Error::last_os_error());
    let needed = 2 * connections + 256;
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} open files; the hard limit is {} (ulimit -Hn)",
        limit.rlim_max
    );
    if limit.rlim_cur < needed {
        limit.rlim_cur = needed;
        // SAFETY: as above.
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }
}

#[tokio::test]
async fn hundreds_of_clients_that_never_read_lock_no_one_out() {
    // More than the 1,024 connections the collector serves at once, all from one address.
    const STALLED: usize = 1100;
    allow_open_files(STALLED as u64 + 1);
    // A request timeout far beyond the test's length: what frees the ordinary client's way
    // must be the per-address limit, not a timeout.
    let collector = Collector::start_with(Backend::Sqlite, |settings| {
        settings.request_timeout = Duration::from_secs(600);
    })
    .await;
    let to = collector.addr();
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = connect_from(ATTACKER, to, Some(4096)).await;
        // A refused connection may already be closed: the write then fails, which is fine.
        let _ = stream.write_all(&pipelined(64)).await;
        stalled.push(stream);
    }
    // An ordinary client is answered at once: 1 s is for a loaded machine, not the norm.
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(1), get_from(ORDINARY, to, "/healthz"))
            .await
            .expect("an ordinary client is answered within a second");
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    // The attacking address holds 32 connections; every other one was closed at once.
    assert_eq!(
        metric(to, "axon_telemetry_connections_refused_total").await,
        STALLED as u64 - 32
    );
    drop(stalled);
    collector.stop().await;
}

#[tokio::test]
async fn a_client_that_takes_no_response_loses_its_connection_after_the_request_timeout() {
    const REQUESTS: usize = 2000;
    let collector = Collector::start_with(Backend::Sqlite, |settings| {
        settings.request_timeout = Duration::from_secs(1);
    })
    .await;
    let to = collector.addr();
    let mut stalled = connect_from(ATTACKER, to, Some(4096)).await;
    // Megabytes of responses, more than the socket buffers on both sides hold.
    stalled.write_all(&pipelined(REQUESTS)).await.unwrap();
    // Wait, reading nothing, until the collector has given up on it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while metric(to, "axon_telemetry_write_timeouts_total").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection was never cut off"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What the socket buffers held arrives, then the connection ends: before all answers.
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut received))
        .await
        .expect("the connection ends");
    let answers = received
        .windows(b"HTTP/1.1 200 OK".len())
        .filter(|w| *w == b"HTTP/1.1 200 OK")
        .count();
    assert!(answers < REQUESTS, "all {answers} answers arrived");
    collector.stop().await;
}
