//! The dashboard in headless Chromium: a screenshot is taken, the rendered page holds the
//! expected figures, and nothing is requested from anywhere but the collector.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::collector::{Backend, Collector, TOKEN, installation, report};
use crate::support::command::{hermetic, run};

/// Debian's package; hack/test.sh installs it. A missing browser fails the test.
const CHROMIUM: &str = "/usr/bin/chromium";

/// A laptop screen.
const WINDOW: (u32, u32) = (1366, 900);

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_renders_the_figures_and_loads_nothing_from_outside() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: hack/test.sh installs Debian's chromium"
    );
    let collector = Collector::start(Backend::Sqlite).await;
    for n in 1..=3 {
        let mut body = report(&installation(n));
        if n == 3 {
            body["version"] = "v0.6.0-rc.1".into();
            body["features"] = json!({"taskSpawners": 0, "agentConfigs": 1, "workspaces": 0, "sourceTypes": ["jira"]});
        }
        assert_eq!(collector.post_report(&body).await.status, 202);
    }
    // Nothing on the page points anywhere but the collector, and the browser is told to
    // load nothing else either.
    let html = collector.read("/?days=7").await;
    assert!(
        !html.body.contains("://") && !html.body.contains("src="),
        "{}",
        html.body
    );
    assert_eq!(
        html.header("content-security-policy"),
        Some(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    );

    let outside = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let page = format!("http://reader:{TOKEN}@{}/?days=7", collector.addr());

    let screenshot = dir.path().join("dashboard.png");
    let browser = Browser {
        home: dir.path().to_owned(),
        proxy: outside.url(),
    };
    let (dom, shot) = {
        let browser = browser.clone();
        let screenshot = screenshot.clone();
        let page = page.clone();
        tokio::task::spawn_blocking(move || {
            let dom = browser.run(&["--dump-dom", &page]);
            let shot = browser.run(&[&format!("--screenshot={}", screenshot.display()), &page]);
            (dom, shot)
        })
        .await
        .unwrap()
    };
    assert!(shot.contains("bytes written to file"), "{shot}");

    let text = visible_text(&dom);
    for figure in [
        "Axon telemetry",
        "Last 7 days (2026-11-22 to 2026-11-28)",
        "3 active today",
        "3 reporting in window",
        "9 tasks",
        "3.75 cost (USD)",
        "claude-code 3 (6 tasks)",
        "Succeeded 6",
        "TaskSpawners 66.7% (2)",
        "AgentConfigs 33.3% (1)",
        "source: jira 33.3% (1)",
        "2-5 3",
        "v0.5.0 2",
        "v0.6.0-rc.1 1",
        "v1.33.2 3",
        "input tokens 3000",
    ] {
        assert!(
            text.contains(figure),
            "{figure:?} is not on the page:\n{text}"
        );
    }

    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), WINDOW);
    // A blank page compresses to a few KiB; charts and text do not.
    assert!(
        png.len() > 30_000,
        "the screenshot is nearly empty ({} bytes)",
        png.len()
    );
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::copy(&screenshot, &kept).unwrap();

    assert_eq!(
        outside.requests(),
        Vec::<String>::new(),
        "the page loaded something from outside"
    );
    // The recorder does see what leaves: a page off loopback goes through it.
    let browser = browser.clone();
    tokio::task::spawn_blocking(move || browser.run(&["--dump-dom", "http://dashboard.example/"]))
        .await
        .unwrap();
    assert_eq!(
        outside.requests(),
        ["GET http://dashboard.example/ HTTP/1.1"]
    );
    collector.stop().await;
}

/// Headless Chromium with the flags a closed network needs, and every request that is
/// not to loopback sent to `proxy`.
#[derive(Clone)]
struct Browser {
    home: PathBuf,
    proxy: String,
}

impl Browser {
    fn run(&self, args: &[&str]) -> String {
        let profile = tempfile::tempdir_in(&self.home).unwrap();
        let run = run(hermetic(Path::new(CHROMIUM))
            .env("HOME", &self.home)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                // The browser's own traffic (clock checks, sign-in, search prefetch), so
                // that what reaches the proxy can only come from the page.
                "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions,PrivacySandboxSettings4",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-client-side-phishing-detection",
                "--disable-domain-reliability",
                "--no-pings",
                "--no-default-browser-check",
                // Left over: sign-in and search preconnects to Google's hosts. They go
                // direct and fail to resolve instead of muddying the proxy's record.
                "--proxy-bypass-list=*.google.com",
                "--host-resolver-rules=MAP *.google.com ~NOTFOUND",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--proxy-server={}", self.proxy))
            .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
            .args(args));
        assert_eq!(run.code, 0, "chromium failed: {}", run.stderr);
        run.stdout + &run.stderr
    }
}

/// The page's text, tags dropped and whitespace collapsed, as a reader sees it.
fn visible_text(html: &str) -> String {
    let body = html.split("<body>").nth(1).unwrap_or(html);
    let mut text = String::new();
    let mut in_tag = false;
    let mut in_title = 0;
    for piece in body.split_inclusive(['<', '>']) {
        if in_tag {
            // SVG tooltips are not on the screen.
            if piece.starts_with("title") {
                in_title += 1;
            } else if piece.starts_with("/title") {
                in_title -= 1;
            }
            in_tag = !piece.ends_with('>');
            if !in_tag {
                text.push(' ');
            }
            continue;
        }
        let content = piece.trim_end_matches('<');
        if in_title == 0 {
            text.push_str(content);
        }
        in_tag = piece.ends_with('<');
    }
    text.replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Answers every connection with 502 and records its request line.
struct Recorder {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]);
                    if let Some(line) = head.lines().next().filter(|l| !l.is_empty()) {
                        record.lock().unwrap().push(line.to_owned());
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Recorder { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
