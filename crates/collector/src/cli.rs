//! The collector's command line: clap options (their `///` comments are the `--help`), each
//! flag with an environment twin, turned into a [`Config`] before anything else sees them.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::Settings;
use crate::report::cli::{LogFormat, LogLevel, LogOpts, parse_duration};
use crate::store::Location;

/// The collector of Axon (Kelos) telemetry: receives reports on POST /v1/report, stores
/// them, and serves the summary (GET /v1/summary) and dashboard (GET /) to holders of the
/// read token.
#[derive(Debug, Parser)]
#[command(name = "axon-telemetry-collector", version)]
pub struct Opts {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "AXON_TELEMETRY_LISTEN",
        value_name = "ADDR",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,

    /// Where reports are stored: a SQLite file (`sqlite:PATH`, or just a path), created if
    /// missing, or PostgreSQL (`postgres://USER:PASSWORD@HOST:PORT/DB`). Migrations are
    /// applied at start.
    #[arg(
        long,
        env = "AXON_TELEMETRY_DATABASE",
        value_name = "URL",
        default_value = "sqlite:axon-telemetry.db",
        hide_env_values = true
    )]
    pub database: String,

    /// Token needed to read the summary and the dashboard (as a Bearer token, or as the
    /// password of HTTP Basic authentication). Without it, reads are refused.
    #[arg(long, env = "AXON_TELEMETRY_READ_TOKEN", value_name = "TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub read_token: Option<String>,

    /// Keep reports of the last this many UTC days; older ones are deleted at start and hourly.
    #[arg(
        long,
        env = "AXON_TELEMETRY_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 400,
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    pub retention_days: u32,

    /// Requests per minute per client address, which is also the burst; over it, 429 with
    /// Retry-After. 0 turns the limit off (for a load test).
    #[arg(
        long,
        env = "AXON_TELEMETRY_RATE_LIMIT",
        value_name = "N",
        default_value_t = 60
    )]
    pub rate_limit: u32,

    /// Connections one client address (IPv6: its /64) may hold at once; more are closed at
    /// once. 0 turns the limit off (behind a proxy that pools connections, for a load test).
    #[arg(
        long,
        env = "AXON_TELEMETRY_CONNECTIONS_PER_CLIENT",
        value_name = "N",
        default_value_t = 32
    )]
    pub connections_per_client: usize,

    /// Time a client has to send a request's headers, then its body (408 after), and to take
    /// a response (the connection is closed after).
    #[arg(long, env = "AXON_TELEMETRY_REQUEST_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub request_timeout: Duration,

    #[command(flatten)]
    pub logging: LogOpts,
}

/// Everything the collector needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub settings: Settings,
    pub log_format: LogFormat,
    pub log_level: LogLevel,
}

impl Config {
    /// Fails, with a one-line message, on a `--database` that is not a usable location. It
    /// is checked here rather than by clap, whose message would quote the value, and with
    /// it a password.
    pub fn new(opts: Opts) -> Result<Config, String> {
        let Opts {
            listen,
            database,
            read_token,
            retention_days,
            rate_limit,
            connections_per_client,
            request_timeout,
            logging: LogOpts {
                log_format,
                log_level,
            },
        } = opts;
        let database = Location::parse(&database).map_err(|reason| {
            format!("error: invalid value for '--database <URL>': {reason} (see --help)")
        })?;
        Ok(Config {
            settings: Settings {
                listen,
                database,
                read_token,
                retention_days,
                rate_limit,
                connections_per_client,
                request_timeout,
            },
            log_format,
            log_level,
        })
    }
}

fn parse_token(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("the read token must not be empty".to_owned());
    }
    Ok(value.to_owned())
}
