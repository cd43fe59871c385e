//! Project automation entry point: parses `cargo xtask <subcommand>` and dispatches to one module per subcommand.
//!
//! Every process is spawned through `xshell`, from the workspace root, so the subcommands behave the
//! same whichever directory `cargo xtask` is run from.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "xtask is a command-line tool: it reports progress and results on the terminal"
)]

mod bench;
mod ci;
mod demo;
mod fuzz;
mod install;
mod snap;
mod testbed;
#[cfg(test)]
mod tidy;

use std::env;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use xshell::Shell;

/// The error type of every subcommand: xtask only reports errors, it never matches on them.
pub(crate) type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The help text, one line per subcommand.
const USAGE: &str = "\
usage: cargo xtask <subcommand> [flags]

subcommands:
  ci                 install the test tools, then check fmt, clippy, snapshot tests and doc tests (what CI runs)
  snap               run the snapshot tests in check mode (fails on any pending or unreferenced snapshot)
  snap --review      run the snapshot tests, then review the pending snapshots interactively
  snap --accept      run the snapshot tests, then accept every pending snapshot
  demo               converge examples/lab on a simulated node and show that a second plan is empty
  bench              the inspection table (no-op plans of 13 to 1,000 running containers at
                     proxmox-typical; a few minutes), then the engine benchmark
  fuzz [--seconds N] fuzz the config loader and every parser (cargo fuzz, seeded from the real
                     fixtures in fuzz/corpus) for N seconds in all (default 150); fails on a crash
  testbed ...        build, boot, stop or reach the throwaway VM the live tests run on
                     (`cargo xtask testbed help`)
  help               print this message

environment:
  CI=true            never prompt (snap --review refuses to run)
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
        })
        .collect::<Result<Vec<String>, String>>()?;
    let (subcommand, flags) = match args.split_first() {
        Some((subcommand, flags)) => (subcommand.as_str(), flags),
        None => ("help", &[][..]),
    };

    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match subcommand {
        "ci" => {
            no_flags(subcommand, flags)?;
            ci::run(&sh)
        }
        "snap" => snap::run(&sh, snap::Mode::from_flags(flags)?),
        "demo" => {
            no_flags(subcommand, flags)?;
            demo::run(&sh)
        }
        "bench" => {
            no_flags(subcommand, flags)?;
            bench::run(&sh)
        }
        "fuzz" => fuzz::run(&sh, fuzz::Options::from_flags(flags)?),
        "testbed" => testbed::run(&sh, flags),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        unknown => {
            eprint!("{USAGE}");
            Err(format!("unknown subcommand `{unknown}`").into())
        }
    }
}

/// Rejects flags given to a subcommand that takes none, so a typo never goes unnoticed.
fn no_flags(subcommand: &str, flags: &[String]) -> Result<()> {
    match flags.first() {
        None => Ok(()),
        Some(flag) => Err(format!(
            "`cargo xtask {subcommand}` takes no flags, got `{flag}`; see `cargo xtask help`"
        )
        .into()),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("invariant: xtask sits one directory below the workspace root")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` as cargo does.
pub(crate) fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => project_root().join(dir),
        _ => project_root().join("target"),
    }
}

/// Whether we run in CI (`CI` set to anything but empty, `0` or `false`): then nothing may prompt.
pub(crate) fn is_ci() -> bool {
    env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}
