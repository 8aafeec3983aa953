//! `axon-telemetry-collector`: parse the command line, start logging, serve until SIGTERM,
//! turn the result into an exit code. Everything else lives in the library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use axon_telemetry_collector::cli::{Config, Opts};
use axon_telemetry_collector::exit::Exit;
use axon_telemetry_report::cli::one_line;
use axon_telemetry_report::{error_chain, logging};
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let opts = match Opts::try_parse() {
        Ok(opts) => opts,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Exit::Success.into();
        }
        Err(e) => {
            eprintln!("{}", one_line(&e));
            return Exit::Usage.into();
        }
    };
    let config = match Config::new(opts) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return Exit::Usage.into();
        }
    };
    logging::init(config.log_format, config.log_level);
    let result = axon_telemetry_collector::serve(&config.settings);
    if let Err(e) = &result {
        tracing::error!("{}", error_chain(e));
    }
    Exit::of(&result).into()
}
