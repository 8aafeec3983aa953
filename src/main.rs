//! `axon-telemetry`: parse the command line, start logging, run, turn the result into an
//! exit code. Everything else lives in the library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use axon_telemetry::cli::{self, Command, Config, Opts, ServeConfig};
use axon_telemetry::exit::Exit;
use axon_telemetry::{collector, error_chain, logging};
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
            eprintln!("{}", cli::one_line(&e));
            return Exit::Usage.into();
        }
    };
    match opts.command {
        Command::Report(report) => {
            let config = Config::new(report, |name| std::env::var(name).ok());
            logging::init(config.log_format, config.log_level);
            // kube's TLS setup uses the process-wide rustls provider; install the one this
            // crate builds with, so that another provider pulled in by a dependency cannot
            // make it ambiguous.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let result = axon_telemetry::run(&config);
            if let Err(e) = &result {
                tracing::error!("{}", error_chain(e));
            }
            Exit::of(&result, config.strict).into()
        }
        Command::Serve(serve) => {
            let config = match ServeConfig::new(serve) {
                Ok(config) => config,
                Err(message) => {
                    eprintln!("{message}");
                    return Exit::Usage.into();
                }
            };
            logging::init(config.log_format, config.log_level);
            let result = collector::serve(&config.settings);
            if let Err(e) = &result {
                tracing::error!("{}", error_chain(e));
            }
            Exit::of_serve(&result).into()
        }
    }
}
