//! Resources a target cannot manage: a resource or fact that says `Unsupported`, or a tool that
//! is not installed. Each cause is reported once, with how many resources it leaves alone, rather
//! than once per resource (a plain Debian host lacks `pct`, `zpool` and `zfs` for dozens).

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Diagnostic;
use crate::error::Unsupported;
use crate::host::HostError;
use crate::id::ResourceId;

/// Why a resource is not managed on this target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cause {
    /// A tool the target lacks.
    MissingTool(String),
    /// What an `Unsupported` error says.
    Unsupported(String),
}

/// The cause, if an inspection error (anywhere in its chain) means "not on this target".
pub(crate) fn cause_of(err: &(dyn std::error::Error + 'static)) -> Option<Cause> {
    let mut current = Some(err);
    while let Some(error) = current {
        if let Some(unsupported) = error.downcast_ref::<Unsupported>() {
            return Some(match &unsupported.tool {
                Some(program) => Cause::MissingTool(program.clone()),
                None => Cause::Unsupported(unsupported.to_string()),
            });
        }
        if let Some(program) = error.downcast_ref::<HostError>().and_then(missing_program) {
            return Some(Cause::MissingTool(program));
        }
        current = error.source();
    }
    None
}

/// The program a host error says is not installed: it could not be spawned because it does not
/// exist (a local target), or a shell answered 127 "not found" (ssh, the simulated node).
fn missing_program(err: &HostError) -> Option<String> {
    match err {
        HostError::Spawn { argv, source } if source.kind() == std::io::ErrorKind::NotFound => {
            program_of(argv)
        }
        HostError::CommandFailed {
            argv,
            status: Some(127),
            stderr,
        } => {
            program_of(argv).filter(|p| stderr.contains(p.as_str()) && stderr.contains("not found"))
        }
        _ => None,
    }
}

/// The program of a shell-escaped argv, after any `NAME=value` prefixes.
fn program_of(argv: &str) -> Option<String> {
    argv.split_whitespace()
        .find(|word| !word.contains('='))
        .map(|word| word.trim_matches('\'').to_owned())
}

/// The resources left alone, grouped by cause.
#[derive(Debug, Default)]
pub(crate) struct NotManaged {
    groups: BTreeMap<Cause, Vec<ResourceId>>,
}

impl NotManaged {
    /// Records that `id` is not managed because of `cause`.
    pub(crate) fn add(&mut self, cause: Cause, id: ResourceId) {
        self.groups.entry(cause).or_default().push(id);
    }

    /// One warning per cause. A cause that concerns one resource names it, as before.
    pub(crate) fn diagnostics(self) -> Vec<Diagnostic> {
        self.groups
            .into_iter()
            .map(|(cause, ids)| {
                let what = match &cause {
                    Cause::MissingTool(program) => format!("{program}: not found on this target"),
                    Cause::Unsupported(text) => text.clone(),
                };
                if let [id] = ids.as_slice() {
                    let message = match cause {
                        Cause::MissingTool(_) => {
                            format!("{what}; this resource is not managed here")
                        }
                        Cause::Unsupported(text) => text,
                    };
                    return Diagnostic::warning(message).for_resource(id.clone());
                }
                let areas: BTreeSet<&str> = ids
                    .iter()
                    .map(|id| id.kind.as_str().split('.').next().unwrap_or_default())
                    .collect();
                Diagnostic::warning(format!(
                    "{what}; {} {} resources are not managed here",
                    ids.len(),
                    areas.into_iter().collect::<Vec<_>>().join(" and ")
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Kind;

    fn id(kind: &'static str, name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(kind), name)
    }

    #[test]
    fn issue_8_one_warning_per_missing_tool_with_its_count() {
        let spawn = |argv: &str| HostError::Spawn {
            argv: argv.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let shell = HostError::CommandFailed {
            argv: "zpool list -v -H -P -p".to_owned(),
            status: Some(127),
            stderr: "sh: 1: zpool: not found".to_owned(),
        };
        assert_eq!(
            cause_of(&spawn("pct list")),
            Some(Cause::MissingTool("pct".to_owned()))
        );
        assert_eq!(
            cause_of(&shell),
            Some(Cause::MissingTool("zpool".to_owned()))
        );
        let inner_missing = HostError::CommandFailed {
            argv: "pct exec 101 -- sh -c probe".to_owned(),
            status: Some(127),
            stderr: "sh: 1: locale-gen: not found".to_owned(),
        };
        assert_eq!(cause_of(&inner_missing), None, "pct itself ran");
        let mut not_managed = NotManaged::default();
        for name in ["101", "102", "103"] {
            not_managed.add(
                Cause::MissingTool("pct".to_owned()),
                id("lxc.container", name),
            );
        }
        not_managed.add(Cause::MissingTool("pct".to_owned()), id("lxc.start", "101"));
        not_managed.add(
            Cause::MissingTool("zfs".to_owned()),
            id("zfs.dataset", "a/b"),
        );
        let shown: Vec<String> = not_managed
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "warning: pct: not found on this target; 4 lxc resources are not managed here",
                "warning: zfs.dataset[a/b]: zfs: not found on this target; this resource is not managed here",
            ]
        );
    }
}
