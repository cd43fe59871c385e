//! The stateful simulated Proxmox node and the `FakeHost` test double.
//!
//! [`SimNode`] is a [`Host`](crate::host::Host) with in-memory files and emulated tools that
//! provider crates contribute as [`Emulator`]s; [`FakeHost`] answers canned replies keyed by argv.
//! [`capture_output`] reads the recorded runs of real tools that both are tested against.

mod audit;
mod builtin;
mod cache;
mod capture;
mod download;
mod dpkg;
mod emulator;
mod error;
mod fake;
mod fault;
mod guest;
mod hash;
mod latency;
mod node;
mod path;
mod probe_output;
mod state;
mod system;
mod systemd;
mod timedate;
mod users;

pub use audit::{AuditEntry, AuditOp};
pub use capture::{capture_output, read_fixture};
pub use download::curl_download;
pub use emulator::{Emulator, SimOutput, SimSys};
pub use error::SimError;
pub use fake::FakeHost;
pub use fault::Fault;
pub use guest::GuestSys;
pub use hash::stable_hash;
pub use latency::LatencyProfile;
pub use node::SimNode;
pub use path::normalize as normalize_path;
pub use probe_output::{ProbeSource, ProbedPath, probe_output, stat_line};
pub use state::{STATE_FORMAT, SimFile, SimState};
