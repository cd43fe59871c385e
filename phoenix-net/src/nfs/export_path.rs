//! `nfs.path`: an exported directory must exist, or be created by this run (a ZFS dataset's
//! mountpoint, which the ZFS provider's dataset provides as a `path:` capability).
//!
//! It never changes anything: exportfs refuses a missing path only when the file goes live, so
//! the check runs at plan time, from the scope's one probe, and a missing path that nothing in
//! the run creates is a plan error naming the config entry. Phoenix never creates, `chmod`s or
//! `chown`s an exported directory (upstream made each one `777`).

use async_trait::async_trait;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Capability, Ctx, Delta, Diagnostic, Kind, Location, Resource, ResourceId, Scope,
};
use serde::Serialize;

/// The kind: `nfs.path`.
pub(crate) const KIND: &str = "nfs.path";

/// An exported directory that must exist.
#[derive(Debug, Clone)]
pub(crate) struct ExportPath {
    pub(crate) scope: Scope,
    pub(crate) path: String,
    /// The config entry's `path`, for the error.
    pub(crate) at: Location,
}

/// What the probe saw at the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PathState {
    /// `stat`'s file type, or `None` when missing.
    pub(crate) file_type: Option<String>,
    /// Whether a resource of this run creates the path.
    pub(crate) created_by_this_run: bool,
}

impl ExportPath {
    pub(crate) fn new(scope: &Scope, path: &str, at: Location) -> ExportPath {
        scope.observe(|inventory| {
            inventory.paths.insert(path.to_owned());
        });
        ExportPath {
            scope: scope.clone(),
            path: path.to_owned(),
            at,
        }
    }

    pub(crate) fn id_for(path: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), path)
    }
}

#[async_trait]
impl Resource for ExportPath {
    type State = PathState;

    fn id(&self) -> ResourceId {
        ExportPath::id_for(&self.path)
    }

    fn requires(&self) -> Vec<Capability> {
        vec![Capability::path(&self.path)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PathState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(Some(PathState {
            file_type: facts.paths.get(&self.path).map(|p| p.file_type.clone()),
            created_by_this_run: cx.is_provided(&Capability::path(&self.path)),
        }))
    }

    fn diff(&self, observed: Option<&PathState>) -> Delta {
        let mut delta = Delta::none();
        let problem = match observed {
            Some(PathState {
                file_type: Some(kind),
                ..
            }) if kind != "directory" => Some(format!(
                "NFS export {} is a {kind}, not a directory",
                self.path
            )),
            Some(PathState {
                file_type: None,
                created_by_this_run: false,
            }) => Some(format!(
                "NFS export {} does not exist and nothing in this run creates it; \
                 export a dataset's mountpoint or create the directory first",
                self.path
            )),
            _ => None,
        };
        if let Some(message) = problem {
            delta
                .diagnostics
                .push(Diagnostic::error(message).at(self.at.clone()));
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_a_missing_export_path_is_an_error_unless_this_run_creates_it() {
        let scope = Scope::node();
        let at = Location::new("c.json", "nfs.exports[0].path");
        let export = ExportPath::new(&scope, "/quickOS/shared", at);
        let check = |file_type: Option<&str>, created: bool| {
            let delta = Resource::diff(
                &export,
                Some(&PathState {
                    file_type: file_type.map(str::to_owned),
                    created_by_this_run: created,
                }),
            );
            assert!(delta.fields.is_empty() && delta.steps.is_empty());
            delta
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(check(Some("directory"), false), "");
        assert_eq!(check(None, true), "");
        insta::assert_snapshot!(check(None, false), @"error: c.json at nfs.exports[0].path: NFS export /quickOS/shared does not exist and nothing in this run creates it; export a dataset's mountpoint or create the directory first");
        insta::assert_snapshot!(check(Some("regular file"), true), @"error: c.json at nfs.exports[0].path: NFS export /quickOS/shared is a regular file, not a directory");
        assert!(scope.inventory().paths.contains("/quickOS/shared"));
        assert_eq!(
            Resource::requires(&export),
            [Capability::path("/quickOS/shared")]
        );
    }
}
