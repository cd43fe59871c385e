//! `lxc.template`: the template tarball containers are created from must exist on the host. It
//! is checked (one `test -f`) only while some container that uses it has yet to be created, so a
//! converged host pays nothing; a missing file is a plan error naming the download command.

use async_trait::async_trait;
use phoenix_core::{BoxError, Cmd, Ctx, Delta, Diagnostic, Kind, Resource, ResourceId};
use serde::Serialize;

use crate::facts::Containers;

/// The kind: `lxc.template`.
pub const KIND: &str = "lxc.template";

/// A template tarball.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) path: String,
    pub(crate) users: Vec<u32>,
}

/// Whether the file was found (`None`: not checked, every user exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateState {
    /// The check's result.
    pub found: Option<bool>,
}

impl Template {
    /// The id of the template at `path`.
    pub fn id_for(path: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), path)
    }
}

#[async_trait]
impl Resource for Template {
    type State = TemplateState;

    fn id(&self) -> ResourceId {
        Template::id_for(&self.path)
    }

    fn requires(&self) -> Vec<phoenix_core::Capability> {
        if self.path.starts_with('/') {
            vec![phoenix_core::Capability::path(&self.path)]
        } else {
            Vec::new()
        }
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<TemplateState>, BoxError> {
        let containers = cx.fact(&Containers).await?;
        if self.users.iter().all(|id| containers.contains_key(id)) || !self.path.starts_with('/') {
            return Ok(Some(TemplateState { found: None }));
        }
        let output = cx
            .host()
            .run(&Cmd::read("test", ["-f", self.path.as_str()]))
            .await?;
        Ok(Some(TemplateState {
            found: Some(output.success()),
        }))
    }

    fn diff(&self, observed: Option<&TemplateState>) -> Delta {
        if observed.is_some_and(|s| s.found == Some(false)) {
            let file = self.path.rsplit('/').next().unwrap_or(&self.path);
            return Delta::none().diagnostic(Diagnostic::error(format!(
                "the template {} does not exist on the host, so containers {} cannot be created; download it with `pveam download <storage> {file}` into the storage whose template/cache directory holds it",
                self.path,
                self.users.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )));
        }
        Delta::none()
    }
}
