//! The one tracing subscriber: `-v`/`-vv`/`-vvv` or `PHOENIX_LOG` pick the level; ANSI colours
//! only when the log's own stream (stderr) is a terminal and `NO_COLOR` is unset.
//!
//! The binary installs it globally; tests install it for one in-process run with
//! `tracing::subscriber::with_default` (the engine hands the current subscriber to the tasks it
//! spawns).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter for `verbosity` (0 = warnings, and the progress of health checks waiting for a
/// service, which can take minutes), unless `PHOENIX_LOG` sets one.
pub fn filter(verbosity: u8) -> EnvFilter {
    let level = match verbosity {
        0 => "warn,phoenix_ai::health=info",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_env("PHOENIX_LOG").unwrap_or_else(|_| EnvFilter::new(level))
}

/// The subscriber writing log lines to `writer`, with ANSI escapes only when `ansi`.
pub fn subscriber<W>(verbosity: u8, ansi: bool, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter(verbosity))
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .finish()
}
