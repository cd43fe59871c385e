//! Changes: what a provider reports for one resource, and the planned change core derives from it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cmd::Cmd;
use crate::diag::Diagnostic;
use crate::id::ResourceId;
use crate::sensitive::Content;

/// What apply will do to a resource. Core decides it from what the provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing differs.
    NoOp,
    /// The resource does not exist yet.
    Create,
    /// The resource exists and is changed in place.
    Update,
    /// The resource is destroyed and created again.
    Replace,
    /// The resource exists and the config marks it absent.
    Delete,
}

impl Action {
    /// The plan symbol, as in `terraform plan`: `+`, `~`, `-/+`, `-`, or a space.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        })
    }
}

/// How disruptive a change is, in increasing order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum Disruption {
    /// Applied live; nothing restarts.
    #[default]
    Hot,
    /// Takes effect only after something restarts.
    Restart {
        /// What restarts, such as `lxc.container[951]` or `nginx`.
        of: String,
    },
    /// Loses data. Refused unless the operator passes `--allow-destroy`.
    DestroysData {
        /// What is lost.
        what: String,
    },
}

impl fmt::Display for Disruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disruption::Hot => f.write_str("hot"),
            Disruption::Restart { of } => write!(f, "needs restart of {of}"),
            Disruption::DestroysData { what } => write!(f, "destroys data: {what}"),
        }
    }
}

/// One field's value before and after, as JSON so every provider renders the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldChange {
    /// The field's name, such as `quota` or `net0.hwaddr`.
    pub field: String,
    /// The observed value; `None` when absent.
    pub before: Option<serde_json::Value>,
    /// The desired value; `None` when it will be removed.
    pub after: Option<serde_json::Value>,
    /// Extra context, such as the property's current source (`inherited from quickOS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FieldChange {
    /// A field going from `before` to `after`.
    pub fn new(
        field: impl Into<String>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> FieldChange {
        FieldChange {
            field: field.into(),
            before,
            after,
            note: None,
        }
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> FieldChange {
        self.note = Some(note.into());
        self
    }
}

/// One step apply runs, shown in the plan exactly as it will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
#[non_exhaustive]
pub enum Step {
    /// Run a command.
    Run {
        /// The command.
        cmd: Cmd,
    },
    /// Write a file atomically.
    WriteFile {
        /// Where.
        path: PathBuf,
        /// The content (shown only as `(sensitive, N bytes)` when sensitive).
        content: Content,
        /// The permission bits (serialised as an octal string such as `"0644"`).
        #[serde(with = "octal")]
        mode: u32,
        /// The owner as `user:group`, when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    /// Remove a file.
    RemoveFile {
        /// Where.
        path: PathBuf,
    },
}

impl Step {
    /// A step that runs `cmd`.
    pub fn run(cmd: Cmd) -> Step {
        Step::Run { cmd }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Run { cmd } => write!(f, "{cmd}"),
            Step::WriteFile {
                path,
                content,
                mode,
                owner,
            } => {
                let sensitive = if content.is_sensitive() {
                    "sensitive, "
                } else {
                    ""
                };
                write!(
                    f,
                    "write {} ({sensitive}{} bytes, mode {mode:04o}",
                    path.display(),
                    content.len()
                )?;
                if let Some(owner) = owner {
                    write!(f, ", owner {owner}")?;
                }
                f.write_str(")")
            }
            Step::RemoveFile { path } => write!(f, "remove {}", path.display()),
        }
    }
}

mod octal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        u32::from_str_radix(&text, 8).map_err(serde::de::Error::custom)
    }
}

/// What a provider's pure `diff` reports for one resource.
///
/// An empty delta (no fields, no steps) means the resource has converged. Core turns a delta into
/// a [`Change`], choosing the [`Action`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delta {
    /// The fields that differ.
    pub fields: Vec<FieldChange>,
    /// The steps that converge them, in order.
    pub steps: Vec<Step>,
    /// How disruptive the steps are.
    pub disruption: Disruption,
    /// Whether the steps destroy and recreate the resource.
    pub replace: bool,
    /// A unified diff for a managed file.
    pub file_diff: Option<String>,
    /// Findings about this resource (an unconvergeable drift is an error here).
    pub diagnostics: Vec<Diagnostic>,
}

impl Delta {
    /// A delta with nothing to do.
    pub fn none() -> Delta {
        Delta::default()
    }

