//! The `phoenix` binary: installs the one tracing subscriber, then runs the phoenix-cli library.

use tracing_subscriber::EnvFilter;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let level = match phoenix_cli::verbosity(args.clone()) {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("PHOENIX_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut io = phoenix_cli::Io::real();
    let code = phoenix_cli::run(args, &mut io);
    std::process::exit(code);
}
