//! The tool state the emulators keep in the simulated node's namespaces, and its JSON shapes.
//!
//! Operators and tests write these by hand in a state file's `tools` object, so every field has
//! a default and unknown fields are errors.
//!
//! `"disks"`: the block devices, keyed by the path Phoenix uses (normally `/dev/disk/by-id/...`):
//!
//! ```json
//! {"/dev/disk/by-id/nvme-Example_SSD_S1": {
//!     "size": 2147483648, "model": "Example SSD", "serial": "S1",
//!     "transport": "nvme", "kernel_name": "nvme0n1", "devnum": "259:0",
//!     "signatures": [{"type": "ext4", "offset": "0x438", "uuid": "…", "label": null}],
//!     "partitions": [],
//!     "wear": {"percentage_used": 3, "available_spare": 100, "data_units_written": 123,
//!              "media_errors": 0, "power_on_hours": 1000}}}
//! ```
//!
//! `transport` is `nvme`, `sata`, `sas`, `usb`, `virtio` or null; `kernel_name` is lsblk's NAME
//! (and `/dev/<kernel_name>` is accepted as the disk's path); `devnum` is `MAJ:MIN` and `ptuuid`
//! the partition table's UUID, both for blkid; a signature may also carry `magic`
//! (the bytes wipefs prints when erasing, such as `"53 ef"`) and `uuid_sub`. `partitions` lists
//! `{"number", "start", "sectors", "name", "uuid", "type_guid", "signatures"}` (512-byte
//! sectors); `zpool create` fills it in as ZFS does (part 1 holding the pool, part 9 reserved).
//!
//! `"smartctl"`: `{"installed": true}`; absent or false, `smartctl` is not installed.
//!
//! `"zfs"`: the pools and datasets, values in the form `zfs get -p` prints (bytes for sizes):
//!
//! ```json
//! {"version": "2.3",
//!  "pools": {"tank": {"guid": 123, "health": "ONLINE",
//!                     "vdevs": [{"kind": "mirror", "disks": ["/dev/disk/by-id/a-part1", "/dev/disk/by-id/b-part1"]}],
//!                     "properties": {"ashift": "12", "autotrim": "on"},
//!                     "size": 2013265920, "allocated": 9924608, "fragmentation": 0}},
//!  "datasets": {"tank": {"type": "filesystem", "properties": {"compression": "lz4"}},
//!               "tank/vm": {"type": "volume", "properties": {"volsize": "67108864"},
//!                           "referenced": 57344}}}
//! ```
//!
//! `version` (`2.1` or `2.3`, default `2.3` as in Proxmox VE 9) picks the texts, exit codes and
//! defaults that differ between OpenZFS releases. A vdev's `kind` is `disk`, `mirror`, `raidz1`,
//! `raidz2` or `raidz3`; `whole_disk` (default true) says ZFS partitioned the disk itself, which
//! is how `zpool status` without `-P` shortens `…-part1` to the disk's name. `size`,
//! `allocated` and `fragmentation` override the figures the emulator would derive from the disks
//! and datasets, so a test can reproduce a captured listing exactly. A dataset's `properties` are
//! its local ones; `referenced` (default 98304 for a filesystem, 57344 for a volume) and
//! optionally `used` and `available` set the space figures (otherwise derived); `creation`, `createtxg` and `guid` default to values
//! derived from the name. A pool's root dataset exists even when `datasets` omits it.
//!
//! `"pvesm"`: the filesystems that are not ZFS datasets, for `pvesm status` of `dir` storages,
//! by mount point, as `df` reports them in bytes:
//! `{"filesystems": {"/": {"total": 42949672960, "used": 4294967296, "avail": 36507222016}}}`.
//! A `dir` storage on a mounted dataset takes its figures from the `zfs` namespace instead.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The namespace of the disks.
pub(crate) const DISKS: &str = "disks";
/// The namespace of smartctl's installation state.
pub(crate) const SMARTCTL: &str = "smartctl";
/// The namespace of the pools and datasets.
pub(crate) const ZFS: &str = "zfs";
/// The namespace of `pvesm`'s filesystem figures.
pub(crate) const PVESM: &str = "pvesm";

/// All disks by path.
pub(crate) type Disks = BTreeMap<String, Disk>;

/// One block device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Disk {
    pub(crate) size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kernel_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) devnum: Option<String>,
    /// The partition table's UUID (blkid's `PTUUID`), when the disk has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ptuuid: Option<String>,
    pub(crate) signatures: Vec<SignatureState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) partitions: Vec<Partition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wear: Option<WearState>,
}

/// One on-disk signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignatureState {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Hex, as wipefs prints it: `0x438`.
    pub(crate) offset: String,
    #[serde(default)]
    pub(crate) uuid: Option<String>,
    #[serde(default)]
    pub(crate) label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) uuid_sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) magic: Option<String>,
}

/// One GPT partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Partition {
    pub(crate) number: u32,
    /// First sector (512 bytes).
    pub(crate) start: u64,
    /// Length in sectors.
    pub(crate) sectors: u64,
    pub(crate) name: String,
    pub(crate) uuid: String,
    pub(crate) type_guid: String,
    pub(crate) signatures: Vec<SignatureState>,
}

