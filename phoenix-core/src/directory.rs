//! The `directory` primitive: a directory with a mode and an optional owner, in a scope.
//!
//! Observed by the scope's one probe (`stat`); created with `mkdir -p`, then `chmod` and `chown`
//! only for what differs. Never `chmod 777` unless the config says so.

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

/// The kind of [`Directory`]: `directory`.
pub const KIND: &str = "directory";

/// A directory in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    scope: Scope,
    path: PathBuf,
    mode: u32,
    owner: Option<String>,
    depends_on: Vec<ResourceId>,
}

/// A directory as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryState {
    /// The permission bits.
    pub mode: u32,
    /// `user:group`.
    pub owner: String,
}

impl Directory {
    /// Directory `path` in `scope`, mode `0755`, owner left as created.
    pub fn new(scope: &Scope, path: impl Into<PathBuf>) -> Directory {
        let path = path.into();
        scope.observe(|inventory| {
            inventory.paths.insert(path.display().to_string());
        });
        Directory {
            scope: scope.clone(),
            path,
            mode: 0o755,
            owner: None,
            depends_on: Vec::new(),
        }
    }

    /// Sets the permission bits.
    pub fn mode(mut self, mode: u32) -> Directory {
        self.mode = mode;
        self
    }

    /// Sets the owner (`user:group`).
    pub fn owner(mut self, owner: impl Into<String>) -> Directory {
        self.owner = Some(owner.into());
        self
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> Directory {
        self.depends_on.push(id);
        self
    }

    fn path_text(&self) -> String {
        self.path.display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Step {
        Step::run(
            self.scope
                .command(Cmd::write(program, args.iter().copied())),
        )
    }
}

/// The capability of a path in a scope: a `path:` one on the node (matched by ancestor), a
/// named one in a guest (matched exactly).
pub fn path_capability(scope: &Scope, path: &str) -> Capability {
    if scope.is_node() {
        Capability::path(path)
    } else {
        Capability::named(&format!("path@{scope}"), path.trim_end_matches('/'))
    }
}

#[async_trait]
impl Resource for Directory {
    type State = DirectoryState;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(KIND),
            self.scope.qualify(&self.path_text()),
        )
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![path_capability(&self.scope, &self.path_text())];
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires: Vec<Capability> = self.scope.ready().into_iter().collect();
        if let Some(parent) = self.path.parent().filter(|_| !self.scope.is_node()) {
            requires.push(path_capability(&self.scope, &parent.display().to_string()));
        } else if let Some(parent) = self.path.parent() {
            requires.push(Capability::path(parent.display().to_string()));
        }
        requires
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<DirectoryState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        match facts.paths.get(&self.path_text()) {
            None => Ok(None),
            Some(fact) if fact.is_dir() => Ok(Some(DirectoryState {
                mode: fact.mode,
                owner: fact.owner.clone(),
            })),
            Some(fact) => Err(BoxError::from(format!(
                "{} in {} is a {}, not a directory",
                self.path.display(),
                self.scope,
                fact.file_type
            ))),
        }
    }

    fn diff(&self, observed: Option<&DirectoryState>) -> Delta {
        let path = self.path_text();
        let mode = format!("{:04o}", self.mode);
        let mut delta = Delta::none();
        if observed.is_none() {
            delta = delta.step(self.run("mkdir", &["-p", "--", &path]));
        }
        if observed.map(|s| s.mode) != Some(self.mode) {
            delta = delta
                .field(FieldChange::new(
                    "mode",
                    observed.map(|s| format!("{:04o}", s.mode).into()),
                    Some(mode.clone().into()),
                ))
                .step(self.run("chmod", &[&mode, "--", &path]));
        }
        if let Some(owner) = &self.owner
            && observed.map(|s| s.owner.as_str()) != Some(owner.as_str())
        {
            delta = delta
                .field(FieldChange::new(
                    "owner",
                    observed.map(|s| s.owner.clone().into()),
                    Some(owner.clone().into()),
                ))
                .step(self.run("chown", &[owner, "--", &path]));
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::testing::{render_delta, scopes};

    fn check(dir: &Directory, observed: Option<&DirectoryState>) -> String {
        render_delta(&Resource::diff(dir, observed))
    }

    fn state(mode: u32, owner: &str) -> DirectoryState {
        DirectoryState {
            mode,
            owner: owner.into(),
        }
    }

    #[test]
    fn a_directory_is_created_then_only_what_differs_is_fixed() {
        let scopes = scopes();
        let dir = Directory::new(&scopes.node(), "/srv/share")
            .mode(0o2775)
            .owner("root:users");
        insta::assert_snapshot!(check(&dir, None), @r#"
        mode: None -> Some(String("2775"))
        owner: None -> Some(String("root:users"))
        mkdir -p -- /srv/share
        chmod 2775 -- /srv/share
        chown root:users -- /srv/share
        "#);
        insta::assert_snapshot!(check(&dir, Some(&state(0o2775, "root:users"))), @"");
        insta::assert_snapshot!(check(&dir, Some(&state(0o777, "root:users"))), @r#"
        mode: Some(String("0777")) -> Some(String("2775"))
        chmod 2775 -- /srv/share
        "#);
        let guest = Directory::new(&scopes.get("ct:101").expect("guest"), "/data");
        insta::assert_snapshot!(check(&guest, Some(&state(0o700, "root:root"))), @r#"
        mode: Some(String("0700")) -> Some(String("0755"))
        guest-exec 101 -- chmod 0755 -- /data
        "#);
    }
}
