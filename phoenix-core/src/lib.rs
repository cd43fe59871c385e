//! Phoenix core: the `Resource` trait, the dependency graph, plan and apply, and the one `Host` boundary.
//!
//! Provider authors depend on this crate alone. It names no provider, spawns processes only in
//! [`host::LocalHost`], never prints and installs no tracing subscriber.
#![deny(missing_docs)]

pub mod cmd;
pub mod config;
pub mod diag;
pub mod error;
pub mod host;
pub mod id;
#[cfg(feature = "sim")]
pub mod sim;

pub use cmd::{Cmd, Effect, Output};
pub use diag::{Diagnostic, Location, Severity};
pub use error::{BoxError, Error, Result};
pub use host::{FileData, FileWrite, Host, HostError, LocalHost, ReadOnly};
pub use id::{Kind, ResourceId};
