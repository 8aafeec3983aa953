//! A real PostgreSQL server for tests and the collector benchmark, from Debian's
//! `postgresql` package: `initdb` in a fresh temp dir, `postgres` on a free loopback port.
//! It is tied to the process that started it (parent-death signal), so it stops when the
//! tests end, however they end. As root, both run as the `postgres` user, as PostgreSQL
//! refuses to run as root.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};

/// The line `postgres` logs once it takes connections.
const READY: &str = "database system is ready to accept connections";

pub struct Postgres {
    port: u16,
}

/// One server shared by every test in the process; each test takes its own database.
pub fn shared() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(|| Postgres::start(false))
}

impl Postgres {
    /// `durable`: keep PostgreSQL's fsync and synchronous commit (for measurements);
    /// otherwise they are off, which tests do not need and which makes them slow.
    pub fn start(durable: bool) -> Postgres {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!("axon-telemetry-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        remove_stale_dirs(&dir);
        std::fs::create_dir_all(&dir).expect("create the PostgreSQL temp dir");
        let user = unprivileged_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the PostgreSQL dir");
        }
        let data = dir.join("data");
        let initdb = as_user(Command::new(bin.join("initdb")), user)
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let (ready, ready_rx) = mpsc::channel();
        let bin_postgres = bin.join("postgres");
        // The parent-death signal follows the thread that forked, so a thread that lives as
        // long as the process starts the server and then drains its log.
        std::thread::spawn(move || {
            let mut command = as_user(Command::new(bin_postgres), user);
            command
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(&dir)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=200",
                ]);
            if !durable {
                command.args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ]);
            }
            // SAFETY: prctl is async-signal-safe and touches only this process.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            let mut child = match command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn() {
                Ok(child) => child,
                Err(e) => {
                    let _ = ready.send(Err(format!("cannot start postgres: {e}")));
                    return;
                }
            };
            let mut log = String::new();
            let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                log.push_str(&line);
                log.push('\n');
                if line.contains(READY) {
                    let _ = ready.send(Ok(()));
                    // Keep reading so that the server never blocks on a full pipe.
                    lines.for_each(drop);
                    return;
                }
            }
            let _ = ready.send(Err(format!("postgres exited before it was ready:\n{log}")));
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Postgres { port },
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("the postgres thread ended without a word"),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; returns its URL.
    pub async fn fresh_database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        drop(client);
        let _ = connection.await;
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// Debian installs the server binaries per major version; the newest wins.
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not installed ({}: {e}); hack/test.sh installs it",
                root.display()
            )
        })
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("no PostgreSQL server under /usr/lib/postgresql; hack/test.sh installs it")
}

/// The `postgres` user's ids when running as root.
fn unprivileged_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let output = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    let uid = String::from_utf8_lossy(&output.stdout).trim().parse().ok();
    let output = Command::new("id").args(["-g", "postgres"]).output().ok()?;
    let gid = String::from_utf8_lossy(&output.stdout).trim().parse().ok();
    match (uid, gid) {
        (Some(uid), Some(gid)) => Some((uid, gid)),
        _ => panic!(
            "running as root needs the postgres user (created by Debian's postgresql package)"
        ),
    }
}

fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        // As root, std also drops the supplementary groups when it sets the uid.
        command.uid(uid).gid(gid);
    }
    command
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Dirs left by earlier processes (a server stops with its process, its files stay).
fn remove_stale_dirs(own: &Path) {
    let Some(parent) = own.parent() else { return };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("axon-telemetry-pg-"))
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
