//! The collector load benchmark: `hack/bench-collector.sh` (see BENCHMARKS.md).
//!
//! Starts `axon-telemetry-collector` (release build) on loopback, once over SQLite and once over
//! a real, durable PostgreSQL server, and sends it a fixed number of reports from a fixed
//! number of installations at a fixed concurrency. Checks that none was lost or counted
//! twice (the summary and /metrics against what was sent), and prints latency percentiles,
//! throughput and the collector's peak RSS (wait4). Not a test: timings live here.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axon_telemetry_testkit::postgres;
use serde_json::{Value, json};

const READ_TOKEN: &str = "bench-token";

struct Options {
    reports: u64,
    installations: u64,
    concurrency: u64,
    backends: Vec<String>,
}

fn options() -> Options {
    let mut options = Options {
        reports: 20_000,
        installations: 5_000,
        concurrency: 64,
        backends: vec!["sqlite".into(), "postgres".into()],
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value");
        match arg.as_str() {
            "--reports" => options.reports = value().parse().unwrap(),
            "--installations" => options.installations = value().parse().unwrap(),
            "--concurrency" => options.concurrency = value().parse().unwrap(),
            "--backends" => options.backends = value().split(',').map(str::to_owned).collect(),
            "--bench" => {} // cargo bench passes it
            other => panic!("unknown argument {other}; see BENCHMARKS.md"),
        }
    }
    assert!(
        options.reports >= options.installations,
        "every installation reports at least once"
    );
    options
}

fn main() {
    let options = options();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "machine: {} cores; {} reports from {} installations at concurrency {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.reports,
        options.installations,
        options.concurrency
    );
    println!(
        "\n| backend | reports/s | p50 | p99 | max | collector peak RSS | collector CPU | lost | double-counted | summary |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().unwrap();
    for backend in &options.backends {
        let database = match backend.as_str() {
            "sqlite" => format!("sqlite:{}", dir.path().join("bench.db").display()),
            "postgres" => {
                let server = postgres::Postgres::start(true);
                runtime.block_on(server.fresh_database())
            }
            other => panic!("unknown backend {other}: sqlite or postgres"),
        };
        let result = runtime.block_on(load(&options, &database));
        println!(
            "| {backend} | {:.0} | {} | {} | {} | {:.1} MiB | {:.2} s | {} | {} | {} |",
            result.throughput,
            ms(result.p50),
            ms(result.p99),
            ms(result.max),
            result.max_rss_kib as f64 / 1024.0,
            result.cpu.as_secs_f64(),
            result.lost,
            result.double_counted,
            ms(result.summary)
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Outcome {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    max_rss_kib: u64,
    cpu: Duration,
    lost: i64,
    double_counted: i64,
    /// `GET /v1/summary` over every installation, after the load.
    summary: Duration,
}

/// The report installation `n` sends, every time: 3 Tasks.
fn report(n: u64) -> Value {
    json!({
        "schemaVersion": 1,
        "installationId": format!("00000000-0000-4000-8000-{n:012}"),
        "version": "v0.5.0",
        "reporterVersion": "0.1.0",
        "k8sVersion": "v1.33.2",
        "timestamp": jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap(),
        "tasks": {"total": 3, "byType": {"claude-code": 2, "codex": 1}, "byPhase": {"Succeeded": 3}},
        "features": {"taskSpawners": 1, "agentConfigs": 1, "workspaces": 1, "sourceTypes": ["github"]},
        "scale": {"namespaces": 4},
        "usage": {"totalCostUsd": 0.5, "totalInputTokens": 1000, "totalOutputTokens": 200}
    })
}

async fn load(options: &Options, database: &str) -> Outcome {
    let (mut child, port) = start_collector(database);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(options.concurrency as usize)
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (client, next, url) = (
            client.clone(),
            Arc::clone(&next),
            format!("{base}/v1/report"),
        );
        let (reports, installations) = (options.reports, options.installations);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= reports {
                    return latencies;
                }
                let body = report(i % installations).to_string();
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("the collector answers");
                let status = response.status();
                let _ = response.bytes().await;
                latencies.push(sent.elapsed());
                assert_eq!(status.as_u16(), 202, "report {i}");
            }
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];

    let read = |path: &str| {
        let request = client.get(format!("{base}{path}")).bearer_auth(READ_TOKEN);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let asked = Instant::now();
    let summary = read("/v1/summary?days=1").await;
    let summary_time = asked.elapsed();
    let summary: Value = serde_json::from_str(&summary).unwrap();
    let metrics = read("/metrics").await;
    let sample = |name: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    };
    let installations = summary["installations"].as_i64().unwrap();
    let tasks = summary["agentTypes"]["claude-code"]["tasks"]
        .as_i64()
        .unwrap();
    let expected = options.installations as i64;
    assert_eq!(
        sample("axon_telemetry_reports_accepted_total"),
        options.reports as i64
    );
    assert_eq!(
        sample("axon_telemetry_reports_duplicate_total"),
        (options.reports - options.installations) as i64
    );

    // SAFETY: signalling and reaping our own child; wait4 fills the rusage it is given.
    let (max_rss_kib, cpu) = unsafe {
        assert_eq!(libc::kill(child.id() as i32, libc::SIGTERM), 0);
        let mut status = 0;
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4");
        let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        (
            usage.ru_maxrss as u64,
            seconds(usage.ru_utime) + seconds(usage.ru_stime),
        )
    };
    let _ = child.try_wait();
    Outcome {
        throughput: options.reports as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        max: *latencies.last().unwrap(),
        max_rss_kib,
        cpu,
        lost: (expected - installations).max(0),
        // Every report carries 2 claude-code Tasks: more than 2 per installation means an
        // installation was counted twice.
        double_counted: (installations - expected).max(0) + ((tasks - 2 * expected) / 2).max(0),
        summary: summary_time,
    }
}

/// Starts the release collector and reads its port from the start-up line.
fn start_collector(database: &str) -> (Child, u16) {
    let binary = Path::new(env!("CARGO_BIN_EXE_axon-telemetry-collector"));
    // Reaped by wait4 in `load`, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(binary)
        .env_clear()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            // The benchmark's clients all connect from 127.0.0.1.
            "--connections-per-client",
            "0",
            "--read-token",
            READ_TOKEN,
        ])
        .args(["--database", database])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the collector");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .next()
        .expect("a start-up line")
        .expect("readable stderr");
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    // Keep draining, so that the collector never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}
