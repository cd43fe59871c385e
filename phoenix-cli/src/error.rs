//! The CLI's one error type; every variant maps to an exit code in `exit.rs`.

use std::path::PathBuf;

use phoenix_core::Diagnostic;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The config has errors (already located diagnostics).
    #[error("the config has {} error(s)", .0.iter().filter(|d| d.is_error()).count())]
    Config(Vec<Diagnostic>),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] phoenix_core::Error),
    /// The target could not be opened or saved.
    #[error("target {target}: {message}")]
    Target {
        /// The `--target` value.
        target: String,
        /// What went wrong.
        message: String,
    },
    /// A saved plan could not be read.
    #[error("read saved plan {}: {message}", path.display())]
    SavedPlan {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The operator did not confirm.
    #[error("apply cancelled: nothing was changed")]
    Declined,
    /// Apply needs confirmation but there is no terminal to ask on.
    #[error(
        "refusing to apply without --yes: stdin is not a terminal, so there is no one to confirm"
    )]
    NotInteractive,
    /// The config has no usable `embedding_round_trip`.
    #[error("run the embedding round trip: {0}")]
    RoundTripConfig(String),
    /// A health check or the embedding round trip failed.
    #[error(transparent)]
    Ai(#[from] phoenix_ai::Error),
    /// An LXC operation failed.
    #[error(transparent)]
    Lxc(#[from] phoenix_lxc::Error),
    /// Writing output failed.
    #[error("write {what}: {message}")]
    Output {
        /// What was being written.
        what: String,
        /// Why it failed.
        message: String,
    },
}