    /// Adds a field change.
    pub fn field(mut self, field: FieldChange) -> Delta {
        self.fields.push(field);
        self
    }

    /// Adds a step.
    pub fn step(mut self, step: Step) -> Delta {
        self.steps.push(step);
        self
    }

    /// Adds a command step.
    pub fn run(self, cmd: Cmd) -> Delta {
        self.step(Step::run(cmd))
    }

    /// Raises the disruption to at least `disruption`.
    pub fn disrupts(mut self, disruption: Disruption) -> Delta {
        if disruption > self.disruption {
            self.disruption = disruption;
        }
        self
    }

    /// Marks the change as a replacement.
    pub fn replacing(mut self) -> Delta {
        self.replace = true;
        self
    }

    /// Sets the file diff.
    pub fn file_diff(mut self, diff: impl Into<String>) -> Delta {
        self.file_diff = Some(diff.into());
        self
    }

    /// Adds a diagnostic.
    pub fn diagnostic(mut self, diagnostic: Diagnostic) -> Delta {
        self.diagnostics.push(diagnostic);
        self
    }

    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.steps.is_empty()
    }
}

/// Whether the config wants the resource to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ensure {
    /// The resource should exist (the default).
    #[default]
    Present,
    /// The config explicitly marks the resource for removal.
    Absent,
}

/// A planned change to one resource: what, why, how disruptive, and the exact steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// The resource.
    pub id: ResourceId,
    /// What will happen.
    pub action: Action,
    /// The fields that differ.
    pub fields: Vec<FieldChange>,
    /// How disruptive it is.
    pub disruption: Disruption,
    /// The steps apply runs.
    pub steps: Vec<Step>,
    /// A unified diff for a managed file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_diff: Option<String>,
    /// For a change that carries sensitive values, a digest of its steps with those values,
    /// keyed with the host-local plan key (HMAC-SHA256), so a saved plan still notices a changed
    /// secret; set by the engine, never a plain hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Change {
    /// Builds the change core plans for `id`, given whether the resource exists and what the
    /// provider reported.
    pub fn decide(id: ResourceId, ensure: Ensure, exists: bool, delta: Delta) -> Change {
        let action = match (ensure, exists) {
            (Ensure::Absent, false) => Action::NoOp,
            (Ensure::Absent, true) => Action::Delete,
            (Ensure::Present, false) => Action::Create,
            (Ensure::Present, true) if delta.is_empty() => Action::NoOp,
            (Ensure::Present, true) if delta.replace => Action::Replace,
            (Ensure::Present, true) => Action::Update,
        };
        let (fields, steps) = if action == Action::NoOp {
            (Vec::new(), Vec::new())
        } else {
            (delta.fields, delta.steps)
        };
        Change {
            id,
            action,
            fields,
            disruption: if action == Action::NoOp {
                Disruption::Hot
            } else {
                delta.disruption
            },
            steps,
            file_diff: if action == Action::NoOp {
                None
            } else {
                delta.file_diff
            },
            fingerprint: None,
        }
    }

    /// Whether apply has something to do.
    pub fn is_noop(&self) -> bool {
        self.action == Action::NoOp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Kind;

    fn id() -> ResourceId {
        ResourceId::new(Kind::from_static("file"), "/etc/motd")
    }

    #[test]
    fn core_decides_the_action() {
        let some = Delta::none().run(Cmd::write("touch", ["/x"]));
        let decide = |ensure, exists, delta: &Delta| {
            Change::decide(id(), ensure, exists, delta.clone()).action
        };
        assert_eq!(decide(Ensure::Present, false, &some), Action::Create);
        assert_eq!(decide(Ensure::Present, true, &some), Action::Update);
        assert_eq!(decide(Ensure::Present, true, &Delta::none()), Action::NoOp);
        assert_eq!(
            decide(Ensure::Present, true, &some.clone().replacing()),
            Action::Replace
        );
        assert_eq!(decide(Ensure::Absent, true, &some), Action::Delete);
        assert_eq!(decide(Ensure::Absent, false, &some), Action::NoOp);
    }

    #[test]
    fn disruption_only_rises() {
        let delta = Delta::none()
            .disrupts(Disruption::DestroysData { what: "x".into() })
            .disrupts(Disruption::Restart { of: "y".into() });
        assert!(matches!(delta.disruption, Disruption::DestroysData { .. }));
    }
}
