//! The tool state the `pct` emulator keeps in the simulated node's `pct` namespace, and its JSON
//! shape.
//!
//! Operators and tests write it by hand in a state file's `tools` object, so every field has a
//! default and unknown fields are errors. The containers' configurations are not in here: they
//! are the node's files `/etc/pve/lxc/<vmid>.conf`, written in Proxmox's exact format, so the
//! same files are what Phoenix reads. This namespace holds what a config file does not: runtime
//! status, the volumes with their files and snapshots, the templates and the apt repository.
//!
//! ```json
//! "pct": {
//!   "node": "pve",
//!   "clock": 1767225600,
//!   "cpus": 16,
//!   "containers": {"101": {"status": "running", "started": 1767225000}},
//!   "volumes": {
//!     "local-zfs:subvol-101-disk-0": {
//!       "size": 8589934592,
//!       "content": {
//!         "base": "builtin:ubuntu-24.04-standard",
//!         "files": {"/etc/hostname": {"content": "vllm-embed\n", "mode": "0644", "owner": "root:root"}},
//!         "removed": ["/etc/machine-id"],
//!         "dirs": ["/opt/app"],
//!         "packages": {"curl": {"version": "8.5.0-2ubuntu10.6", "commands": ["/usr/bin/curl"]}},
//!         "services": {"ssh.socket": "active"},
//!         "apt_lists": true,
//!         "locales": ["C.UTF-8", "en_US.UTF-8"]
//!       },
//!       "snapshots": {"final-form": {"order": 1, "content": {"files": {}}}}
//!     }
//!   },
//!   "templates": {
//!     "/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst": {
//!       "ostype": "debian", "arch": "amd64", "size": 519987200, "rate": 91,
//!       "files": {"/etc/os-release": "ID=debian\n"},
//!       "packages": {"bash": {"version": "5.2.15-2+b7", "commands": ["bash"]}},
//!       "services": {"ssh.service": "active"},
//!       "locales": ["C.UTF-8"],
//!       "dirs": ["/etc", "/opt", "/root", "/srv", "/tmp"],
//!       "ssh_keys": ["rsa", "dsa", "ecdsa", "ed25519"]
//!     }
//!   },
//!   "apt_repository": {
//!     "curl": {"version": "8.5.0-2ubuntu10.6", "commands": ["curl"], "depends": ["libcurl4t64"],
//!              "size": 226900, "installed_size": 534, "archive": "noble-updates/main"}
//!   }
//! }
//! ```
//!
//! - `node`: the node name in error texts (`nodes/<node>/lxc/<vmid>.conf`); default: the first
//!   label of the node's `/etc/hostname`, else `pve`.
//! - `clock`: the emulated wall clock in unix seconds (snapshot times, uptimes); default
//!   1767225600 (2026-01-01 00:00 UTC). Every command that changes something advances it: 1 s,
//!   or 3 s for `create` and `clone`.
//! - `cpus`: the host's CPU count, shown as `cpus` by `pct status --verbose` for a container
//!   without `cores`; default 8.
//! - `containers`: runtime state by id; a container with a config file and no entry is stopped.
//!   `status` is `running` or `stopped`; `started` is the clock at start (for `uptime`);
//!   `config_lock_held: true` makes every command that takes the config lock fail with the
//!   lock-timeout text, as when another process holds it.
//! - `volumes`: the storage volumes by volume id (`<storage>:subvol-<vmid>-disk-<n>`, as the
//!   zfspool plugin names them). `size` is in bytes (the refquota). `content` is the volume's
//!   file tree, with paths from the volume's root: `files` (the node's file shape), `dirs`
//!   (directories that exist without files), and on a root volume `packages` (dpkg's installed
//!   packages, each with the absolute paths of the commands it provides, which exist as
//!   executable files), `services` (systemd unit → `systemctl is-active` state), `apt_lists`
//!   (whether `apt-get update` has run: a fresh template has no package lists, so `apt-get
//!   install` finds only what is installed) and `locales` (generated locales). `snapshots` are
//!   the volume's snapshots with their creation `order` (a zfspool only rolls back to the most
//!   recent one) and a copy of the content. A root volume's content is stored copy-on-write
//!   (`overlay.rs`): `base` names the template it came from (a key of `templates`, or
//!   `builtin:ubuntu-24.04-standard`), the other fields hold only what was added or changed, and
//!   `removed` lists the template's files that were deleted. A content without `base` is complete.
//! - `templates`: what each template archive contains, by the path (or storage volume id, or
//!   file name) `pct create` is given. A declared template wins; otherwise a template whose file
//!   name starts with `ubuntu-24.04-standard_` gets the built-in Ubuntu 24.04 description
//!   (`defaults.rs`). Command names without a `/` are in `/usr/bin`. `size` (bytes) and `rate`
//!   (MiB/s, default 150) are tar's `Total bytes read: <size> (…MiB, <rate>MiB/s)`. `ssh_keys`
//!   are the host key types `pct create` generates when the template has `/etc/ssh`, in the
//!   order printed (default rsa, ed25519, ecdsa: current pve-container, in one Perl hash order;
//!   older releases also made dsa). `dirs` are the (empty) directories of the archive; default:
//!   the usual top-level and `/usr`, `/var` directories of a Debian or Ubuntu root.
//! - `apt_repository`: the packages `apt-get install` can find, on top of the built-in noble
//!   catalogue (`defaults.rs`); a declared package wins. `depends` are installed first; `size`
//!   (bytes to download), `installed_size` (kB), `archive` (the pocket/component of `Get:` lines,
//!   default `noble/main`) and `arch` (default `amd64`) only shape the output.
//!
//! Bind mounts (`mpN: /host/path,mp=/x`) are not volumes: inside the container their paths are
//! the node's own files under the host path.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use phoenix_core::sim::SimFile;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The namespace of the `pct` emulator.
pub(crate) const PCT: &str = "pct";

