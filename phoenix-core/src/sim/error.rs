//! `SimError`: why a simulated node could not be built, loaded or saved.

use std::path::PathBuf;

use super::latency::LatencyProfile;

/// Why a simulated node could not be built, loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The state file is not valid JSON or does not have the shape of a `SimState`.
    #[error("load sim state {}:{line}:{column}{}", .file.display(), at_json_path(.json_path))]
    BadState {
        /// The state file.
        file: PathBuf,
        /// The 1-based line serde_json stopped at.
        line: usize,
        /// The 1-based column serde_json stopped at.
        column: usize,
        /// Where in the document the error is, such as `files./etc/hosts.mode`; `.` for the root.
        json_path: String,
        /// serde_json's reason.
        #[source]
        source: serde_json::Error,
    },
    /// The state has a `format` this build does not read.
    #[error(
        "load sim state: format {found} is not supported (this build reads format {supported})"
    )]
    UnsupportedFormat {
        /// The `format` found in the state.
        found: u32,
        /// The format this build reads and writes.
        supported: u32,
    },
    /// The state file could not be read or written.
    #[error("{op} sim state {}", .file.display())]
    Io {
        /// `read` or `write`.
        op: &'static str,
        /// The state file (or the temporary file next to it).
        file: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// No latency profile has this name.
    #[error(
        "use latency profile `{name}`: there is no such profile (known: {})",
        LatencyProfile::NAMES.join(", ")
    )]
    UnknownLatency {
        /// The name asked for.
        name: String,
    },
    /// Two emulators claim the same program.
    #[error("register emulators: program `{program}` is emulated twice")]
    DuplicateProgram {
        /// The program claimed twice.
        program: String,
    },
}

fn at_json_path(json_path: &str) -> String {
    if json_path.is_empty() || json_path == "." {
        String::new()
    } else {
        format!(" at `{json_path}`")
    }
}
