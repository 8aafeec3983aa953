//! The scale benchmark: `hack/bench.sh` (see BENCHMARKS.md).
//!
//! For each cluster size it starts a fake API server that generates realistic objects on
//! the fly, then measures, each as a separate process: the I/O floor (fetch every page,
//! discard it), the reporter (`axon-telemetry report --dry-run`), and the unpaginated
//! baseline of the original plan. Wall time, peak RSS, CPU, requests and bytes come from
//! the same run; the reporter's and baseline's numbers are checked against the generator's
//! ground truth. Not a test: timings live here, never in `cargo test`.

mod clients;
mod server;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axon_telemetry_testkit::fake_kube::write_kubeconfig;
use axon_telemetry_testkit::generate::{Cluster, Flavor};
use server::{FakeApi, Taken};

/// The generator's seed: the same objects every run.
const SEED: u64 = 42;

struct Options {
    sizes: Vec<u64>,
    page_size: u32,
    repeat: usize,
    baseline: bool,
    /// Only serve this many Tasks and print a kubeconfig, for profiling by hand.
    serve: Option<u64>,
    /// `--api kelos`: a Kelos v0.52.0 cluster (`kelos.dev/v1alpha2`) instead of Axon's.
    flavor: Flavor,
    /// Kelos: WorkerPools (default 1000) and TaskRecords (default 0).
    pools: u64,
    records: u64,
}

impl Options {
    fn cluster(&self, tasks: u64) -> Cluster {
        Cluster {
            seed: SEED,
            tasks,
            flavor: self.flavor,
            pools: self.pools,
            records: self.records,
        }
    }
}

fn options() -> Options {
    let mut options = Options {
        sizes: vec![10_000, 100_000, 1_000_000],
        page_size: 500,
        repeat: 3,
        baseline: true,
        serve: None,
        flavor: Flavor::Axon,
        pools: 0,
        records: 0,
    };
    let mut pools = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => options.sizes = args.next().unwrap().split(',').map(parse_size).collect(),
            "--page-size" => options.page_size = args.next().unwrap().parse().unwrap(),
            "--repeat" => options.repeat = args.next().unwrap().parse().unwrap(),
            "--no-baseline" => options.baseline = false,
            "--serve" => options.serve = Some(parse_size(&args.next().unwrap())),
            "--api" => {
                options.flavor = match args.next().as_deref() {
                    Some("axon") => Flavor::Axon,
                    Some("kelos") => Flavor::Kelos,
                    other => panic!("--api axon or kelos, not {other:?}"),
                }
            }
            "--pools" => pools = Some(parse_size(&args.next().unwrap())),
            "--records" => options.records = parse_size(&args.next().unwrap()),
            "--bench" => {} // cargo bench passes it
            other => panic!("unknown argument {other}; see BENCHMARKS.md"),
        }
    }
    if options.flavor == Flavor::Kelos {
        options.pools = pools.unwrap_or(1000);
        // The baseline implements Axon's counting only.
        options.baseline = false;
    } else {
        assert!(
            pools.is_none() && options.records == 0,
            "--pools and --records need --api kelos"
        );
    }
    options
}

fn parse_size(text: &str) -> u64 {
    let text = text.trim().to_ascii_lowercase();
    let (digits, factor) = match text.strip_suffix('m') {
        Some(d) => (d, 1_000_000),
        None => text
            .strip_suffix('k')
            .map_or((text.as_str(), 1), |d| (d, 1_000)),
    };
    digits.parse::<u64>().expect("a size such as 10k or 1m") * factor
}

/// One measured process.
#[derive(Clone, Debug, Default)]
struct Measured {
    wall: Duration,
    max_rss_kib: u64,
    cpu: Duration,
    served: Taken,
    stdout: String,
}

