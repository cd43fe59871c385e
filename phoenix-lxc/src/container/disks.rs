//! The disk part of `Container::diff`: the root disk grows in place (a shrink is an error), and
//! mount points are matched by their path inside the container, never by `mpN` index: a missing
//! one is added, a volume grows, a bind mount whose source changed is pointed at the new one.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::{Cmd, Delta, Diagnostic, FieldChange};
use phoenix_pve::{MountPoint, parse_mount_point};

use super::{Container, ContainerState};
use crate::config::Mount;

/// GiB in bytes.
const GIB: u64 = 1 << 30;

/// A mount's size in whole GiB, rounded up (`size=` is in bytes once read).
fn size_gib(mount: &MountPoint) -> Option<u64> {
    mount.size.map(|bytes| bytes.div_ceil(GIB))
}

/// The `--mpN VALUE` arguments that the mount additions and changes of one diff collect into
/// one `pct set`.
#[derive(Default)]
struct MountSet {
    args: Vec<String>,
}

impl MountSet {
    fn add(&mut self, key: &str, mount: &Mount) {
        self.args.push(format!("--{key}"));
        self.args.push(Container::mount_value(mount));
    }
}

/// A mount point of the conf: its `mpN` key, its value as written, and the value read.
struct Existing {
    key: String,
    value: String,
    mount: MountPoint,
}

impl Container {
    /// `pct resize ... rootfs` when the config asks for a larger root disk; an error for a
    /// smaller one, which Proxmox cannot do.
    pub(super) fn diff_rootfs(&self, state: &ContainerState, delta: Delta) -> (Delta, bool) {
        let Some(size) = state
            .keys
            .get("rootfs")
            .and_then(|value| parse_mount_point(value).ok())
            .and_then(|mount| size_gib(&mount))
        else {
            return (delta, false);
        };
        let wanted = self.spec.rootfs_gb;
        let delta = if wanted > size {
            delta
                .field(FieldChange::new(
                    "rootfs size",
                    Some(format!("{size}G").into()),
                    Some(format!("{wanted}G").into()),
                ))
                .run(self.resize("rootfs", wanted))
        } else if wanted < size {
            delta.diagnostic(Diagnostic::error(format!(
                "the root disk is {size}G and the config asks for {wanted}G; Proxmox cannot shrink a container's disk"
            )))
        } else {
            delta
        };
        (delta, false)
    }

    /// `pct resize ID KEY NG`.
    fn resize(&self, key: &str, gib: u64) -> Cmd {
        Cmd::write(
            "pct",
            [
                "resize".to_owned(),
                self.spec.id.to_string(),
                key.to_owned(),
                format!("{gib}G"),
            ],
        )
    }

    /// Every mount of the config, matched by its path inside the container: one `pct set` for
    /// the new and changed ones, a resize for a grown volume. A new or moved bind mount takes
    /// effect at the next start.
    pub(super) fn diff_mounts(&self, state: &ContainerState, delta: Delta) -> (Delta, bool) {
        let existing: BTreeMap<String, Existing> = state
            .keys
            .iter()
            .filter(|(key, _)| is_mp_key(key))
            .filter_map(|(key, value)| {
                let mount = parse_mount_point(value).ok()?;
                let existing = Existing {
                    key: key.clone(),
                    value: value.clone(),
                    mount,
                };
                Some((existing.mount.path.clone()?, existing))
            })
            .collect();
        let mut used: BTreeSet<String> = state
            .keys
            .keys()
            .filter(|key| key.starts_with("mp"))
            .cloned()
            .collect();
        let mut set = MountSet::default();
        let mut delta = delta;
        let mut restart = false;
        for mount in &self.spec.mounts {
            let (next, needs) = match existing.get(mount.path()) {
                None => self.diff_new_mount(mount, &mut used, &mut set, delta),
                Some(current) => self.diff_existing_mount(mount, current, &mut set, delta),
            };
            delta = next;
            restart |= needs;
        }
        if !set.args.is_empty() {
            let cmd = Cmd::write("pct", ["set", &self.spec.id.to_string()]);
            delta = delta.run(set.args.into_iter().fold(cmd, Cmd::arg));
        }
        (delta, restart)
    }

    /// A mount the container lacks goes into the first free `mpN`; with none free, it is an
    /// error.
    fn diff_new_mount(
        &self,
        mount: &Mount,
        used: &mut BTreeSet<String>,
        set: &mut MountSet,
        delta: Delta,
    ) -> (Delta, bool) {
        let Some(key) = (0..256)
            .map(|n| format!("mp{n}"))
            .find(|key| !used.contains(key))
        else {
            // Never reuse a taken slot: that would replace another mount.
            let delta = delta.diagnostic(Diagnostic::error(format!(
                "no free mount slot for {}: mp0 to mp255 are all in use",
                mount.path()
            )));
            return (delta, false);
        };
        used.insert(key.clone());
        let mut delta = delta;
        let mut restart = false;
        if let Mount::Bind { host_path, .. } = mount {
            delta = delta.run(Cmd::write("mkdir", ["-p", host_path.as_str()]));
            restart = true;
        }
        delta = delta.field(FieldChange::new(
            format!("mount {}", mount.path()),
            None,
            Some(Container::mount_value(mount).into()),
        ));
        set.add(&key, mount);
        (delta, restart)
    }

    /// A mount at the same path: a volume on the wanted storage grows when the config asks for
    /// more (one elsewhere is an error: volumes are never re-created); a bind mount follows a new
    /// host path.
    fn diff_existing_mount(
        &self,
        mount: &Mount,
        current: &Existing,
        set: &mut MountSet,
        delta: Delta,
    ) -> (Delta, bool) {
        let source = current.mount.volume.as_str();
        match mount {
            Mount::Volume {
                storage, size_gb, ..
            } => {
                if !source.starts_with(&format!("{storage}:")) {
                    let delta = delta.diagnostic(Diagnostic::error(format!(
                        "the mount at {} is {source}, not a volume on storage {storage}; Phoenix never re-creates volumes (move the data by hand or change the config)",
                        mount.path()
                    )));
                    return (delta, false);
                }
                match size_gib(&current.mount) {
                    Some(size) if *size_gb > size => {
                        let delta = delta
                            .field(FieldChange::new(
                                format!("mount {} size", mount.path()),
                                Some(format!("{size}G").into()),
                                Some(format!("{size_gb}G").into()),
                            ))
                            .run(self.resize(&current.key, *size_gb));
                        (delta, false)
                    }
                    _ => (delta, false),
                }
            }
            Mount::Bind { host_path, .. } if source != host_path => {
                let delta = delta
                    .field(FieldChange::new(
                        format!("mount {}", mount.path()),
                        Some(current.value.clone().into()),
                        Some(Container::mount_value(mount).into()),
                    ))
                    .run(Cmd::write("mkdir", ["-p", host_path.as_str()]));
                set.add(&current.key, mount);
                (delta, true)
            }
            Mount::Bind { .. } => (delta, false),
        }
    }
}

/// Whether `key` is `mpN`.
fn is_mp_key(key: &str) -> bool {
    key.strip_prefix("mp")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}
