//! The engine's error type: what can stop `plan`, `apply` or config loading as a whole.

use crate::diag::{Diagnostic, Location};
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
    #[error("order resources: dependency cycle {}{}", .cycle.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "), cycle_origins(.origins))]
    Cycle {
        /// The resources on the cycle, the first repeated at the end.
        cycle: Vec<ResourceId>,
        /// The config entries of the resources on the cycle, for those whose provider gave one:
        /// the entries that close it.
        origins: Vec<(ResourceId, Location)>,
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

/// `; declared at c.json:2:3 at files[0] (file[/a]), ...`, or nothing without origins.
fn cycle_origins(origins: &[(ResourceId, Location)]) -> String {
    if origins.is_empty() {
        return String::new();
    }
    let places: Vec<String> = origins
        .iter()
        .map(|(id, location)| format!("{location} ({id})"))
        .collect();
    format!("; declared at {}", places.join(", "))
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Returned by `Resource::inspect` when the target lacks what the resource needs (no Proxmox
/// tools on a plain Debian host, say). The plan reports it as a warning and leaves the resource
/// alone, instead of failing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unsupported on this target: {reason}")]
#[non_exhaustive]
pub struct Unsupported {
    /// What is missing.
    pub reason: String,
    /// The program the target lacks, when that is the reason: the plan then reports the tool once
    /// for all the resources it leaves alone.
    pub tool: Option<String>,
}

impl Unsupported {
    /// An `Unsupported` error as a `BoxError`.
    pub fn boxed(reason: impl Into<String>) -> BoxError {
        Box::new(Unsupported {
            reason: reason.into(),
            tool: None,
        })
    }

    /// The target lacks `program` (it is not installed, or not on `PATH`).
    pub fn missing_tool(program: impl Into<String>, reason: impl Into<String>) -> Unsupported {
        Unsupported {
            reason: reason.into(),
            tool: Some(program.into()),
        }
    }
}

/// A provider's error with its causes, as an apply report carries it.
///
/// The original error is kept (its `source()` chain and its types, for downcasting) until the
/// report is rendered; only serialising flattens it, to one string `a: b: c`, so the JSON report
/// keeps its format. A chain read back from JSON is that string.
#[derive(Clone)]
pub struct ErrorChain(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ErrorChain {
    /// Keeps `error` and its causes.
    pub fn new(error: BoxError) -> ErrorChain {
        ErrorChain(std::sync::Arc::from(error))
    }

    /// A chain of one message.
    pub fn msg(message: impl Into<String>) -> ErrorChain {
        ErrorChain::new(BoxError::from(message.into()))
    }

    /// The error itself (the head of the chain).
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The error and its causes as `a: b: c`.
    pub fn chain(&self) -> String {
        crate::plan::error_chain(&*self.0)
    }

    /// The error and then each cause, outermost first.
    pub fn messages(&self) -> Vec<String> {
        let mut messages = vec![self.0.to_string()];
        let mut source = self.0.source();
        while let Some(cause) = source {
            messages.push(cause.to_string());
            source = cause.source();
        }
        messages
    }
}

impl std::fmt::Debug for ErrorChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ErrorChain").field(&self.chain()).finish()
    }
}

impl std::fmt::Display for ErrorChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ErrorChain {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for ErrorChain {
    fn eq(&self, other: &ErrorChain) -> bool {
        self.chain() == other.chain()
    }
}

impl Eq for ErrorChain {}

impl PartialOrd for ErrorChain {
    fn partial_cmp(&self, other: &ErrorChain) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ErrorChain {
    fn cmp(&self, other: &ErrorChain) -> std::cmp::Ordering {
        self.chain().cmp(&other.chain())
    }
}

impl std::hash::Hash for ErrorChain {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.chain().hash(state);
    }
}

impl serde::Serialize for ErrorChain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.chain())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorChain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ErrorChain, D::Error> {
        Ok(ErrorChain::msg(String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_8_an_error_chain_keeps_its_causes_until_rendered() {
        let source = crate::host::HostError::Other("disk on fire".to_owned());
        let top = Error::Provider {
            id: crate::id::ResourceId::new(crate::id::Kind::from_static("file"), "/x"),
            source: Box::new(source),
        };
        let chain = ErrorChain::new(Box::new(top));
        assert_eq!(chain.to_string(), "file[/x]");
        let cause = std::error::Error::source(&chain).expect("the cause is kept");
        assert!(cause.downcast_ref::<crate::host::HostError>().is_some());
        assert_eq!(chain.messages(), ["file[/x]", "disk on fire"]);
        assert_eq!(chain.chain(), "file[/x]: disk on fire");
        let json = serde_json::to_string(&chain).expect("serialises");
        assert_eq!(json, r#""file[/x]: disk on fire""#);
        let back: ErrorChain = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, chain);
    }
}
