//! The crate's error: a Proxmox file that could not be read as its format says.

use crate::ParseError;

/// What went wrong reading a Proxmox file from a host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not follow its format.
    #[error("read {path}")]
    File {
        /// The file.
        path: String,
        /// Where and why it does not parse.
        #[source]
        source: ParseError,
    },
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