/// The default clock: 2026-01-01 00:00:00 UTC.
pub(crate) const DEFAULT_CLOCK: i64 = 1_767_225_600;

/// The default host CPU count.
pub(crate) const DEFAULT_CPUS: u32 = 8;

/// Everything the `pct` emulator keeps.
///
/// The node keeps it deserialised between commands (`SimSys::load_cached`), and each command
/// works on a clone that it commits only when it succeeds, so cloning and comparing must not
/// cost the whole state: its maps, and each volume (which holds a file tree), are [`Shared`]. A
/// command that changes one container copies the map it changes, not what the map holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PctState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) clock: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpus: Option<u32>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) containers: Shared<BTreeMap<u32, ContainerState>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) volumes: Shared<BTreeMap<String, Shared<VolumeState>>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) templates: Shared<BTreeMap<String, TemplateSpec>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(crate) apt_repository: Shared<BTreeMap<String, PackageSpec>>,
}

/// Whether a shared map is empty, for `skip_serializing_if`.
fn is_empty<K, V>(map: &Shared<BTreeMap<K, V>>) -> bool {
    map.is_empty()
}

impl PctState {
    /// The emulated wall clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.unwrap_or(DEFAULT_CLOCK)
    }

    /// Advances the clock by `seconds` and returns the new time.
    pub(crate) fn tick(&mut self, seconds: i64) -> i64 {
        let now = self.now() + seconds;
        self.clock = Some(now);
        now
    }

    /// Whether container `id` is running.
    pub(crate) fn is_running(&self, id: u32) -> bool {
        self.containers
            .get(&id)
            .is_some_and(|container| container.status == RunStatus::Running)
    }
}

/// A value shared by the clones of the state that hold it: cloning is a reference count,
/// comparing two clones of one value compares pointers, and the first change through `DerefMut`
/// copies the value for the clone that changes it (`Arc::make_mut`). In JSON it is the value.
#[derive(Debug, Default)]
pub(crate) struct Shared<T>(Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Shared<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Shared<T> {
        Shared(Arc::new(value))
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shared<T>, D::Error> {
        T::deserialize(deserializer).map(Shared::from)
    }
}

/// Running or stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunStatus {
    /// Running.
    Running,
    /// Stopped.
    #[default]
    Stopped,
}

impl RunStatus {
    /// The word `pct` prints.
    pub(crate) fn word(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Stopped => "stopped",
        }
    }
}

/// One container's runtime state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ContainerState {
    pub(crate) status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) config_lock_held: bool,
}

/// One storage volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct VolumeState {
    pub(crate) size: u64,
    pub(crate) content: Content,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) snapshots: BTreeMap<String, VolumeSnapshot>,
}

impl VolumeState {
    /// The order number the next snapshot gets.
    pub(crate) fn next_order(&self) -> u64 {
        self.snapshots
            .values()
            .map(|snapshot| snapshot.order)
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// A volume snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct VolumeSnapshot {
    pub(crate) order: u64,
    pub(crate) content: Content,
}

/// A file tree, with dpkg's and systemd's view when it is a root filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Content {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) files: BTreeMap<String, SimFile>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) removed: BTreeSet<String>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) dirs: BTreeSet<String>,
    /// The mode and owner `chmod`/`chown` gave a directory (any other is `0755 root:root`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) dir_attrs: BTreeMap<String, DirAttrs>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) packages: BTreeMap<String, InstalledPackage>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) services: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) apt_lists: bool,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) locales: BTreeSet<String>,
}

/// A directory's mode and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DirAttrs {
    pub(crate) mode: u32,
    pub(crate) owner: String,
}

impl Default for DirAttrs {
    fn default() -> DirAttrs {
        DirAttrs {
            mode: 0o755,
            owner: "root:root".to_owned(),
        }
    }
}

/// An installed package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct InstalledPackage {
    pub(crate) version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) commands: Vec<String>,
}

/// What a template archive contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TemplateSpec {
    pub(crate) ostype: String,
    pub(crate) arch: String,
    pub(crate) size: u64,
    pub(crate) rate: u64,
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) packages: BTreeMap<String, PackageSpec>,
    pub(crate) services: BTreeMap<String, String>,
    pub(crate) locales: Vec<String>,
    pub(crate) dirs: Vec<String>,
    pub(crate) ssh_keys: Vec<String>,
}

