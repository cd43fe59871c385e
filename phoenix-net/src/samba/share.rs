//! `samba.share`: a share's path exists as a directory, or it is the mountpoint of a dataset
//! the config declares and a resource of this run provides it (the dataset provides
//! `path:<mountpoint>`, so the share is ordered after it). A plain directory is never created:
//! a missing one is an error even when an ancestor (a pool's mountpoint) is created, because
//! nothing would create the directory itself. It changes nothing itself; a missing path nothing creates is a plan error for
//! that share, naming its config entry, and the include file (which depends on every share)
//! is then not written.

use async_trait::async_trait;
use phoenix_core::change::Delta;
use phoenix_core::probe::observe;
use phoenix_core::{BoxError, Capability, Ctx, Kind, Resource, ResourceId, Scope};
use serde::Serialize;

/// The kind of [`SharePath`].
pub(crate) const KIND: &str = "samba.share";

/// A share's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SharePath {
    scope: Scope,
    name: String,
    path: String,
    dataset_mount: bool,
}

/// What the share's path is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum PathState {
    /// A directory.
    Directory,
    /// Missing, but a resource of this run creates it.
    CreatedByThisRun,
}

impl SharePath {
    /// Share `name` at `path` on the node; `dataset_mount` when `path` is a declared dataset's
    /// mountpoint.
    pub(crate) fn new(scope: &Scope, name: &str, path: &str, dataset_mount: bool) -> SharePath {
        scope.observe(|inventory| {
            inventory.paths.insert(path.to_owned());
        });
        SharePath {
            scope: scope.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            dataset_mount,
        }
    }

    /// The id of share `name`.
    pub(crate) fn id_for(scope: &Scope, name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify(name))
    }
}

#[async_trait]
impl Resource for SharePath {
    type State = PathState;

    fn id(&self) -> ResourceId {
        SharePath::id_for(&self.scope, &self.name)
    }

    fn requires(&self) -> Vec<Capability> {
        vec![Capability::path(&self.path)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PathState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        match facts.paths.get(&self.path) {
            Some(fact) if fact.is_dir() => Ok(Some(PathState::Directory)),
            Some(fact) => Err(format!(
                "share [{}]: {} is a {}, not a directory",
                self.name, self.path, fact.file_type
            )
            .into()),
            None if self.dataset_mount && cx.is_provided(&Capability::path(&self.path)) => {
                Ok(Some(PathState::CreatedByThisRun))
            }
            None => Err(format!(
                "share [{}]: {} does not exist and nothing in this run creates it (declare the dataset in zfs.datasets, or create the directory)",
                self.name, self.path
            )
            .into()),
        }
    }

    fn diff(&self, _observed: Option<&PathState>) -> Delta {
        Delta::none()
    }
}
