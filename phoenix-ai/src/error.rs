//! The errors of the AI provider's checks.

use std::fmt;

/// Why a health check or the embedding round trip failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A service did not become healthy within its bound.
    #[error("{0}")]
    Unhealthy(Box<Unhealthy>),
    /// A step of the embedding round trip failed.
    #[error("embedding round trip, step {step}: {reason}")]
    RoundTrip {
        /// The step (`embed`, `create collection`, `upsert`, `search`, `delete collection`).
        step: &'static str,
        /// What went wrong, with the response.
        reason: String,
    },
}

/// A service that stayed unhealthy: which, its last response and its journal's last lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unhealthy {
    /// The service (`vLLM`).
    pub service: String,
    /// The container.
    pub vmid: u32,
    /// `http://IP:PORT`.
    pub endpoint: String,
    /// How long it waited, in seconds.
    pub waited_s: u64,
    /// The bound, in seconds.
    pub timeout_s: u64,
    /// The last response, in one line.
    pub last: String,
    /// The unit.
    pub unit: String,
    /// How many journal lines were asked for.
    pub n_lines: u32,
    /// The journal's last lines (or why they could not be read).
    pub journal: String,
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wait for {} in container {} ({}): not healthy after {} s (bound {} s); last response: {}\nlast {} lines of `journalctl -u {}` in container {}:",
            self.service,
            self.vmid,
            self.endpoint,
            self.waited_s,
            self.timeout_s,
            self.last,
            self.n_lines,
            self.unit,
            self.vmid
        )?;
        for line in self.journal.lines() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// The provider's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
