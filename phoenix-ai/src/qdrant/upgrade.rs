//! The ZFS snapshot of Qdrant's data volume taken before an upgrade, and the guard that refuses
//! to move its storage path without `--allow-destroy`.
//!
//! The installed version is the one the live unit runs (`ExecStart=/opt/qdrant/VERSION/qdrant`),
//! read by the container's probe. When it differs from the config's, the plan shows the snapshot
//! `DATASET@phoenix-before-qdrant-NEW` and the unit waits for it; the dataset is the one behind
//! the container's volume at the storage path: its `mpN` in `/etc/pve/lxc/VMID.conf` names the
//! volume, and `/etc/pve/storage.cfg` the ZFS pool of its storage (both read by the node's one
//! probe). A storage that is not a ZFS pool, or a volume the conf lacks, fails the inspection, so
//! the upgrade (which depends on it) does not run. Only an upgrade costs a command of its own:
//! `zfs list` of the snapshot, so a second run after a failed one does not take it twice.

use async_trait::async_trait;
use phoenix_core::change::{Delta, Disruption, FieldChange, Step};
use phoenix_core::probe::observe;
use phoenix_core::resource::{Capability, Ctx, Resource};
use phoenix_core::scope::Scope;
use phoenix_core::{BoxError, Cmd, Kind, ResourceId};
use phoenix_pve::{STORAGE_CFG, parse_conf, parse_mount_point, parse_storage_cfg};
use serde::Serialize;

use super::files::{CONFIG_PATH, UNIT, storage_path_of, version_of_unit};
use crate::unit_file::UNIT_DIR;

/// The kind of [`UpgradeSnapshot`].
pub const SNAPSHOT_KIND: &str = "qdrant.upgrade_snapshot";

/// The kind of [`StorageGuard`].
pub const STORAGE_KIND: &str = "qdrant.storage";

/// The snapshot taken before Qdrant becomes `version`.
pub fn snapshot_name(version: &str) -> String {
    format!("phoenix-before-qdrant-{version}")
}

/// The snapshot of the data volume before an upgrade.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeSnapshot {
    node: Scope,
    scope: Scope,
    vmid: u32,
    version: String,
    storage_path: String,
}

/// What an upgrade needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UpgradeState {
    /// The version the live unit runs, if any.
    pub(crate) installed: Option<String>,
    /// The dataset of the data volume (only looked up for an upgrade).
    pub(crate) dataset: Option<String>,
    /// Whether the snapshot exists already (only looked up for an upgrade).
    pub(crate) taken: bool,
}

/// The path of a container's conf on the node.
fn conf_path(vmid: u32) -> String {
    format!("/etc/pve/lxc/{vmid}.conf")
}

/// The path of the live unit in the container.
fn unit_path() -> String {
    format!("{UNIT_DIR}/{UNIT}")
}

/// The ZFS dataset of the volume mounted at `mount_path` in a container conf, given storage.cfg.
pub(crate) fn dataset_of(
    conf: &str,
    storage_cfg: &str,
    mount_path: &str,
) -> Result<String, String> {
    let conf = parse_conf(conf).map_err(|e| format!("the container conf: {e}"))?;
    let volume = conf
        .main
        .keys
        .iter()
        .filter(|(key, _)| key.starts_with("mp"))
        .filter_map(|(_, value)| parse_mount_point(value).ok())
        .find(|mount| mount.path.as_deref() == Some(mount_path))
        .map(|mount| mount.volume)
        .ok_or_else(|| format!("the container has no volume mounted at {mount_path}"))?;
    let (storage, name) = volume
        .split_once(':')
        .ok_or_else(|| format!("the mount at {mount_path} is {volume}, not a storage volume"))?;
    let sections = parse_storage_cfg(storage_cfg).map_err(|e| format!("{STORAGE_CFG}: {e}"))?;
    let section = sections
        .iter()
        .find(|s| s.id == storage)
        .ok_or_else(|| format!("{STORAGE_CFG} has no storage {storage}"))?;
    if section.kind != "zfspool" {
        return Err(format!(
            "the volume {volume} is on {} storage {storage}, not a ZFS pool: Phoenix cannot snapshot it before the upgrade",
            section.kind
        ));
    }
    let pool = section
        .options
        .get("pool")
        .ok_or_else(|| format!("{STORAGE_CFG}: storage {storage} has no pool"))?;
    Ok(format!("{pool}/{name}"))
}

