//! The `phoenix` binary: installs the one tracing subscriber, then runs the phoenix-cli library.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut io = phoenix_cli::Io::real();
    let subscriber = phoenix_cli::logging::subscriber(
        phoenix_cli::verbosity(args.clone()),
        io.color_stderr,
        std::io::stderr,
    );
    // Only fails when a subscriber is already installed, which nothing here does.
    let _ = tracing::subscriber::set_global_default(subscriber);
    let code = phoenix_cli::run(args, &mut io);
    std::process::exit(code);
}
