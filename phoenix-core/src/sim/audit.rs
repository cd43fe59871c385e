//! The simulated node's audit log: one entry per command and file operation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of operation an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOp {
    /// `Host::run`.
    Run,
    /// `Host::read_file`.
    ReadFile,
    /// `Host::write_file`.
    WriteFile,
    /// `Host::remove_file`.
    RemoveFile,
}

impl fmt::Display for AuditOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditOp::Run => "run",
            AuditOp::ReadFile => "read_file",
            AuditOp::WriteFile => "write_file",
            AuditOp::RemoveFile => "remove_file",
        })
    }
}

/// One operation on the simulated node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditEntry {
    /// The position in the node's whole history, from 1.
    pub seq: u64,
    /// The run number at the time (see `SimNode::begin_run`).
    pub run: u64,
    /// What was done.
    pub op: AuditOp,
    /// The command's argv (program first), or the normalised path for a file operation.
    pub argv: Vec<String>,
    /// The exit status of a command; `None` for file operations and for a command the node
    /// could not simulate.
    pub status: Option<i32>,
    /// Whether the operation changed the node.
    pub mutated: bool,
}

impl AuditEntry {
    /// Builds an entry.
    pub fn new(
        seq: u64,
        run: u64,
        op: AuditOp,
        argv: Vec<String>,
        status: Option<i32>,
        mutated: bool,
    ) -> AuditEntry {
        AuditEntry {
            seq,
            run,
            op,
            argv,
            status,
            mutated,
        }
    }

    /// Whether the operation changed the node's files or tool state.
    pub fn is_mutation(&self) -> bool {
        self.mutated
    }
}

impl fmt::Display for AuditEntry {
    /// One line such as `#3 run 1: run zfs list -H (status 0)` or `#4 run 1: write_file /etc/hosts
    /// (mutated)`, for test assertions and debugging.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} run {}: {}", self.seq, self.run, self.op)?;
        for word in &self.argv {
            write!(f, " {}", crate::cmd::shell_quote(word))?;
        }
        match (self.status, self.mutated) {
            (Some(status), true) => write!(f, " (status {status}, mutated)"),
            (Some(status), false) => write!(f, " (status {status})"),
            (None, true) => f.write_str(" (mutated)"),
            (None, false) => Ok(()),
        }
    }
}
