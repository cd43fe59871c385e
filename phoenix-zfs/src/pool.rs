//! `zfs.pool`: a pool is created only when it is missing (with `autotrim=on` and the upstream
//! create-time defaults), its properties converge in place, and a layout that differs from the
//! config is reported as drift that Phoenix never "fixes".

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId,
};
use serde::Serialize;

use crate::config::{Layout, PoolSpec};
use crate::disk::Disk;
use crate::facts::{Pools, same_disk};
use crate::parse::VdevKind;

/// The kind: `zfs.pool`.
pub const KIND: &str = "zfs.pool";

/// Pool properties Phoenix converges, with their desired values.
pub(crate) const MANAGED: &[(&str, &str)] = &[("autotrim", "on")];

/// Root dataset properties set when the pool is created (the upstream defaults).
pub(crate) const CREATE_DATASET_DEFAULTS: &[(&str, &str)] =
    &[("compression", "lz4"), ("atime", "off")];

/// A pool.
#[derive(Debug, Clone)]
pub struct Pool {
    pub(crate) spec: PoolSpec,
}

/// A pool as observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolState {
    /// The layout, when Phoenix can name it.
    pub layout: Option<String>,
    /// The member devices, as `zpool list -v -P` prints them.
    pub disks: Vec<String>,
    /// Health (`ONLINE`, `DEGRADED`, ...).
    pub health: String,
    /// Managed properties and their values.
    pub props: BTreeMap<String, String>,
}

impl Pool {
    /// The id of the pool called `name`.
    pub fn id_for(name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), name)
    }

    fn create_cmd(&self) -> Cmd {
        let mut cmd = Cmd::write("zpool", ["create", "-o", "ashift=12"]);
        for (k, v) in MANAGED {
            cmd = cmd.arg("-o").arg(format!("{k}={v}"));
        }
        for (k, v) in CREATE_DATASET_DEFAULTS {
            cmd = cmd.arg("-O").arg(format!("{k}={v}"));
        }
        cmd = cmd.arg(self.spec.name.clone());
        if let Some(keyword) = self.spec.layout.keyword() {
            cmd = cmd.arg(keyword);
        }
        for disk in &self.spec.disks {
            cmd = cmd.arg(disk.clone());
        }
        cmd
    }
}

fn layout_name(kind: &VdevKind) -> Option<Layout> {
    match kind {
        VdevKind::Mirror => Some(Layout::Mirror),
        VdevKind::Raidz(parity) => Some(Layout::Raidz(*parity)),
        VdevKind::Disk => Some(Layout::Stripe),
        _ => None,
    }
}

#[async_trait]
impl Resource for Pool {
    type State = PoolState;

    fn id(&self) -> ResourceId {
        Pool::id_for(&self.spec.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.spec.disks.iter().map(|d| Disk::id_for(d)).collect()
    }

    fn provides(&self) -> Vec<Capability> {
        vec![Capability::named("zfs.pool", &self.spec.name)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PoolState>, BoxError> {
        let pools = cx.fact(&Pools).await?;
        let Some(found) = pools.layout(&self.spec.name) else {
            return Ok(None);
        };
        // Every data vdev must be of one kind for Phoenix to name the layout; one mirror vdev or
        // any number of plain disks.
        let kinds: BTreeSet<Option<Layout>> =
            found.vdevs.iter().map(|v| layout_name(&v.kind)).collect();
        let layout = match (kinds.len(), kinds.iter().next()) {
            (1, Some(Some(Layout::Stripe))) => Some(Layout::Stripe.to_string()),
            (1, Some(Some(kind))) if found.vdevs.len() == 1 => Some(kind.to_string()),
            (1, Some(Some(kind))) => Some(format!("{} x {kind}", found.vdevs.len())),
            _ => None,
        };
        let props = pools
            .props
            .get(&self.spec.name)
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(PoolState {
            layout,
            disks: found
                .vdevs
                .iter()
                .flat_map(|v| v.disks.iter().cloned())
                .collect(),
            health: found.health.clone(),
            props,
        }))
    }

    fn diff(&self, observed: Option<&PoolState>) -> Delta {
        let Some(state) = observed else {
            let mut delta = Delta::none()
                .field(FieldChange::new(
                    "layout",
                    None,
                    Some(self.spec.layout.to_string().into()),
                ))
                .field(FieldChange::new(
                    "disks",
                    None,
                    Some(self.spec.disks.clone().into()),
                ));
            for (k, v) in MANAGED.iter().chain(CREATE_DATASET_DEFAULTS) {
                delta = delta.field(FieldChange::new(*k, None, Some((*v).into())));
            }
            return delta.run(self.create_cmd());
        };
        let mut delta = Delta::none();
        let wanted = self.spec.layout.to_string();
        let same_members = state.disks.len() == self.spec.disks.len()
            && self
                .spec
                .disks
                .iter()
                .all(|d| state.disks.iter().any(|m| same_disk(m, d)));
        if state.layout.as_deref() != Some(wanted.as_str()) || !same_members {
            delta = delta.diagnostic(Diagnostic::error(format!(
                "layout drift that Phoenix will not change: the config says {wanted} of [{}], the host has {} of [{}]; \
                 rebuilding a pool destroys its data, so do it by hand or change the config",
                self.spec.disks.join(", "),
                state.layout.as_deref().unwrap_or("a mixed layout"),
                state.disks.join(", ")
            )));
        }
        if state.health != "ONLINE" {
            delta = delta.diagnostic(Diagnostic::warning(format!(
                "pool health is {}",
                state.health
            )));
        }
        let mut set = Vec::new();
        for (k, v) in MANAGED {
            let current = state.props.get(*k);
            if current.map(String::as_str) != Some(*v) {
                delta = delta.field(FieldChange::new(
                    *k,
                    current.map(|c| c.clone().into()),
                    Some((*v).into()),
                ));
                set.push(format!("{k}={v}"));
            }
        }
        for assignment in set {
            delta = delta.run(Cmd::write(
                "zpool",
                ["set", assignment.as_str(), self.spec.name.as_str()],
            ));
        }
        delta
    }
}