impl UpgradeSnapshot {
    /// The snapshot before container `vmid` (in `scope`) runs Qdrant `version`, whose data is at
    /// `storage_path`; the node's probe reads its conf and storage.cfg, the container's its unit.
    pub(crate) fn new(
        node: &Scope,
        scope: &Scope,
        vmid: u32,
        version: &str,
        storage_path: &str,
    ) -> UpgradeSnapshot {
        node.observe(|inventory| {
            inventory.paths.insert(conf_path(vmid));
            inventory.paths.insert(STORAGE_CFG.to_owned());
        });
        scope.observe(|inventory| {
            inventory.paths.insert(unit_path());
        });
        UpgradeSnapshot {
            node: node.clone(),
            scope: scope.clone(),
            vmid,
            version: version.to_owned(),
            storage_path: storage_path.to_owned(),
        }
    }
}

#[async_trait]
impl Resource for UpgradeSnapshot {
    type State = UpgradeState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(SNAPSHOT_KIND), self.scope.qualify("data"))
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<UpgradeState>, BoxError> {
        let guest = observe(cx, &self.scope).await?;
        let installed = guest
            .paths
            .get(&unit_path())
            .and_then(|f| f.content.as_deref())
            .and_then(version_of_unit)
            .map(str::to_owned);
        let upgrading = installed.as_ref().is_some_and(|v| *v != self.version);
        if !upgrading {
            return Ok(Some(UpgradeState {
                installed,
                dataset: None,
                taken: false,
            }));
        }
        let node = observe(cx, &self.node).await?;
        let text = |path: &str| {
            node.paths
                .get(path)
                .and_then(|f| f.content.clone())
                .ok_or_else(|| format!("{path} is missing on the node"))
        };
        let dataset = dataset_of(
            &text(&conf_path(self.vmid))?,
            &text(STORAGE_CFG)?,
            &self.storage_path,
        )
        .map_err(|e| format!("before upgrading Qdrant in container {}: {e}", self.vmid))?;
        let snapshot = format!("{dataset}@{}", snapshot_name(&self.version));
        let listed = cx
            .host()
            .run(&Cmd::read(
                "zfs",
                [
                    "list",
                    "-H",
                    "-o",
                    "name",
                    "-t",
                    "snapshot",
                    snapshot.as_str(),
                ],
            ))
            .await?;
        Ok(Some(UpgradeState {
            installed,
            dataset: Some(dataset),
            taken: listed.success(),
        }))
    }

    fn diff(&self, observed: Option<&UpgradeState>) -> Delta {
        let Some(UpgradeState {
            installed: Some(installed),
            dataset: Some(dataset),
            taken: false,
        }) = observed
        else {
            return Delta::none();
        };
        let snapshot = format!("{dataset}@{}", snapshot_name(&self.version));
        Delta::none()
            .field(
                FieldChange::new("snapshot", None, Some(snapshot.clone().into())).note(format!(
                    "before upgrading Qdrant {installed} -> {}",
                    self.version
                )),
            )
            .step(Step::run(
                self.node
                    .command(Cmd::write("zfs", ["snapshot", snapshot.as_str()])),
            ))
    }
}

/// Refuses a move of the storage path without `--allow-destroy`: Qdrant would start empty at
/// the new path, and the data at the old one would be orphaned.
#[derive(Debug, Clone)]
pub(crate) struct StorageGuard {
    scope: Scope,
    storage_path: String,
}

/// The storage path the live config.yaml names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StorageState {
    /// `storage.storage_path` of the live file, if it is Phoenix's.
    pub(crate) storage_path: Option<String>,
}

impl StorageGuard {
    /// The guard of `storage_path` in `scope`; the probe reads the live config.yaml.
    pub(crate) fn new(scope: &Scope, storage_path: &str) -> StorageGuard {
        scope.observe(|inventory| {
            inventory.paths.insert(CONFIG_PATH.to_owned());
        });
        StorageGuard {
            scope: scope.clone(),
            storage_path: storage_path.to_owned(),
        }
    }
}

