//! The dashboard in headless Chromium: a screenshot is taken, the rendered page holds the
//! expected figures, and the page requests nothing from anywhere but the collector.

use std::path::PathBuf;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::chromium::Chromium;
use crate::support::collector::{Backend, Collector, TOKEN, installation, kelos_report, report};

/// A laptop screen.
const WINDOW: (u32, u32) = (1366, 900);

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_renders_the_figures_and_loads_nothing_from_outside() {
    let collector = Collector::start(Backend::Sqlite).await;
    for n in 1..=3 {
        let mut body = report(&installation(n));
        if n == 3 {
            body["version"] = "v0.6.0-rc.1".into();
            body["features"] = json!({"taskSpawners": 0, "agentConfigs": 1, "workspaces": 0, "sourceTypes": ["jira"]});
        }
        assert_eq!(collector.post_report(&body).await.status, 202);
    }
    let kelos = kelos_report(&installation(4));
    assert_eq!(collector.post_report(&kelos).await.status, 202);
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

    let page = collector.url("/?days=7");
    let origin = collector.url("");
    let bearer = format!("Bearer {TOKEN}");
    let loaded = tokio::task::spawn_blocking(move || {
        Chromium::launch().load(&page, &[("Authorization", &bearer)], WINDOW)
    })
    .await
    .unwrap();
    assert_eq!(
        loaded.outside(&origin),
        Vec::<&str>::new(),
        "the page loaded something from outside"
    );
    assert_eq!(loaded.requests, [collector.url("/?days=7")]);
    let dom = loaded.html;

    let text = visible_text(&dom);
    for figure in [
        "Axon and Kelos telemetry",
        "Last 7 days (2026-11-22 to 2026-11-28)",
        "4 active today",
        "4 reporting in window",
        "13 tasks",
        "3.76 cost (USD)",
        "claude-code 3 (6 tasks)",
        "codex 4 (6 tasks)",
        "Succeeded 6",
        "Running 4",
        "TaskSpawners 75% (3)",
        "AgentConfigs 25% (1)",
        "source: jira 25% (1)",
        "source: linear 25% (1)",
        "Sessions 100% (1)",
        "TaskRecords 100% (1)",
        "TaskBudgets 0% (0)",
        "kelos.dev/v1alpha2 1",
        "axon.io/v1alpha1 0",
        "schema v1 reporter (axon.io only) 3",
        "linearWebhook 1",
        "type: claude-code 2",
        "phase: Failed 1",
        "Scaling 1",
        "replicas desired 5",
        "2-5 3",
        "6-20 1",
        "v0.5.0 2",
        "v0.6.0-rc.1 1",
        "v0.52.0 1",
        "v1.33.2 3",
        "v1.34.1 1",
        "input tokens 3900",
    ] {
        assert!(
            text.contains(figure),
            "{figure:?} is not on the page:\n{text}"
        );
    }

    let png = loaded.screenshot;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), WINDOW);
    // A blank page compresses to a few KiB; charts and text do not.
    assert!(
        png.len() > 30_000,
        "the screenshot is nearly empty ({} bytes)",
        png.len()
    );
    // Kept for a person to look at.
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png"),
        &png,
    )
    .unwrap();

    collector.stop().await;
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

/// The dashboard's own Content-Security-Policy (asserted above), for the planted page.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The check above can fail: a page that loads an image and a stylesheet from outside is
/// caught, even when its Content-Security-Policy blocks both, and a `data:` image is not
/// counted as outside.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_loads_from_outside_is_caught() {
    let page = r#"<!doctype html><html><head>
        <link rel="stylesheet" href="https://cdn.example/style.css"></head><body>
        <img src="http://tracker.example/pixel.png?id=1">
        <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
        </body></html>"#;
    for csp in [None, Some(CSP)] {
        let origin = serve_forever(page, csp).await;
        let url = format!("{origin}/planted");
        let loaded =
            tokio::task::spawn_blocking(move || Chromium::launch().load(&url, &[], WINDOW))
                .await
                .unwrap();
        assert_eq!(
            loaded.outside(&origin),
            [
                "https://cdn.example/style.css",
                "http://tracker.example/pixel.png?id=1"
            ],
            "with CSP {csp:?}"
        );
    }
}

/// Serves `page` (with `csp`, when given) to every request on a loopback port, for the rest
/// of the test; returns the origin.
async fn serve_forever(page: &'static str, csp: Option<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let head = match csp {
        Some(csp) => format!("content-security-policy: {csp}\r\n"),
        None => String::new(),
    };
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let head = head.clone();
            tokio::spawn(async move {
                // One request per connection: its head fits one read.
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n{head}content-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    origin
}
