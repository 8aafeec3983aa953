//! A loopback HTTP(S) server on its own thread (one core, like an API server replica serving
//! one client), for the fakes and the benchmarks. Handlers are synchronous and see the whole
//! request; `None` means "never answer" (a hung server). A response's body is whole
//! (`Full<Bytes>`, the default) or any other hyper body, such as the scale benchmark's lists
//! streamed as the connection takes them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// The request target as sent: `/path?query`, or absolute-form through a proxy.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD target`, the form the tests compare.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
}

pub type Handler<B = Full<Bytes>> = Arc<dyn Fn(Received) -> Option<Response<B>> + Send + Sync>;

/// Stops and joins its thread when dropped.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start<B>(handler: Handler<B>, tls: Option<Arc<rustls::ServerConfig>>) -> Server
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, mut stop) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
                loop {
                    let stream = tokio::select! {
                        _ = &mut stop => return,
                        accepted = listener.accept() => accepted.unwrap().0,
                    };
                    let handler = handler.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| respond(handler.clone(), request));
                        let http = hyper::server::conn::http1::Builder::new();
                        match acceptor {
                            // A failed handshake is what the TLS tests look for on the client side.
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let _ =
                                        http.serve_connection(TokioIo::new(stream), service).await;
                                }
                            }
                            None => {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    });
                }
            });
        });
        Server {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

async fn respond<B>(
    handler: Handler<B>,
    request: Request<Incoming>,
) -> Result<Response<B>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let received = Received {
        method: parts.method.to_string(),
        target: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    match handler(received) {
        Some(response) => Ok(response),
        None => std::future::pending().await,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response with a JSON body.
pub fn json(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}
