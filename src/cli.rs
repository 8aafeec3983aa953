//! The command line: clap options (their `///` comments are the `--help`), each flag with
//! an environment twin, turned into a [`Config`] before anything else sees them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::report::cli::{LogFormat, LogLevel, LogOpts, parse_duration};

/// The largest `--page-size`: the 8 MiB page limit (`cluster::MAX_PAGE_BYTES`) at 1 KiB per
/// object. Objects as the API server writes them are rarely smaller (managed fields alone
/// are hundreds of bytes), so a larger page size would mostly be halved again; a page that
/// does pass 8 MiB still is.
const MAX_PAGE_SIZE: i64 = 8192;

/// Where reports go unless `--endpoint` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "https://telemetry.axon.dev/v1/report";

/// Anonymous, opt-out usage telemetry for the Axon (Kelos) Kubernetes operator.
#[derive(Debug, Parser)]
#[command(
    name = "axon-telemetry",
    version,
    propagate_version = true,
    subcommand_required = true
)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count Axon and Kelos objects cluster-wide and send the anonymous report (what the
    /// CronJob runs).
    /// Also spelled `--telemetry-report`, as in the original plan.
    #[command(long_flag = "telemetry-report")]
    Report(ReportOpts),
}

#[derive(Debug, Args)]
pub struct ReportOpts {
    /// Where the report is POSTed. Plain http:// is accepted for a collector inside the
    /// cluster, with a warning unless it is on this machine.
    #[arg(
        long,
        env = "AXON_TELEMETRY_ENDPOINT",
        value_name = "URL",
        default_value = DEFAULT_ENDPOINT,
        value_parser = parse_endpoint,
        alias = "telemetry-endpoint"
    )]
    pub endpoint: Url,

    /// Print the report on stdout and stop: nothing is sent, nothing is written to the cluster.
    #[arg(long, env = "AXON_TELEMETRY_DRY_RUN")]
    pub dry_run: bool,

    /// Namespace of the ConfigMap `axon-telemetry` that keeps the installation ID.
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE", default_value = "axon-system", value_parser = parse_namespace)]
    pub namespace: String,

    /// The Axon or Kelos release to report as `version`, e.g. v0.52.0 (the chart passes it).
    /// A build suffix is dropped (v0.52.0-acme reports v0.52.0). Unset: `unknown`.
    #[arg(long, env = "AXON_VERSION", value_name = "VERSION", value_parser = parse_release)]
    pub axon_version: Option<String>,

    /// Time allowed for each attempt to send the report, e.g. 10s.
    #[arg(long, env = "AXON_TELEMETRY_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub timeout: Duration,

    /// Time allowed for the whole run (collecting, the installation ID, sending), e.g. 10m.
    #[arg(long, env = "AXON_TELEMETRY_DEADLINE", value_name = "DURATION", default_value = "10m", value_parser = parse_duration, allow_hyphen_values = true)]
    pub deadline: Duration,

    /// Wait a random time up to this long before reporting (not in a dry run), so that
    /// clusters on the same schedule do not all report at the same moment. 0s: no wait.
    #[arg(long, env = "AXON_TELEMETRY_MAX_DELAY", value_name = "DURATION", default_value = "0s", value_parser = parse_delay, allow_hyphen_values = true)]
    pub max_delay: Duration,

    /// Objects per list request, at most 8192 (8 MiB pages at 1 KiB per object); a page over
    /// 8 MiB is fetched again with half the limit.
    #[arg(
        long,
        env = "AXON_TELEMETRY_PAGE_SIZE",
        value_name = "N",
        default_value_t = 500,
        value_parser = clap::value_parser!(u32).range(1..=MAX_PAGE_SIZE)
    )]
    pub page_size: u32,

    /// PEM file of extra CA certificates to trust for the endpoint, on top of the bundled
    /// Mozilla roots (for a TLS-inspecting proxy or a private collector).
    #[arg(long, env = "SSL_CERT_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Exit 3 when the report could not be sent. Without it a failed send only warns, so
    /// that an air-gapped cluster does not collect a failed Job every day.
    #[arg(long, env = "AXON_TELEMETRY_STRICT")]
    pub strict: bool,

    #[command(flatten)]
    pub logging: LogOpts,
}

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub endpoint: Url,
    pub dry_run: bool,
    pub namespace: String,
    pub axon_version: Option<String>,
    pub send_timeout: Duration,
    pub deadline: Duration,
    pub max_delay: Duration,
    pub page_size: u32,
    pub ca_file: Option<PathBuf>,
    pub strict: bool,
    pub log_format: LogFormat,
    pub log_level: LogLevel,
    /// Why telemetry is off, when an opt-out variable says so.
    pub disabled_by: Option<&'static str>,
}

impl Config {
    /// `env` reads an environment variable; the opt-out variables are not flags, since
    /// they mean "off" whatever the command line says.
    pub fn new(opts: ReportOpts, env: impl Fn(&str) -> Option<String>) -> Config {
        let ReportOpts {
            endpoint,
            dry_run,
            namespace,
            axon_version,
            timeout,
            deadline,
            max_delay,
            page_size,
            ca_file,
            strict,
            logging: LogOpts {
                log_format,
                log_level,
            },
        } = opts;
        Config {
            endpoint,
            dry_run,
            namespace,
            axon_version,
            send_timeout: timeout,
            deadline,
            max_delay,
            page_size,
            ca_file,
            strict,
            log_format,
            log_level,
            disabled_by: disabled_by(env),
        }
    }
}

