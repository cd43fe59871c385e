//! `zfs.dataset`: created with its properties; an existing one gets one `zfs set` for exactly the
//! properties whose effective value differs (compared semantically), and creation-only
//! properties that differ are a plan-time error.

use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId,
};
use serde::Serialize;

use crate::config::DatasetSpec;
use crate::facts::Datasets;
use crate::parse::Prop;
use crate::pool::Pool;
use crate::props;

/// The kind: `zfs.dataset`.
pub const KIND: &str = "zfs.dataset";

/// The properties every dataset read includes, besides those the config names: what creation-only
/// checks and mountpoints need.
pub(crate) const ALWAYS_READ: &[&str] = &[
    "type",
    "mountpoint",
    "volblocksize",
    "encryption",
    "casesensitivity",
    "utf8only",
    "normalization",
];

/// A dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub(crate) spec: DatasetSpec,
    /// The property list of the shared `zfs get` (the same for every dataset, so it is one fact).
    pub(crate) read: Arc<str>,
}

/// A dataset's properties as observed: value and source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetState {
    /// Property name to value and source (`local`, `default`, `inherited from X`).
    pub props: std::collections::BTreeMap<String, (String, String)>,
}

impl Dataset {
    /// The id of the dataset `pool/name`.
    pub fn id_for(full_name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), full_name)
    }
}

#[async_trait]
impl Resource for Dataset {
    type State = DatasetState;

    fn id(&self) -> ResourceId {
        Dataset::id_for(&self.spec.full_name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = vec![Pool::id_for(&self.spec.pool)];
        // A nested dataset comes after its parent when the config declares the parent.
        if let Some((parent, _)) = self.spec.full_name.rsplit_once('/')
            && parent != self.spec.pool
        {
            deps.push(Dataset::id_for(parent));
        }
        deps
    }

    fn provides(&self) -> Vec<Capability> {
        vec![
            Capability::path(self.spec.mountpoint()),
            Capability::named("zfs.dataset", &self.spec.full_name),
        ]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<DatasetState>, BoxError> {
        let all = cx
            .fact(&Datasets {
                properties: Arc::clone(&self.read),
            })
            .await?;
        Ok(all.get(&self.spec.full_name).map(|props| DatasetState {
            props: props
                .iter()
                .map(|(k, Prop { value, source })| (k.clone(), (value.clone(), source.to_string())))
                .collect(),
        }))
    }

    fn diff(&self, observed: Option<&DatasetState>) -> Delta {
        let Some(state) = observed else {
            let mut cmd = Cmd::write("zfs", ["create"]);
            if self.spec.full_name.matches('/').count() > 1 {
                cmd = cmd.arg("-p");
            }
            let mut delta = Delta::none();
            for (name, value) in &self.spec.properties {
                // A volume is made with `-V`: `zfs create -o volsize=...` makes a filesystem
                // and refuses the property (the readback matrix's `fs-create volsize` row).
                cmd = if name == "volsize" {
                    cmd.arg("-V").arg(value.clone())
                } else {
                    cmd.arg("-o").arg(format!("{name}={value}"))
                };
                delta = delta.field(FieldChange::new(
                    name.as_str(),
                    None,
                    Some(value.clone().into()),
                ));
            }
            return delta.run(cmd.arg(self.spec.full_name.clone()));
        };
        let mut delta = Delta::none();
        let mut assignments = Vec::new();
        for (name, desired) in &self.spec.properties {
            let Some(property) = props::lookup(name) else {
                continue;
            };
            let (value, source) = state
                .props
                .get(name)
                .map_or(("-", "-"), |(v, s)| (v.as_str(), s.as_str()));
            if value == "-" {
                delta = delta.diagnostic(Diagnostic::error(format!(
                    "property {name} does not apply to this dataset (zfs reports \"-\"); remove it from the config"
                )));
                continue;
            }
            if props::satisfied(property, value, desired) {
                continue;
            }
            if property.create_only() {
                delta = delta.diagnostic(Diagnostic::error(format!(
                    "{name} can only be set when a dataset is created: the host has {}, the config asks for {desired}; \
                     recreate the dataset by hand (it destroys its data) or change the config",
                    props::display(property, value)
                )));
                continue;
            }
            delta = delta.field(
                FieldChange::new(
                    name.as_str(),
                    Some(props::display(property, value).into()),
                    Some(desired.clone().into()),
                )
                .note(format!("source: {source}")),
            );
            assignments.push(format!("{name}={desired}"));
        }
        if !assignments.is_empty() {
            let mut cmd = Cmd::write("zfs", ["set"]);
            for assignment in assignments {
                cmd = cmd.arg(assignment);
            }
            delta = delta.run(cmd.arg(self.spec.full_name.clone()));
        }
        delta
    }
}
