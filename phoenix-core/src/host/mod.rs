//! The one boundary to a machine: run an argv command, read, write and remove files.

mod local;
mod read_only;
mod ssh;

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cmd::{Cmd, Output};

pub use local::{LocalHost, Running};
pub use read_only::ReadOnly;
pub(crate) use ssh::remote_stderr;
pub use ssh::{HostKeys, SshHost, SshOptions, SshTarget};

/// A file as read from a host: its bytes as text plus its mode and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileData {
    /// The content (files Phoenix manages are text).
    pub content: String,
    /// The permission bits, such as `0o644`.
    pub mode: u32,
    /// The owner as `user:group` names.
    pub owner: String,
}

impl FileData {
    /// Builds file data.
    pub fn new(content: impl Into<String>, mode: u32, owner: impl Into<String>) -> FileData {
        FileData {
            content: content.into(),
            mode,
            owner: owner.into(),
        }
    }
}

/// What to write: content, mode and an optional owner (`user:group`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileWrite {
    /// The new content.
    pub content: String,
    /// The permission bits.
    pub mode: u32,
    /// The owner as `user:group`; `None` keeps the host's default.
    pub owner: Option<String>,
}

impl FileWrite {
    /// Builds a write of `content` with `mode`, owned by the writing user.
    pub fn new(content: impl Into<String>, mode: u32) -> FileWrite {
        FileWrite {
            content: content.into(),
            mode,
            owner: None,
        }
    }

    /// Sets the owner (`user:group`).
    pub fn owner(mut self, owner: impl Into<String>) -> FileWrite {
        self.owner = Some(owner.into());
        self
    }
}

/// A machine Phoenix can inspect and change.
///
/// Implementations: [`LocalHost`] (this machine; the only place that spawns a process),
/// [`SshHost`] (a remote machine, through the system ssh client spawned by a `LocalHost`),
/// [`ReadOnly`] (wraps another host for `plan`), and, behind the `sim` feature, the simulated node
/// and `FakeHost`.
#[async_trait]
pub trait Host: Send + Sync {
    /// Runs a command and returns its output whatever its exit status.
    ///
    /// An error means the command could not be run at all (or timed out), not that it failed.
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError>;

    /// Reads a file; `None` when it does not exist.
    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError>;

    /// Writes a file atomically (a temporary file in the same directory, then a rename).
    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError>;

    /// Removes a file; removing a missing file is not an error.
    async fn remove_file(&self, path: &Path) -> Result<(), HostError>;

    /// A short description for logs and reports, such as `local` or `sim:state.json`.
    fn describe(&self) -> String;
}

/// Runs a command and turns a non-zero exit into [`HostError::CommandFailed`].
pub async fn run_checked(host: &dyn Host, cmd: &Cmd) -> Result<Output, HostError> {
    let output = host.run(cmd).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(HostError::CommandFailed {
            argv: cmd.to_string(),
            status: output.status,
            stderr: output.stderr.trim_end().to_owned(),
        })
    }
}

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The command ran and exited non-zero.
    #[error("`{argv}` exited with {}: {stderr}", status_text(*.status))]
    CommandFailed {
        /// The shell-escaped argv.
        argv: String,
        /// The exit status, `None` for a signal.
        status: Option<i32>,
        /// What the command printed on standard error.
        stderr: String,
    },
    /// The command could not be started.
    #[error("could not run `{argv}`")]
    Spawn {
        /// The shell-escaped argv.
        argv: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The command ran longer than its timeout and was killed.
    #[error("`{argv}` timed out after {seconds:.1}s")]
    Timeout {
        /// The shell-escaped argv.
        argv: String,
        /// The timeout.
        seconds: f64,
    },
    /// A command or file write was attempted on a read-only host (during `plan`).
    #[error("refused to {what} during plan: the host is read-only")]
    WriteDuringPlan {
        /// What was attempted.
        what: String,
    },
    /// A file could not be read, written or removed.
    #[error("could not {op} {path}")]
    File {
        /// `read`, `write`, `remove`, or `create` (a temporary directory).
        op: &'static str,
        /// The path.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The SSH connection failed (ssh exited with 255, or was killed, before the remote command
    /// reported its exit status): the command may or may not have run.
    #[error("ssh to {destination} failed running `{argv}` (ssh exited with {}): {stderr}", status_text(*.status))]
    Ssh {
        /// The `ssh://` target.
        destination: String,
        /// The shell-escaped argv of the remote command.
        argv: String,
        /// ssh's exit status.
        status: Option<i32>,
        /// What ssh printed on standard error.
        stderr: String,
    },
    /// A file could not be read, written or removed on a remote host.
    #[error("could not {op} {path}: `{argv}` exited with {}: {stderr}", status_text(*.status))]
    RemoteFile {
        /// `read`, `write` or `remove`.
        op: &'static str,
        /// The path.
        path: String,
        /// The shell-escaped argv of the remote command.
        argv: String,
        /// Its exit status.
        status: Option<i32>,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A `--target` that does not name a host.
    #[error("bad target {target:?}: {reason}")]
    BadTarget {
        /// The target as given.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Anything else the host reports (an unknown user, a transport failure).
    #[error("{0}")]
    Other(String),
}

impl HostError {
    /// Whether the command's program does not exist on the host: it could not be started for
    /// that reason (a local target) or a shell answered 127 (ssh targets, the simulated node).
    pub fn is_program_not_found(&self) -> bool {
        match self {
            HostError::Spawn { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            HostError::CommandFailed { status, .. } => *status == Some(127),
            _ => false,
        }
    }
}

fn status_text(status: Option<i32>) -> String {
    match status {
        Some(code) => format!("status {code}"),
        None => "a signal".to_owned(),
    }
}
