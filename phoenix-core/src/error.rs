//! The engine's error type: what can stop `plan`, `apply` or config loading as a whole.

use crate::diag::Diagnostic;
use crate::host::HostError;
use crate::id::ResourceId;

/// A boxed error, as providers return them across the engine boundary.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the engine could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config has errors; each one is a diagnostic with its file and JSON path.
    #[error("load the config: {} error(s)", count_errors(.diagnostics))]
    InvalidConfig {
        /// All diagnostics found, errors first.
        diagnostics: Vec<Diagnostic>,
    },
    /// The resources depend on each other in a cycle.
    #[error("order resources: dependency cycle {}", .cycle.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The resources on the cycle, the first repeated at the end.
        cycle: Vec<ResourceId>,
    },
    /// Two resources have the same id, or two providers the same kind.
    #[error("register {what}: {name} is declared twice")]
    Duplicate {
        /// `resource` or `kind`.
        what: &'static str,
        /// The duplicated id or kind.
        name: String,
    },
    /// A provider failed for one resource.
    #[error("{id}")]
    Provider {
        /// The resource.
        id: ResourceId,
        /// The provider's error.
        #[source]
        source: BoxError,
    },
    /// The saved plan no longer matches the host.
    #[error("apply the saved plan: the host changed since it was made ({reason}); run plan again")]
    StalePlan {
        /// What differs.
        reason: String,
    },
    /// The plan has errors, so apply changes nothing.
    #[error("apply: the plan has {} error(s); nothing was changed", count_errors(.diagnostics))]
    PlanHasErrors {
        /// The plan's diagnostics.
        diagnostics: Vec<Diagnostic>,
    },
    /// A host operation failed outside any one resource.
    #[error(transparent)]
    Host(#[from] HostError),
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Returned by `Resource::inspect` when the target lacks what the resource needs (no Proxmox
/// tools on a plain Debian host, say). The plan reports it as a warning and leaves the resource
/// alone, instead of failing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unsupported on this target: {reason}")]
pub struct Unsupported {
    /// What is missing.
    pub reason: String,
}

impl Unsupported {
    /// An `Unsupported` error as a `BoxError`.
    pub fn boxed(reason: impl Into<String>) -> BoxError {
        Box::new(Unsupported {
            reason: reason.into(),
        })
    }
}
