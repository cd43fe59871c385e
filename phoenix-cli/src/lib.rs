//! The phoenix command as a library: argument parsing, rendering and exit codes.
//!
//! The binary is a thin shell over [`run`]; tests call [`run`] in-process with captured streams.

pub mod args;
mod commands;
pub mod error;
pub mod exit;
pub mod io;
pub mod logging;
mod plan_key;
pub mod render;
mod services;
pub mod target;

use clap::Parser as _;

pub use commands::registry;
pub use io::{Captured, Io};

use crate::args::{Cli, Command};
use crate::error::CliError;
use crate::io::emit;

/// Runs `phoenix` with `args` (program name first) and returns the exit code.
pub fn run<I, T>(args: I, io: &mut Io) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let text = err.render().to_string();
            return if err.use_stderr() {
                emit(&io.stderr, &text);
                exit::ERROR
            } else {
                emit(&io.stdout, &text);
                exit::OK
            };
        }
    };
    let result = match &cli.command {
        Command::Validate(common) => commands::validate(common, io),
        Command::Plan(args) => commands::plan(args, io),
        Command::Apply(args) => commands::apply(args, io),
        Command::Status(args) => commands::status(args, io),
        Command::Reconfigure(args) => commands::reconfigure(args, io),
        Command::RoundTrip(args) => services::round_trip(args, io),
        Command::Graph(args) => commands::graph(args, io),
        Command::SimAudit(args) => commands::sim_audit(args, io),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            report(&err, io);
            exit::ERROR
        }
    }
}

/// The verbosity the parsed arguments ask for (0 = warnings only).
pub fn verbosity<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
        .map(|cli| cli.verbose)
        .unwrap_or(0)
}

fn report(err: &CliError, io: &Io) {
    let style = render::Style {
        color: io.color_stderr,
    };
    match err {
        CliError::Config(diagnostics) => {
            emit(&io.stderr, &render::diagnostics(diagnostics, style));
            emit(&io.stderr, &format!("error: {err}\n"));
        }
        CliError::Engine(phoenix_core::Error::PlanHasErrors { diagnostics }) => {
            emit(&io.stderr, &render::diagnostics(diagnostics, style));
            emit(&io.stderr, &format!("error: {err}\n"));
        }
        CliError::Engine(phoenix_core::Error::InvalidConfig { diagnostics }) => {
            emit(&io.stderr, &render::diagnostics(diagnostics, style));
            emit(&io.stderr, &format!("error: {err}\n"));
        }
        other => emit(
            &io.stderr,
            &format!("error: {}\n", phoenix_core::plan::error_chain(other)),
        ),
    }
}