fn main() {
    // Child modes: the comparison clients, run by the orchestrator below.
    let args: Vec<String> = std::env::args().collect();
    if let Some(mode) = args
        .iter()
        .position(|a| a == "--mode")
        .map(|i| args[i + 1].clone())
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match mode.as_str() {
            "floor" => {
                let value = |flag: &str| &args[args.iter().position(|a| a == flag).unwrap() + 1];
                let page_size = value("--page-size").parse().unwrap();
                let flavor = match value("--api").as_str() {
                    "kelos" => Flavor::Kelos,
                    _ => Flavor::Axon,
                };
                println!("{}", runtime.block_on(clients::floor(page_size, flavor)));
            }
            "baseline" => println!("{}", runtime.block_on(clients::baseline())),
            other => panic!("unknown mode {other}"),
        }
        return;
    }

    let options = options();
    if let Some(tasks) = options.serve {
        let api = FakeApi::start(options.cluster(tasks));
        let dir = std::env::temp_dir().join("axon-telemetry-bench");
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = write_kubeconfig(&dir, &format!("http://{}", api.addr), "bench");
        println!(
            "serving {tasks} Tasks; KUBECONFIG={} ; press Enter to stop",
            kubeconfig.display()
        );
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }
    let reporter = Path::new(env!("CARGO_BIN_EXE_axon-telemetry"));
    let me = std::env::current_exe().unwrap();
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().unwrap(),
        cpu_model()
    );
    println!(
        "page size {}, {} back-to-back floor/reporter pairs per size (median walls and ratio, max RSS)",
        options.page_size, options.repeat
    );
    println!(
        "cluster: {}\n",
        match options.flavor {
            Flavor::Axon => "Axon v0.12.0 (axon.io/v1alpha1)".to_owned(),
            Flavor::Kelos => format!(
                "Kelos v0.52.0 (kelos.dev/v1alpha2), {} WorkerPools, {} TaskRecords",
                options.pools, options.records
            ),
        }
    );
    let api_flag = match options.flavor {
        Flavor::Axon => "axon",
        Flavor::Kelos => "kelos",
    };
    let mut rows = Vec::new();
    let mut baseline_rss_per_task = None::<f64>;
    for &tasks in &options.sizes {
        let cluster = options.cluster(tasks);
        let truth = cluster.ground_truth();
        let api = FakeApi::start(cluster);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = write_kubeconfig(dir.path(), &format!("http://{}", api.addr), "bench");
        let page_size = options.page_size.to_string();

        let mut floors = Vec::new();
        let mut reports = Vec::new();
        let mut ratios = Vec::new();
        for run in 0..options.repeat {
            let floor = || {
                let mut floor = Command::new(&me);
                floor.args([
                    "--mode",
                    "floor",
                    "--page-size",
                    &page_size,
                    "--api",
                    api_flag,
                ]);
                measure(floor, &kubeconfig, &api)
            };
            let report = || {
                let mut report = Command::new(reporter);
                report.args([
                    "report",
                    "--dry-run",
                    "--log-level",
                    "warn",
                    "--page-size",
                    &page_size,
                ]);
                let measured = measure(report, &kubeconfig, &api);
                check("reporter", tasks, &truth, &measured.stdout, REPORTED);
                measured
            };
            // Each pair runs back to back, in alternating order, so that a slow spell of
            // this shared machine weighs on both sides of a ratio.
            let (floor, report) = if run % 2 == 0 {
                let floor = floor();
                (floor, report())
            } else {
                let report = report();
                (floor(), report)
            };
            let ratio = report.wall.as_secs_f64() / floor.wall.as_secs_f64();
            println!(
                "  run {}: floor {:.3} s, reporter {:.3} s ({ratio:.2}×, reporter CPU {:.3} s)",
                run + 1,
                floor.wall.as_secs_f64(),
                report.wall.as_secs_f64(),
                report.cpu.as_secs_f64()
            );
            ratios.push(ratio);
            floors.push(floor);
            reports.push(report);
        }
        ratios.sort_by(f64::total_cmp);
        let floor = summary(&floors);
        let report = summary(&reports);

        let baseline = match baseline_rss_per_task {
            Some(per_task) if !fits_in_memory(per_task * tasks as f64) => {
                println!(
                    "{tasks} Tasks: baseline skipped, it would need ~{:.1} GiB",
                    per_task * tasks as f64 / 1048576.0
                );
                None
            }
            _ if !options.baseline => None,
            _ => {
                let mut command = Command::new(&me);
                command.args(["--mode", "baseline"]);
                let measured = measure(command, &kubeconfig, &api);
                check("baseline", tasks, &truth, &measured.stdout, &REPORTED[..4]);
                baseline_rss_per_task = Some(measured.max_rss_kib as f64 / tasks as f64);
                Some(measured)
            }
        };
        let row = Row {
            tasks,
            floor,
            report,
            baseline,
            ratios,
        };
        println!("{}", row.detail());
        rows.push(row);
    }
    println!("\n{}", Row::header());
    for row in &rows {
        println!("{}", row.markdown());
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap().trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Whether a process of `kib` KiB would leave a quarter of this machine's memory free.
fn fits_in_memory(kib: f64) -> bool {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let available = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .unwrap_or(0.0);
    kib * 1.1 < available * 0.75
}

/// Runs `command` against the fake API and measures it with wait4(2): wall time, peak RSS
/// and user+system CPU of that process alone.
fn measure(mut command: Command, kubeconfig: &Path, api: &FakeApi) -> Measured {
    command
        .env_clear()
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", "/nonexistent");
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    api.stats.take();
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("start the measured process");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten; wait4 reaps the child we
    // spawned, which std's Child would otherwise reap (it is dropped without waiting).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let stdout = reader.join().unwrap();
    let stderr = errors.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed:\n{stderr}"
    );
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        served: api.stats.take(),
        stdout,
    }
}