/// The directories of a Debian or Ubuntu root filesystem.
pub(crate) fn default_dirs() -> Vec<String> {
    [
        "/boot",
        "/dev",
        "/etc",
        "/etc/apt",
        // apt >= 2.4 ships both (Ubuntu 22.04+, Debian 12).
        "/etc/apt/keyrings",
        "/etc/apt/sources.list.d",
        "/etc/default",
        "/etc/systemd",
        "/etc/systemd/system",
        "/home",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/srv",
        "/sys",
        "/tmp",
        "/usr/bin",
        "/usr/lib",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/usr/sbin",
        "/usr/share",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/tmp",
    ]
    .iter()
    .map(|dir| (*dir).to_owned())
    .collect()
}

/// The SSH host key types current pve-container generates.
pub(crate) fn default_ssh_keys() -> Vec<String> {
    ["rsa", "ed25519", "ecdsa"]
        .iter()
        .map(|kind| (*kind).to_owned())
        .collect()
}

impl Default for TemplateSpec {
    fn default() -> TemplateSpec {
        TemplateSpec {
            ostype: "ubuntu".to_owned(),
            arch: "amd64".to_owned(),
            size: 0,
            rate: 150,
            files: BTreeMap::new(),
            packages: BTreeMap::new(),
            services: BTreeMap::new(),
            locales: Vec::new(),
            dirs: default_dirs(),
            ssh_keys: default_ssh_keys(),
        }
    }
}

/// A package of a template or of the apt repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PackageSpec {
    pub(crate) version: String,
    pub(crate) commands: Vec<String>,
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) services: BTreeMap<String, String>,
    pub(crate) depends: Vec<String>,
    pub(crate) size: u64,
    pub(crate) installed_size: u64,
    pub(crate) archive: String,
    pub(crate) arch: String,
    /// A third-party flat repository (its URL) the package comes from; empty for Ubuntu's
    /// archive. Such a package is found only when a list in `/etc/apt/sources.list.d/` names
    /// the repository.
    pub(crate) repository: String,
}

impl Default for PackageSpec {
    fn default() -> PackageSpec {
        PackageSpec {
            version: String::new(),
            commands: Vec::new(),
            files: BTreeMap::new(),
            services: BTreeMap::new(),
            depends: Vec::new(),
            size: 100_000,
            installed_size: 300,
            archive: "noble/main".to_owned(),
            arch: "amd64".to_owned(),
            repository: String::new(),
        }
    }
}

impl PackageSpec {
    /// The absolute paths of the commands this package provides (`curl` is `/usr/bin/curl`).
    pub(crate) fn command_paths(&self) -> Vec<String> {
        self.commands
            .iter()
            .map(|command| {
                if command.starts_with('/') {
                    command.clone()
                } else {
                    format!("/usr/bin/{command}")
                }
            })
            .collect()
    }

    /// The package as dpkg records it once installed.
    pub(crate) fn installed(&self) -> InstalledPackage {
        InstalledPackage {
            version: self.version.clone(),
            commands: self.command_paths(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shape_loads() {
        let text = include_str!("state.rs");
        let start = text.find("//! \"pct\": {").expect("documented example");
        let json: String = text[start..]
            .lines()
            .take_while(|line| line.starts_with("//!") && !line.starts_with("//! ```"))
            .map(|line| line.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        let json = format!("{{{json}}}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("example is JSON");
        let state: PctState =
            serde_json::from_value(value["pct"].clone()).expect("example fits the types");
        assert_eq!(state.node.as_deref(), Some("pve"));
        assert!(state.is_running(101));
        assert_eq!(
            state.volumes["local-zfs:subvol-101-disk-0"].snapshots["final-form"].order,
            1
        );
        assert_eq!(
            state.apt_repository["curl"].archive, "noble-updates/main",
            "declared fields override the defaults"
        );
        assert_eq!(state.apt_repository["curl"].arch, "amd64");
        assert!(serde_json::from_value::<PctState>(serde_json::json!({"container": {}})).is_err());

        // The node keeps this state deserialised between commands (`SimSys::load_cached`), which
        // is only right if a trip through JSON changes nothing, and a change always shows in JSON.
        let json = serde_json::to_value(&state).expect("serialises");
        let again: PctState = serde_json::from_value(json.clone()).expect("reloads");
        assert_eq!(again, state);
        assert_eq!(serde_json::to_value(&again).expect("serialises"), json);
        let mut changed = again.clone();
        changed
            .volumes
            .get_mut("local-zfs:subvol-101-disk-0")
            .expect("documented volume")
            .snapshots
            .clear();
        assert_ne!(changed, again, "a change copies the shared volume");
        assert_ne!(serde_json::to_value(&changed).expect("serialises"), json);
        assert_eq!(again, state, "the clone it was copied from is untouched");
    }

    #[test]
    fn command_paths_default_to_usr_bin() {
        let spec = PackageSpec {
            commands: vec!["curl".to_owned(), "/usr/sbin/locale-gen".to_owned()],
            ..PackageSpec::default()
        };
        assert_eq!(
            spec.command_paths(),
            ["/usr/bin/curl", "/usr/sbin/locale-gen"]
        );
    }
}
