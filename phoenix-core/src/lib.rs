//! Phoenix core: the `Resource` trait, the dependency graph, plan and apply, and the one `Host` boundary.
//!
//! Provider authors depend on this crate alone. It names no provider, spawns processes only in
//! [`host::LocalHost`], never prints and installs no tracing subscriber.
#![deny(missing_docs)]

pub mod account;
pub mod apply;
pub mod change;
pub mod cmd;
pub mod config;
pub mod diag;
pub mod directory;
pub mod error;
pub mod exec;
pub mod facts;
pub mod feature;
pub mod file;
pub mod graph;
pub mod group;
pub mod host;
pub mod id;
pub mod lock;
pub mod memory;
mod not_managed;
pub mod package;
pub mod parse;
pub mod plan;
pub mod probe;
pub mod provider;
pub mod resource;
pub mod scope;
pub mod sensitive;
pub mod service;
pub mod settle;
#[cfg(feature = "sim")]
pub mod sim;
pub mod timezone;
pub mod user;
pub mod utc;

pub use cmd::{Cmd, Effect, Output};
pub use diag::{Diagnostic, Location, Severity};
pub use error::{BoxError, Error, ErrorChain, Result, Unsupported};
pub use host::{
    FileData, FileWrite, Host, HostError, HostKeys, LocalHost, ReadOnly, SshHost, SshOptions,
    SshTarget,
};
pub use id::{Kind, ResourceId};
pub use lock::{Holder, RunLock, RunLockError};
mod stats;
mod triggers;

pub use apply::{ApplyOptions, ApplyReport, DEFAULT_PARALLELISM, Observer, Outcome, Status};
pub use change::{Action, Change, Delta, Disruption, Ensure, FieldChange, Step};
pub use facts::{Fact, FactError};
pub use graph::{Graph, GraphFormat};
pub use plan::{Engine, FORMAT_VERSION, Plan, PlanOptions, Summary};
pub use provider::{DecodeCx, Desired, Provider, Registry, RegistryBuilder};
pub use resource::{AnyState, Capability, Ctx, DynResource, Resource};
pub use scope::{BatchOutput, GuestTransport, QueryError, Scope, ScopeError, Scopes};
pub use sensitive::{Content, PlanKey};
pub use stats::Stats;