/// The parts of the report checked against the ground truth; the baseline has the first four.
const REPORTED: &[&str] = &["tasks", "features", "scale", "usage", "workerPools"];

/// Checks `keys` of a printed report (or the baseline's aggregates) against the ground truth.
fn check(who: &str, tasks: u64, truth: &serde_json::Value, stdout: &str, keys: &[&str]) {
    let printed: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{who}: {e}: {stdout}"));
    for &key in keys {
        assert_eq!(
            printed[key], truth[key],
            "{who} at {tasks} Tasks: {key} differs from the ground truth"
        );
    }
}

/// The median-wall run, with the largest RSS of all runs.
fn summary(runs: &[Measured]) -> Measured {
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|m| m.wall);
    let mut median = sorted[sorted.len() / 2].clone();
    median.max_rss_kib = runs.iter().map(|m| m.max_rss_kib).max().unwrap();
    median
}

struct Row {
    tasks: u64,
    floor: Measured,
    report: Measured,
    baseline: Option<Measured>,
    /// reporter / floor of each back-to-back pair, sorted.
    ratios: Vec<f64>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Row {
    fn header() -> String {
        "| Tasks | JSON served | list requests | floor wall | reporter wall | reporter / floor (median, range) | reporter peak RSS | reporter CPU | CPU per GB | baseline wall | baseline peak RSS | fake generates |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into()
    }

    fn markdown(&self) -> String {
        let gb = self.report.served.bytes as f64 / 1e9;
        let (baseline_wall, baseline_rss) = match &self.baseline {
            Some(b) => (
                format!("{:.2} s", b.wall.as_secs_f64()),
                format!("{:.0} MiB", mib(b.max_rss_kib)),
            ),
            None => ("skipped".into(), "skipped".into()),
        };
        format!(
            "| {} | {:.0} MB | {} | {:.2} s | {:.2} s | {:.2}× ({:.2}–{:.2}) | {:.1} MiB | {:.2} s | {:.2} s | {} | {} | {:.0} MB/s |",
            self.tasks,
            self.report.served.bytes as f64 / 1e6,
            self.report.served.list_requests,
            self.floor.wall.as_secs_f64(),
            self.report.wall.as_secs_f64(),
            self.ratios[self.ratios.len() / 2],
            self.ratios[0],
            self.ratios[self.ratios.len() - 1],
            mib(self.report.max_rss_kib),
            self.report.cpu.as_secs_f64(),
            self.report.cpu.as_secs_f64() / gb,
            baseline_wall,
            baseline_rss,
            self.floor.served.bytes as f64 / 1e6 / self.floor.served.generating_secs,
        )
    }

    fn detail(&self) -> String {
        let line = |name: &str, m: &Measured| {
            format!(
                "  {name:<9} wall {:>7.3} s  peak RSS {:>8.1} MiB  CPU {:>7.3} s  requests {:>5}  bytes {:>11}",
                m.wall.as_secs_f64(),
                mib(m.max_rss_kib),
                m.cpu.as_secs_f64(),
                m.served.requests,
                m.served.bytes
            )
        };
        let mut text = format!(
            "{} Tasks (report matches the ground truth)\n{}\n{}",
            self.tasks,
            line("floor", &self.floor),
            line("reporter", &self.report)
        );
        if let Some(baseline) = &self.baseline {
            text.push('\n');
            text.push_str(&line("baseline", baseline));
        }
        text.push_str(&format!(
            "\n  fake API: generated {:.0} MB in {:.3} s of its own time during the floor run ({:.0} MB/s)",
            self.floor.served.bytes as f64 / 1e6,
            self.floor.served.generating_secs,
            self.floor.served.bytes as f64 / 1e6 / self.floor.served.generating_secs
        ));
        text
    }
}
