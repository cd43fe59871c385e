//! `pve.storage`: a Proxmox storage for a dataset, inspected from /etc/pve/storage.cfg (one
//! read) and applied with `pvesm add` / `pvesm set`. Content types compare as a set; a type
//! mismatch is an error; storages not in the config are never removed.

use std::collections::BTreeSet;

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId,
};
use phoenix_pve::StorageCfg;
use serde::Serialize;

use crate::config::{DatasetSpec, StorageKind, StorageSpec};
use crate::dataset::Dataset;

/// The kind: `pve.storage`.
pub const KIND: &str = "pve.storage";

/// A Proxmox storage backed by a dataset.
#[derive(Debug, Clone)]
pub struct Storage {
    pub(crate) spec: StorageSpec,
    pub(crate) dataset: DatasetSpec,
}

/// A storage as storage.cfg defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageState {
    /// Its type (`zfspool`, `dir`, ...).
    pub kind: String,
    /// `pool` for zfspool, `path` for dir.
    pub target: Option<String>,
    /// Content types.
    pub content: BTreeSet<String>,
}

impl Storage {
    /// The id of storage `id`.
    pub fn id_for(id: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id)
    }

    fn target_key(&self) -> &'static str {
        match self.spec.kind {
            StorageKind::ZfsPool => "pool",
            StorageKind::Dir => "path",
        }
    }

    fn target(&self) -> String {
        match self.spec.kind {
            StorageKind::ZfsPool => self.dataset.full_name.clone(),
            StorageKind::Dir => self.dataset.mountpoint(),
        }
    }

    fn content(&self) -> String {
        if self.spec.content.is_empty() {
            "none".to_owned()
        } else {
            self.spec
                .content
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        }
    }
}

#[async_trait]
impl Resource for Storage {
    type State = StorageState;

    fn id(&self) -> ResourceId {
        Storage::id_for(&self.spec.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        vec![Dataset::id_for(&self.dataset.full_name)]
    }

    fn provides(&self) -> Vec<Capability> {
        vec![Capability::named("pve.storage", &self.spec.id)]
    }

    fn locks(&self) -> Vec<String> {
        // pvesm rewrites one shared file: storage changes never overlap.
        vec!["pve.storage.cfg".to_owned()]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<StorageState>, BoxError> {
        let sections = cx.fact(&StorageCfg).await?;
        let Some(sections) = sections.as_ref() else {
            return Err(phoenix_core::Unsupported::boxed(
                "/etc/pve/storage.cfg does not exist, so this is not a Proxmox VE host; storages are left alone",
            ));
        };
        Ok(sections
            .iter()
            .find(|s| s.id == self.spec.id)
            .map(|s| StorageState {
                kind: s.kind.clone(),
                target: s.options.get(self.target_key()).cloned(),
                content: s.content().into_iter().map(str::to_owned).collect(),
            }))
    }

    fn diff(&self, observed: Option<&StorageState>) -> Delta {
        let kind = self.spec.kind.as_str();
        let Some(state) = observed else {
            let mut cmd = Cmd::write("pvesm", ["add", kind, self.spec.id.as_str()])
                .arg(format!("--{}", self.target_key()))
                .arg(self.target())
                .arg("--content")
                .arg(self.content());
            if self.spec.kind == StorageKind::Dir {
                // The directory is a ZFS mountpoint: Proxmox must not write into it unmounted.
                cmd = cmd.arg("--is_mountpoint").arg("yes");
            }
            return Delta::none()
                .field(FieldChange::new("type", None, Some(kind.into())))
                .field(FieldChange::new(
                    self.target_key(),
                    None,
                    Some(self.target().into()),
                ))
                .field(FieldChange::new(
                    "content",
                    None,
                    Some(self.content().into()),
                ))
                .run(cmd);
        };
        let mut delta = Delta::none();
        if state.kind != kind {
            return delta.diagnostic(Diagnostic::error(format!(
                "storage {} is of type {} on the host but {kind} in the config; Phoenix never changes a storage's type \
                 (remove it with pvesm remove by hand, or change the config)",
                self.spec.id, state.kind
            )));
        }
        if state.target.as_deref() != Some(self.target().as_str()) {
            delta = delta.diagnostic(Diagnostic::error(format!(
                "storage {} points at {} {} on the host but the config's dataset is at {}; Phoenix will not repoint it",
                self.spec.id,
                self.target_key(),
                state.target.as_deref().unwrap_or("(unset)"),
                self.target()
            )));
        }
        if state.content != self.spec.content {
            let before: Vec<&str> = state.content.iter().map(String::as_str).collect();
            delta = delta
                .field(FieldChange::new(
                    "content",
                    Some(before.join(",").into()),
                    Some(self.content().into()),
                ))
                .run(Cmd::write(
                    "pvesm",
                    ["set", self.spec.id.as_str(), "--content", &self.content()],
                ));
        }
        delta
    }
}
