//! Diagnostics: errors, warnings and notes collected during load, plan and apply, with locations.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ErrorChain;
use crate::id::ResourceId;

/// How serious a diagnostic is. Any [`Severity::Error`] makes `validate` and `plan` exit 1 and
/// stops `apply` before it changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something is wrong; nothing will be changed.
    Error,
    /// Something is suspicious but Phoenix can go on.
    Warning,
    /// Information, such as a config key that is known but not acted on.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// Where in the config a diagnostic points: a file, a JSON path and, when known, line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// The config file.
    pub file: String,
    /// The JSON path inside it, such as `lxc_configs."951".memory_mb`; empty for the whole file.
    pub path: String,
    /// The 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The 1-based column, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Location {
    /// A location with a file and a JSON path but no line.
    pub fn new(file: impl Into<String>, path: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            path: path.into(),
            line: None,
            column: None,
        }
    }

    /// Adds a line and column.
    pub fn at(mut self, line: usize, column: usize) -> Location {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        Ok(())
    }
}

/// One finding, attached to a config location, a resource, or both.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong or worth knowing, and what is expected instead.
    pub message: String,
    /// The config location, when it comes from the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The resource, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// The error behind it, kept with its causes until it is rendered (serialised as `a: b: c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<ErrorChain>,
}

impl Diagnostic {
    /// An error.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, message)
    }

    /// A warning.
    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, message)
    }

    /// A note.
    pub fn note(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Note, message)
    }

    /// A diagnostic of any severity.
    pub fn new(severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            message: message.into(),
            location: None,
            resource: None,
            cause: None,
        }
    }

    /// Attaches the error behind the diagnostic, with its causes.
    pub fn caused_by(mut self, cause: ErrorChain) -> Diagnostic {
        self.cause = Some(cause);
        self
    }

    /// Attaches a config location.
    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = Some(location);
        self
    }

    /// Attaches a resource.
    pub fn for_resource(mut self, id: ResourceId) -> Diagnostic {
        self.resource = Some(id);
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.severity)?;
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if let Some(id) = &self.resource {
            write!(f, "{id}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {}", cause.chain())?;
        }
        Ok(())
    }
}
