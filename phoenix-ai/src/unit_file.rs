//! A systemd unit file in a guest: a core `file` whose change is followed by `systemctl
//! daemon-reload`, so the restart its service then runs starts the new definition (systemd keeps
//! the old one until told to reload, and only warns).
//!
//! The unit's text is checked with the real `systemd-analyze verify` in the tests (`tests`
//! crate, `ai.rs`), not on the guest: the verifier also checks that the programs named by
//! `ExecStart` exist, which is not true until the install before it has run.

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, Ensure, Step};
use phoenix_core::file::{File, FileState};
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::scope::Scope;
use phoenix_core::{BoxError, Cmd, ResourceId};

/// A unit file at `/etc/systemd/system/NAME` in a scope.
#[derive(Debug, Clone)]
pub(crate) struct UnitFile {
    file: File,
    scope: Scope,
}

/// Where Phoenix writes unit files.
pub(crate) const UNIT_DIR: &str = "/etc/systemd/system";

impl UnitFile {
    /// Unit `name` (`ollama.service`) with `text`, mode 0644, owned by root.
    pub(crate) fn new(scope: &Scope, name: &str, text: String) -> UnitFile {
        UnitFile {
            file: File::new(format!("{UNIT_DIR}/{name}"), text)
                .mode(0o644)
                .owner("root:root")
                .in_scope(scope),
            scope: scope.clone(),
        }
    }

    /// Adds a dependency.
    pub(crate) fn depends_on(mut self, id: ResourceId) -> UnitFile {
        self.file = self.file.depends_on(id);
        self
    }

    /// The step that follows a change of the file.
    fn daemon_reload(&self) -> Step {
        Step::run(
            self.scope
                .command(Cmd::write("systemctl", ["daemon-reload"])),
        )
    }
}

#[async_trait]
impl Resource for UnitFile {
    type State = FileState;

    fn id(&self) -> ResourceId {
        Resource::id(&self.file)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        Resource::depends_on(&self.file)
    }

    fn provides(&self) -> Vec<Capability> {
        Resource::provides(&self.file)
    }

    fn requires(&self) -> Vec<Capability> {
        Resource::requires(&self.file)
    }

    fn ensure(&self) -> Ensure {
        Resource::ensure(&self.file)
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<FileState>, BoxError> {
        Resource::inspect(&self.file, cx).await
    }

    fn diff(&self, observed: Option<&FileState>) -> Delta {
        let delta = Resource::diff(&self.file, observed);
        if delta.steps.is_empty() {
            return delta;
        }
        delta.step(self.daemon_reload())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        Resource::apply(&self.file, change, cx).await
    }
}

#[cfg(test)]
mod tests {
    use phoenix_core::Scopes;

    use super::*;

    #[test]
    fn issue_12_a_changed_unit_file_is_followed_by_daemon_reload_and_an_equal_one_by_nothing() {
        let scopes = Scopes::new(Vec::new());
        let node = scopes.node();
        let unit = UnitFile::new(
            &node,
            "x.service",
            "[Service]\nExecStart=/bin/true\n".into(),
        );
        let same = FileState {
            content: "[Service]\nExecStart=/bin/true\n".into(),
            mode: 0o644,
            owner: "root:root".into(),
        };
        assert!(Resource::diff(&unit, Some(&same)).is_empty());
        let old = FileState {
            content: "[Service]\nExecStart=/bin/false\n".into(),
            ..same
        };
        let steps: Vec<String> = Resource::diff(&unit, Some(&old))
            .steps
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            steps.last().map(String::as_str),
            Some("systemctl daemon-reload")
        );
        assert_eq!(
            Resource::id(&unit).to_string(),
            "file[/etc/systemd/system/x.service]"
        );
    }
}
