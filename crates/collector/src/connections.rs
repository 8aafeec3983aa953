//! What one client may hold of the collector's connections, and for how long a connection
//! may be stuck writing:
//! - [`PerClient`]: at most `--connections-per-client` connections per client address (IPv6
//!   by /64, as the rate limiter keys them; 32 by default: a reporter uses one, a browser on
//!   the dashboard up to six), so that one address cannot take the 1,024 connections the
//!   collector serves at once, whatever it does with them.
//! - [`WriteDeadline`]: a response the client does not take (it never reads, so the socket
//!   buffers fill) ends its connection once writing has been blocked for the limit, instead
//!   of holding it, and the drain at SIGTERM, forever.
//!
//! Reading is bounded elsewhere: hyper's header timeout (also while a kept-alive connection
//! waits for its next request) and the body timeout of `http.rs`.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::metrics::Metrics;
use crate::ratelimit;

/// The number of connections each client address holds, up to a maximum.
pub struct PerClient {
    /// 0: no limit.
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One of a client's connections; dropping it gives the slot back.
pub struct Slot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl PerClient {
    pub fn new(max: usize) -> PerClient {
        PerClient {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a new connection from `client`, or `None` when it holds its maximum.
    pub fn enter(&self, client: IpAddr) -> Option<Slot> {
        let key = ratelimit::key(client);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key).or_insert(0);
        if self.max != 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            open: Arc::clone(&self.open),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A connection's socket whose writes fail with `TimedOut` once they have been blocked (the
/// client not taking what is written) for `limit` within one response: the clock starts at
/// the first write the socket cannot take and stops when hyper has flushed the response,
/// so a client that drains a response a byte at a time is cut off too.
pub struct WriteDeadline<T> {
    inner: T,
    limit: Duration,
    blocked: Option<Pin<Box<Sleep>>>,
    metrics: Arc<Metrics>,
}

impl<T> WriteDeadline<T> {
    pub fn new(inner: T, limit: Duration, metrics: Arc<Metrics>) -> WriteDeadline<T> {
        WriteDeadline {
            inner,
            limit,
            blocked: None,
            metrics,
        }
    }

    /// Called when the socket could not take a write: `Pending` while within the limit.
    fn blocked(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let limit = self.limit;
        let deadline = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        ready!(deadline.as_mut().poll(cx));
        self.metrics.write_timed_out();
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client took none of the response for {limit:?}"),
        ))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.blocked(cx).map(Err),
            done => done,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.blocked(cx).map(Err),
            done => done,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.blocked(cx).map(Err),
            Poll::Ready(result) => {
                // hyper flushes once a response is all written: the next one starts afresh.
                self.blocked = None;
                Poll::Ready(result)
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const MAX: usize = 32;

    #[test]
    fn zero_is_no_limit() {
        let clients = PerClient::new(0);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<Slot> = (0..1000).map(|_| clients.enter(one).unwrap()).collect();
        assert_eq!(held.len(), 1000);
    }

    #[test]
    fn a_client_holds_at_most_its_share_of_connections() {
        let clients = PerClient::new(MAX);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let held: Vec<Slot> = (0..MAX)
            .map(|_| clients.enter(one).expect("within the limit"))
            .collect();
        assert!(clients.enter(one).is_none());
        let for_other = clients.enter(other).expect("another client has its own");
        drop(held);
        drop(for_other);
        assert!(clients.open.lock().unwrap().is_empty());
        assert!(clients.enter(one).is_some());
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let clients = PerClient::new(MAX);
        let _held: Vec<Slot> = (0..MAX)
            .map(|i| {
                let address = format!("2001:db8::{:x}", i + 1).parse().unwrap();
                clients.enter(address).expect("within the limit")
            })
            .collect();
        assert!(clients.enter("2001:db8::ffff".parse().unwrap()).is_none());
        assert!(clients.enter("2001:db8:0:1::1".parse().unwrap()).is_some());
    }

    /// A socket whose peer reads nothing until told to: it takes 64 bytes, then blocks.
    fn socket() -> (
        WriteDeadline<tokio::io::DuplexStream>,
        tokio::io::DuplexStream,
        Arc<Metrics>,
    ) {
        let metrics = Arc::new(Metrics::default());
        let (near, far) = tokio::io::duplex(64);
        let limit = Duration::from_secs(10);
        (
            WriteDeadline::new(near, limit, Arc::clone(&metrics)),
            far,
            metrics,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn writes_fail_once_blocked_for_the_limit() {
        let (mut socket, _far, metrics) = socket();
        let started = Instant::now();
        socket.write_all(&[b'x'; 64]).await.unwrap();
        let error = socket.write_all(b"more").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            error.to_string(),
            "the client took none of the response for 10s"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(
            metrics
                .render()
                .contains("\naxon_telemetry_write_timeouts_total 1\n")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_restarts_with_each_response() {
        let (mut socket, mut far, _) = socket();
        let started = Instant::now();
        socket.write_all(&[b'x'; 64]).await.unwrap();
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(6)).await;
            far.read_exact(&mut [0; 64]).await.unwrap();
            far
        });
        // Blocked from 0 s to 6 s, then flushed: the next response has 10 s of its own.
        socket.write_all(b"more").await.unwrap();
        socket.flush().await.unwrap();
        let _far = reader.await.unwrap();
        socket.write_all(&[b'x'; 60]).await.unwrap();
        let error = socket.write_all(b"again").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(16));
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_taken_a_byte_at_a_time_is_cut_off_too() {
        let (mut socket, mut far, _) = socket();
        let started = Instant::now();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                if far.read_exact(&mut [0; 1]).await.is_err() {
                    break;
                }
            }
        });
        let error = socket.write_all(&[b'x'; 100]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}