/// A disk's wear figures, as smartctl would report them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct WearState {
    pub(crate) percentage_used: Option<u8>,
    pub(crate) available_spare: Option<u8>,
    pub(crate) data_units_written: Option<u64>,
    pub(crate) media_errors: Option<u64>,
    pub(crate) power_on_hours: Option<u64>,
}

/// Whether smartctl is installed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SmartctlState {
    pub(crate) installed: bool,
}

/// The OpenZFS release whose behaviour is emulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ZfsVersion {
    /// OpenZFS 2.1 (Debian 12's own zfsutils-linux).
    #[serde(rename = "2.1")]
    V2_1,
    /// OpenZFS 2.3 (Proxmox VE 9).
    #[default]
    #[serde(rename = "2.3")]
    V2_3,
}

/// Pools and datasets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ZfsState {
    pub(crate) version: ZfsVersion,
    pub(crate) pools: BTreeMap<String, PoolState>,
    pub(crate) datasets: BTreeMap<String, DatasetState>,
    /// The snapshots, by full name (`dataset@snapshot`); only their names are kept.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) snapshots: BTreeSet<String>,
}

/// One pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PoolState {
    pub(crate) guid: u64,
    pub(crate) health: String,
    pub(crate) vdevs: Vec<VdevState>,
    /// Local pool properties (`ashift`, `autotrim`, ...).
    pub(crate) properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allocated: Option<u64>,
    pub(crate) fragmentation: u64,
}

impl Default for PoolState {
    fn default() -> PoolState {
        PoolState {
            guid: 0,
            health: "ONLINE".to_owned(),
            vdevs: Vec::new(),
            properties: BTreeMap::new(),
            size: None,
            allocated: None,
            fragmentation: 0,
        }
    }
}

/// One top-level vdev.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct VdevState {
    pub(crate) kind: String,
    pub(crate) disks: Vec<String>,
    pub(crate) whole_disk: bool,
}

impl Default for VdevState {
    fn default() -> VdevState {
        VdevState {
            kind: "disk".to_owned(),
            disks: Vec::new(),
            whole_disk: true,
        }
    }
}

/// Whether a dataset is a filesystem or a volume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DatasetType {
    /// A filesystem.
    #[default]
    Filesystem,
    /// A zvol.
    Volume,
}

impl DatasetType {
    /// The word `zfs` prints.
    pub(crate) fn word(self) -> &'static str {
        match self {
            DatasetType::Filesystem => "filesystem",
            DatasetType::Volume => "volume",
        }
    }
}

/// One dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DatasetState {
    #[serde(rename = "type")]
    pub(crate) kind: DatasetType,
    /// Local properties, in `-p` form.
    pub(crate) properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) referenced: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) available: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) creation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) createtxg: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) guid: Option<u64>,
}

/// `pvesm`'s view of filesystems that are not ZFS datasets, by mount point.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PvesmState {
    pub(crate) filesystems: BTreeMap<String, FilesystemUsage>,
}

/// A mounted filesystem's size, as `df` reports it (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct FilesystemUsage {
    pub(crate) total: u64,
    pub(crate) used: u64,
    pub(crate) avail: u64,
}

/// A stable hash for the identifiers the emulators derive from names, so that GUIDs and UUIDs
/// are the same on every run.
pub(crate) use phoenix_core::sim::stable_hash;

/// A UUID-shaped string derived from `parts`.
pub(crate) fn stable_uuid(parts: &[&str]) -> String {
    let high = stable_hash(parts);
    let low = stable_hash(&[parts, &["low"]].concat());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes_load() {
        let disks: Disks = serde_json::from_value(serde_json::json!({
            "/dev/disk/by-id/nvme-Example_SSD_S1": {
                "size": 2147483648_u64, "model": "Example SSD", "serial": "S1",
                "transport": "nvme", "kernel_name": "nvme0n1",
                "signatures": [{"type": "ext4", "offset": "0x438", "uuid": "u", "label": null}],
                "wear": {"percentage_used": 3, "available_spare": 100, "data_units_written": 123,
                         "media_errors": 0, "power_on_hours": 1000}
            }
        }))
        .expect("documented disks shape");
        assert_eq!(disks.len(), 1);
        let zfs: ZfsState = serde_json::from_value(serde_json::json!({
            "version": "2.1",
            "pools": {"tank": {"guid": 123, "vdevs": [{"kind": "mirror", "disks": ["/a-part1", "/b-part1"]}],
                               "properties": {"ashift": "12"}}},
            "datasets": {"tank": {"type": "filesystem", "properties": {"compression": "lz4"}},
                         "tank/vm": {"type": "volume", "properties": {"volsize": "67108864"}, "referenced": 57344}}
        }))
        .expect("documented zfs shape");
        assert_eq!(zfs.version, ZfsVersion::V2_1);
        assert_eq!(zfs.pools["tank"].health, "ONLINE");
        assert!(zfs.pools["tank"].vdevs[0].whole_disk);
        assert!(serde_json::from_value::<ZfsState>(serde_json::json!({"pool": {}})).is_err());
    }

    #[test]
    fn stable_identifiers() {
        assert_eq!(stable_hash(&["a", "b"]), stable_hash(&["a", "b"]));
        assert_ne!(stable_hash(&["ab"]), stable_hash(&["a", "b"]));
        assert_eq!(stable_uuid(&["x"]).len(), 36);
    }
}