/// The opt-out variables: `DO_NOT_TRACK` (the cross-tool convention) and
/// `AXON_TELEMETRY_DISABLED`. Any value but empty, `0`, `false`, `no` or `off` opts out.
fn disabled_by(env: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    let set = |name| {
        env(name).is_some_and(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "no" | "off"
            )
        })
    };
    if set("DO_NOT_TRACK") {
        Some("DO_NOT_TRACK is set")
    } else if set("AXON_TELEMETRY_DISABLED") {
        Some("AXON_TELEMETRY_DISABLED is set")
    } else {
        None
    }
}

fn parse_endpoint(value: &str) -> Result<Url, String> {
    let example = "expected an http(s) URL such as https://telemetry.axon.dev/v1/report";
    let url = Url::parse(value).map_err(|e| format!("{e}; {example}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}; {example}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the URL has no host; {example}"));
    }
    Ok(url)
}

/// A release version, reduced as the report carries it (`report::release_version`).
fn parse_release(value: &str) -> Result<String, String> {
    let version = crate::report::release_version(value);
    if version == crate::report::UNKNOWN_VERSION {
        return Err("expected a release version such as v0.52.0".to_owned());
    }
    Ok(version)
}

/// Like [`parse_duration`], but zero is allowed: no delay.
fn parse_delay(value: &str) -> Result<Duration, String> {
    let parsed: jiff::SignedDuration = value
        .parse()
        .map_err(|_| "expected a duration such as 30m, 90s or 0s".to_owned())?;
    Duration::try_from(parsed)
        .map_err(|_| "the delay must not be negative, e.g. 30m or 0s".to_owned())
}

/// A Kubernetes namespace name (an RFC 1123 label).
fn parse_namespace(value: &str) -> Result<String, String> {
    let valid = (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("a namespace is 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::cli::one_line;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let opts = Opts::try_parse_from(args).map_err(|e| one_line(&e))?;
        let Command::Report(report) = opts.command;
        Ok(Config::new(report, |_| None))
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = parse(&["axon-telemetry", "report"]).unwrap();
        assert_eq!(config.endpoint.as_str(), DEFAULT_ENDPOINT);
        assert_eq!(config.namespace, "axon-system");
        assert_eq!(config.send_timeout, Duration::from_secs(10));
        assert_eq!(config.deadline, Duration::from_secs(600));
        assert_eq!(config.page_size, 500);
        assert_eq!(config.max_delay, Duration::ZERO);
        assert_eq!(
            (config.dry_run, config.strict, config.disabled_by),
            (false, false, None)
        );
        assert_eq!(
            (config.log_format, config.log_level),
            (LogFormat::Text, LogLevel::Info)
        );
    }

    #[test]
    fn the_plans_spelling_is_accepted() {
        let config = parse(&[
            "axon-telemetry",
            "--telemetry-report",
            "--telemetry-endpoint",
            "http://localhost:8888",
        ])
        .unwrap();
        assert_eq!(config.endpoint.as_str(), "http://localhost:8888/");
    }

    #[test]
    fn bad_values_are_one_line_naming_the_flag() {
        let cases = [
            (
                vec!["--endpoint", "ftp://x/y"],
                "error: invalid value 'ftp://x/y' for '--endpoint <URL>': the scheme must be http or https, not ftp; expected an http(s) URL such as https://telemetry.axon.dev/v1/report (see --help)",
            ),
            (
                vec!["--endpoint", "not a url"],
                "error: invalid value 'not a url' for '--endpoint <URL>': relative URL without a base; expected an http(s) URL such as https://telemetry.axon.dev/v1/report (see --help)",
            ),
            (
                vec!["--timeout", "-5s"],
                "error: invalid value '-5s' for '--timeout <DURATION>': the duration must be more than zero, e.g. 10s (see --help)",
            ),
            (
                vec!["--timeout", "soon"],
                "error: invalid value 'soon' for '--timeout <DURATION>': expected a duration such as 10s, 1m30s or 500ms (see --help)",
            ),
            (
                vec!["--log-format", "xml"],
                "error: invalid value 'xml' for '--log-format <FORMAT>' [possible values: text, json] (see --help)",
            ),
            (
                vec!["--namespace", "Axon_System"],
                "error: invalid value 'Axon_System' for '--namespace <NAMESPACE>': a namespace is 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit (see --help)",
            ),
            (
                vec!["--axon-version", "main"],
                "error: invalid value 'main' for '--axon-version <VERSION>': expected a release version such as v0.52.0 (see --help)",
            ),
            (
                vec!["--page-size", "0"],
                "error: invalid value '0' for '--page-size <N>': 0 is not in 1..=8192 (see --help)",
            ),
        ];
        for (args, want) in cases {
            let argv: Vec<&str> = ["axon-telemetry", "report"]
                .into_iter()
                .chain(args.iter().copied())
                .collect();
            assert_eq!(parse(&argv).unwrap_err(), want, "{args:?}");
        }
    }

    #[test]
    fn durations_take_friendly_and_iso_forms() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("PT10S"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_delay("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_delay("30m"), Ok(Duration::from_secs(1800)));
        assert!(parse_delay("-1s").is_err());
    }

    #[test]
    fn opt_out_variables_accept_any_true_value() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            disabled_by(env(&[("DO_NOT_TRACK", "1")])),
            Some("DO_NOT_TRACK is set")
        );
        assert_eq!(
            disabled_by(env(&[("AXON_TELEMETRY_DISABLED", "true")])),
            Some("AXON_TELEMETRY_DISABLED is set")
        );
        assert_eq!(
            disabled_by(env(&[("AXON_TELEMETRY_DISABLED", "YES")])),
            Some("AXON_TELEMETRY_DISABLED is set")
        );
        for off in ["", "0", "false", "no", "off", "FALSE"] {
            assert_eq!(
                disabled_by(env(Box::leak(Box::new([("DO_NOT_TRACK", off)])))),
                None,
                "{off:?}"
            );
        }
    }
}