#[async_trait]
impl Resource for StorageGuard {
    type State = StorageState;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(STORAGE_KIND),
            self.scope.qualify("storage_path"),
        )
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<StorageState>, BoxError> {
        let guest = observe(cx, &self.scope).await?;
        Ok(Some(StorageState {
            storage_path: guest
                .paths
                .get(CONFIG_PATH)
                .and_then(|f| f.content.as_deref())
                .and_then(storage_path_of)
                .map(str::to_owned),
        }))
    }

    fn diff(&self, observed: Option<&StorageState>) -> Delta {
        match observed.and_then(|s| s.storage_path.as_deref()) {
            Some(old) if old != self.storage_path => Delta::none()
                .field(FieldChange::new(
                    "storage_path",
                    Some(old.into()),
                    Some(self.storage_path.clone().into()),
                ))
                .disrupts(Disruption::DestroysData {
                    what: format!(
                        "Qdrant's collections at {old}: the server would start empty at {} (move the data first)",
                        self.storage_path
                    ),
                }),
            _ => Delta::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{render_delta, scopes};

    const CONF: &str = "arch: amd64\nhostname: qdrant\nmp0: shared-prod:subvol-952-disk-1,mp=/qdrant/storage,size=20G\nrootfs: local-zfs:subvol-952-disk-0,size=32G\n";
    const STORAGE: &str = "zfspool: shared-prod\n\tpool quickOS/shared-prod-data\n\tcontent rootdir,images\n\ndir: local\n\tpath /var/lib/vz\n\tcontent iso\n";

    #[test]
    fn issue_12_the_data_volume_is_found_through_the_conf_and_storage_cfg() {
        assert_eq!(
            dataset_of(CONF, STORAGE, "/qdrant/storage").as_deref(),
            Ok("quickOS/shared-prod-data/subvol-952-disk-1")
        );
        assert_eq!(
            dataset_of(CONF, STORAGE, "/elsewhere"),
            Err("the container has no volume mounted at /elsewhere".to_owned())
        );
        let on_dir = CONF.replace("shared-prod:", "local:");
        assert!(
            dataset_of(&on_dir, STORAGE, "/qdrant/storage")
                .is_err_and(|e| e.contains("not a ZFS pool")),
        );
    }

    #[test]
    fn issue_12_an_upgrade_snapshots_first_and_a_same_version_or_first_install_does_not() {
        let scopes = scopes();
        let node = scopes.node();
        let scope = scopes.get("ct:952").expect("guest");
        let snap = UpgradeSnapshot::new(&node, &scope, 952, "1.19.1", "/qdrant/storage");
        let state = |installed: Option<&str>, dataset: Option<&str>, taken| UpgradeState {
            installed: installed.map(str::to_owned),
            dataset: dataset.map(str::to_owned),
            taken,
        };
        let upgrade = state(
            Some("1.18.0"),
            Some("quickOS/shared-prod-data/subvol-952-disk-1"),
            false,
        );
        insta::assert_snapshot!(render_delta(&Resource::diff(&snap, Some(&upgrade))), @r#"
        snapshot: (none) -> "quickOS/shared-prod-data/subvol-952-disk-1@phoenix-before-qdrant-1.19.1" (before upgrading Qdrant 1.18.0 -> 1.19.1)
        $ zfs snapshot quickOS/shared-prod-data/subvol-952-disk-1@phoenix-before-qdrant-1.19.1
        "#);
        for quiet in [
            state(None, None, false),
            state(Some("1.19.1"), None, false),
            state(Some("1.18.0"), Some("x/y"), true),
        ] {
            assert!(Resource::diff(&snap, Some(&quiet)).is_empty(), "{quiet:?}");
        }
    }

    #[test]
    fn issue_12_moving_the_storage_path_destroys_data() {
        let scopes = scopes();
        let scope = scopes.get("ct:952").expect("guest");
        let guard = StorageGuard::new(&scope, "/qdrant/storage");
        let at = |p: Option<&str>| StorageState {
            storage_path: p.map(str::to_owned),
        };
        assert!(Resource::diff(&guard, Some(&at(None))).is_empty());
        assert!(Resource::diff(&guard, Some(&at(Some("/qdrant/storage")))).is_empty());
        let moved = Resource::diff(&guard, Some(&at(Some("/data/qdrant"))));
        insta::assert_snapshot!(render_delta(&moved), @r#"
        storage_path: "/data/qdrant" -> "/qdrant/storage"
        disruption: destroys data: Qdrant's collections at /data/qdrant: the server would start empty at /qdrant/storage (move the data first)
        "#);
    }
}
