//! The guarded `exec` primitive: a command that runs only while the path it creates is missing,
//! for installers that have no package (Ansible's `creates:`).
//!
//! The guard is a path, so the scope's one probe observes it with everything else: a converged
//! scope runs no extra command for it.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::Serialize;

use crate::change::{Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::probe::observe;
use crate::resource::{Capability, Ctx, Resource};
use crate::scope::Scope;

/// The kind of [`Exec`]: `exec`.
pub const KIND: &str = "exec";

/// A command run in a scope until the path it creates exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    scope: Scope,
    name: String,
    creates: PathBuf,
    cmd: Cmd,
    depends_on: Vec<ResourceId>,
}

/// Whether the guard path exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecState {
    /// The guard path exists.
    pub created: bool,
}

impl Exec {
    /// Runs `cmd` (a writing command, built for the scope's own shell, not wrapped yet) in
    /// `scope` while `creates` is missing; `name` identifies it (`vllm-install`).
    pub fn new(scope: &Scope, name: &str, creates: impl Into<PathBuf>, cmd: Cmd) -> Exec {
        let creates = creates.into();
        scope.observe(|inventory| {
            inventory.paths.insert(creates.display().to_string());
        });
        Exec {
            scope: scope.clone(),
            name: name.to_owned(),
            creates,
            cmd,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> Exec {
        self.depends_on.push(id);
        self
    }
}

#[async_trait]
impl Resource for Exec {
    type State = ExecState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.qualify(&self.name))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![crate::directory::path_capability(
            &self.scope,
            &self.creates.display().to_string(),
        )];
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ExecState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(Some(ExecState {
            created: facts
                .paths
                .contains_key(&self.creates.display().to_string()),
        }))
    }

    fn diff(&self, observed: Option<&ExecState>) -> Delta {
        if observed.is_some_and(|s| s.created) {
            return Delta::none();
        }
        Delta::none()
            .field(
                FieldChange::new(
                    "creates",
                    Some("missing".into()),
                    Some(self.creates.display().to_string().into()),
                )
                .note("runs until this path exists"),
            )
            .step(Step::run(self.scope.command(self.cmd.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::testing::scopes;

    #[test]
    fn an_exec_runs_only_while_its_path_is_missing() {
        let scopes = scopes();
        let exec = Exec::new(
            &scopes.get("ct:951").expect("guest"),
            "vllm-install",
            "/opt/vllm/bin/vllm",
            Cmd::write("python3", ["-m", "venv", "/opt/vllm"]),
        );
        assert!(Resource::diff(&exec, Some(&ExecState { created: true })).is_empty());
        let delta = Resource::diff(&exec, Some(&ExecState { created: false }));
        let steps: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        assert_eq!(steps, ["guest-exec 951 -- python3 -m venv /opt/vllm"]);
        assert_eq!(Resource::id(&exec).to_string(), "exec[ct:951:vllm-install]");
        assert!(
            scopes
                .get("ct:951")
                .expect("guest")
                .inventory()
                .paths
                .contains("/opt/vllm/bin/vllm")
        );
    }
}
