//! `axon-telemetry-collector` as a process: flags, start-up failures, log formats, and a
//! graceful SIGTERM that still stores the report in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::collector::{installation, report};
use crate::support::command::{binary, hermetic, run};

/// Far longer than any start or drain takes; a hung collector fails its test.
const WAIT: Duration = Duration::from_secs(30);

/// A running `serve` whose stderr lines arrive on a channel.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Serve {
    fn start(dir: &Path, args: &[&str]) -> Serve {
        let mut child = Command::new(binary())
            .env_clear()
            .current_dir(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the collector starts");
        let (send, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child,
            lines,
            port: 0,
        };
        let started = serve.wait_for("collecting reports on http://127.0.0.1:");
        let port = started
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {started:?}"));
        serve.port = port;
        serve
    }

    /// The next line containing `text`; earlier lines are skipped.
    fn wait_for(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {text:?} from the collector: {e}"),
            }
        }
    }

    fn terminate(&self) {
        // SAFETY: sending a signal to our own child.
        let sent = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill(SIGTERM)");
    }

    /// Waits for the exit and returns the code and the remaining stderr lines.
    fn exit(mut self) -> (i32, Vec<String>) {
        let status = self.child.wait().expect("the collector exits");
        let rest = self.lines.iter().collect();
        (status.code().expect("an exit code, not a signal"), rest)
    }
}

#[test]
fn sigterm_lets_the_report_in_flight_finish_and_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        dir.path(),
        &["--database", "reports.db", "--log-level", "debug"],
    );
    let id = installation(7);
    let body = report(&id).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "POST /v1/report HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    serve.wait_for("DEBUG POST /v1/report: received");

    serve.terminate();
    serve.wait_for("INFO SIGTERM: not accepting new connections; finishing requests in flight");
    stream.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 202 Accepted\r\n"),
        "{response}"
    );
    assert!(
        response.ends_with(r#"{"replaced":false,"status":"stored"}"#),
        "{response}"
    );

    let (code, rest) = serve.exit();
    assert_eq!(code, 0);
    assert_eq!(rest.last().map(String::as_str), Some(" INFO stopped"));
    let db = rusqlite::Connection::open(dir.path().join("reports.db")).unwrap();
    let stored: String = db
        .query_row("SELECT report FROM reports", [], |r| r.get(0))
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored, report(&id));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        &["--database", "reports.db", "--log-format", "json"],
    );
    serve.terminate();
    let (code, rest) = serve.exit();
    assert_eq!(code, 0);
    let messages: Vec<(String, String)> = rest
        .iter()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert!(event["timestamp"].is_string(), "{line}");
            (
                event["level"].as_str().unwrap().to_owned(),
                event["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            (
                "INFO".to_owned(),
                "SIGTERM: not accepting new connections; finishing requests in flight".to_owned()
            ),
            ("INFO".to_owned(), "stopped".to_owned()),
        ]
    );
}

#[test]
fn bad_flags_are_one_line_naming_the_flag_and_exit_2() {
    let cases = [
        (
            vec!["--database", "mysql://db/telemetry"],
            "error: invalid value for '--database <URL>': expected postgres://USER@HOST/DB, sqlite:PATH or a file path (see --help)",
        ),
        (
            // The value is not quoted back: it may hold a password.
            vec!["--database", "postgres://app:s3cret@db:port/telemetry"],
            "error: invalid value for '--database <URL>': not a usable PostgreSQL URL: invalid connection string (see --help)",
        ),
        (
            vec!["--read-token", " "],
            "error: invalid value ' ' for '--read-token <TOKEN>': the read token must not be empty (see --help)",
        ),
        (
            vec!["--retention-days", "0"],
            "error: invalid value '0' for '--retention-days <DAYS>': 0 is not in 1..=36500 (see --help)",
        ),
        (
            vec!["--listen", "localhost"],
            "error: invalid value 'localhost' for '--listen <ADDR>': invalid socket address syntax (see --help)",
        ),
    ];
    for (args, want) in cases {
        let run = run(hermetic(binary()).args(&args));
        assert_eq!((run.code, run.stderr.trim_end()), (2, want), "{args:?}");
    }
}

#[test]
fn start_up_failures_exit_1_saying_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let newer = dir.path().join("newer.db");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (99, 0);",
        )
        .unwrap();
    let cases = [
        (
            vec!["--listen", addr.as_str(), "--database", "sqlite:reports.db"],
            format!("ERROR cannot listen on {addr}: Address already in use (os error 98)"),
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--database", "newer.db"],
            "ERROR cannot start the store: the database is at schema version 99, newer than this collector knows (1): run a newer collector".to_owned(),
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--database", "postgres://app:secret@127.0.0.1:1/telemetry"],
            "ERROR cannot start the store: cannot open the database postgres://127.0.0.1:1/telemetry: error connecting to server: Connection refused (os error 111)".to_owned(),
        ),
    ];
    for (args, want) in cases {
        let run = run(hermetic(binary()).current_dir(dir.path()).args(&args));
        assert_eq!(
            (run.code, run.stderr.trim()),
            (1, want.as_str()),
            "{args:?}"
        );
    }
}
