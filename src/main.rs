//! `axon-telemetry`: parse the command line, start logging, run, turn the result into an
//! exit code. Everything else lives in the library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use axon_telemetry::cli::{Command, Config, Opts};
use axon_telemetry::error_chain;
use axon_telemetry::exit::Exit;
use axon_telemetry::report::cli::one_line;
use axon_telemetry::report::logging;
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let opts = match Opts::try_parse() {
        Ok(opts) => opts,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Exit::Success.into();
        }
        // No command at all: the full help is the useful answer.
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return Exit::Usage.into();
        }
        Err(e) => {
            eprintln!("{}", one_line(&e));
            return Exit::Usage.into();
        }
    };
    let Command::Report(report) = opts.command;
    let config = Config::new(report, |name| std::env::var(name).ok());
    logging::init(config.log_format, config.log_level);
    // kube's TLS setup uses the process-wide rustls provider; install the one this crate
    // builds with, so that another provider pulled in by a dependency cannot make it
    // ambiguous.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = axon_telemetry::run(&config);
    if let Err(e) = &result {
        tracing::error!("{}", error_chain(e));
    }
    Exit::of(&result, config.strict).into()
}
