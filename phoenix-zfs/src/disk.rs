//! `zfs.disk`: a disk a pool is built on. It checks that the disk exists and is blank before a
//! pool is created on it, plans a wipe (destroys data) only when asked, and reports wear.

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Cmd, Ctx, Delta, Diagnostic, Disruption, FieldChange, Kind, Resource, ResourceId,
    Scope,
};
use serde::Serialize;

use crate::facts::{DiskProbe, Pools, wear_argv, wear_of, wear_query};
use crate::parse::DiskWear;

/// The kind: `zfs.disk`.
pub const KIND: &str = "zfs.disk";

/// A disk the config assigns to a pool.
#[derive(Debug, Clone)]
pub struct Disk {
    pub(crate) path: String,
    pub(crate) pool: String,
    /// The node's scope: its one probe runs `smartctl` on every disk (see
    /// [`Disk::observe_wear`]).
    pub(crate) node: Scope,
}

/// What is known about the disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskState {
    /// The pool it belongs to, if any.
    pub member_of: Option<String>,
    /// Whether the pool the config assigns it to exists.
    pub pool_exists: bool,
    /// Whether the device exists (checked only when it belongs to no pool).
    pub present: bool,
    /// Signatures found on it (only when it belongs to no pool).
    pub signatures: Vec<String>,
    /// Wear figures, where smartctl is installed.
    pub wear: Option<DiskWear>,
    /// Why smartctl could not read the disk, when it is installed but failed.
    pub wear_error: Option<String>,
}

impl Disk {
    /// The disk at `path` of pool `pool`; its wear is read by the node's one probe.
    pub(crate) fn new(path: &str, pool: &str, node: &Scope) -> Disk {
        Disk::observe_wear(node, path);
        Disk {
            path: path.to_owned(),
            pool: pool.to_owned(),
            node: node.clone(),
        }
    }

    /// Adds `smartctl -j -a PATH` to the node's one probe, so the wear of every disk costs no
    /// command of its own.
    fn observe_wear(node: &Scope, path: &str) {
        node.observe(|inventory| {
            inventory
                .query(&wear_query(path), wear_argv(path))
                .expect("invariant: a disk path is one line without tabs, and its query name is derived from it");
        });
    }

    /// The id of the disk at `path`.
    pub fn id_for(path: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), path)
    }
}

#[async_trait]
impl Resource for Disk {
    type State = DiskState;

    fn id(&self) -> ResourceId {
        Disk::id_for(&self.path)
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<DiskState>, BoxError> {
        let pools = cx.fact(&Pools).await?;
        let probed = phoenix_core::probe::observe(cx, &self.node).await?;
        let (wear, wear_error) =
            match wear_of(&self.path, probed.queries.get(&wear_query(&self.path))) {
                None => (None, None),
                Some(Ok(wear)) => (Some(wear.clone()), None),
                Some(Err(error)) => (None, Some(error.clone())),
            };
        let member_of = pools.owner_of(&self.path).map(str::to_owned);
        let pool_exists = pools.layout(&self.pool).is_some();
        let (present, signatures) = if member_of.is_some() || pool_exists {
            (true, Vec::new())
        } else {
            match &*cx.fact(&DiskProbe(self.path.clone())).await? {
                None => (false, Vec::new()),
                Some(found) => (true, found.iter().map(|s| s.kind.clone()).collect()),
            }
        };
        Ok(Some(DiskState {
            member_of,
            pool_exists,
            present,
            signatures,
            wear,
            wear_error,
        }))
    }

    fn diff(&self, observed: Option<&DiskState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none();
        };
        let mut delta = Delta::none();
        if let Some(wear) = &state.wear {
            delta = delta.diagnostic(Diagnostic::note(format!("wear: {}", wear.summary())));
        }
        if let Some(error) = &state.wear_error {
            delta = delta.diagnostic(Diagnostic::warning(format!(
                "wear of {} unknown: smartctl failed: {error}",
                self.path
            )));
        }
        if let Some(owner) = &state.member_of {
            if owner != &self.pool {
                delta = delta.diagnostic(Diagnostic::error(format!(
                    "the disk belongs to pool {owner:?}, but the config assigns it to pool {:?}; Phoenix never moves disks between pools",
                    self.pool
                )));
            }
            return delta;
        }
        if state.pool_exists {
            // The pool exists without this disk: the pool reports the layout drift.
            return delta;
        }
        if !state.present {
            return delta.diagnostic(Diagnostic::error(format!(
                "the disk does not exist, so pool {:?} cannot be created; check the /dev/disk/by-id path",
                self.pool
            )));
        }
        if state.signatures.is_empty() {
            return delta;
        }
        let found = state.signatures.join(", ");
        delta
            .field(FieldChange::new(
                "signatures",
                Some(found.clone().into()),
                Some("(none)".into()),
            ))
            .run(Cmd::write("wipefs", ["-a", self.path.as_str()]))
            .disrupts(Disruption::DestroysData {
                what: format!(
                    "{} carries {found}; wiping it erases whatever is on it",
                    self.path
                ),
            })
    }
}
