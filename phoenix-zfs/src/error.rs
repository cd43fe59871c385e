//! The ZFS provider's error type.

/// Why inspecting ZFS or Proxmox storage failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tool is not installed on the host.
    #[error("{program} is not installed on this host (is {what} available here?)")]
    NotInstalled {
        /// The program.
        program: String,
        /// What it belongs to.
        what: &'static str,
    },
    /// A command failed.
    #[error(transparent)]
    Host(#[from] phoenix_core::HostError),
    /// The target lacks a tool: the resources that need it are left alone, with a warning.
    #[error("{0}")]
    Unsupported(#[from] phoenix_core::Unsupported),
    /// A tool printed something Phoenix cannot read.
    #[error("read the output of `{argv}`")]
    Parse {
        /// The command.
        argv: String,
        /// What did not parse.
        #[source]
        source: crate::parse::ParseError,
    },
    /// A file could not be read as expected.
    #[error("read {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
