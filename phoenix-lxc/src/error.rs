//! The LXC provider's error type.

/// Why an LXC operation outside plan/apply failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config does not declare the container.
    #[error("container {id} is not in the config")]
    NotInConfig {
        /// The container id.
        id: u32,
    },
    /// The container does not exist on the host.
    #[error("container {id} does not exist on this host")]
    NotOnHost {
        /// The container id.
        id: u32,
    },
    /// The container has no provisioning snapshot to roll back to.
    #[error(
        "container {id} has no {snapshot:?} snapshot to roll back to; run `phoenix apply` to provision it first"
    )]
    NoSnapshot {
        /// The container id.
        id: u32,
        /// The snapshot name.
        snapshot: String,
    },
    /// A host operation failed.
    #[error(transparent)]
    Host(#[from] phoenix_core::HostError),
    /// A conf could not be read.
    #[error("read {path}: {reason}")]
    Conf {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
