//! A container's filesystem: its root volume, its volume mount points and its bind mounts, as
//! one tree seen from inside the container.
//!
//! Volumes keep their files in the `pct` namespace (`state.rs`); a bind mount's files are the
//! node's own files under the host path. Commands that packages provide exist as executable
//! files (mode 0755) on the root volume. Directories exist when listed in a volume's `dirs` or
//! when anything lies under them; inside a bind mount only the second holds (the node's files
//! have no empty directories). The root filesystem is merged-/usr as on Ubuntu 24.04: `/bin`,
//! `/sbin` and `/lib` are `/usr/bin`, `/usr/sbin` and `/usr/lib`.

use phoenix_core::sim::SimFile;
use phoenix_pve::{Section, VolumeSource, parse_mount_point};

use super::ctx::Ctx;
use super::state::{Content, DirAttrs, VolumeState};
use crate::parse::{ProbeTarget, ProbedFile};

/// `PATH` inside the container, as `pct exec` passes the host's.
pub(crate) const PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Normalises a path lexically (no working directory but `/`, no symbolic links), as the
/// simulated node keys its files.
pub(crate) use phoenix_core::sim::normalize_path as normalize;

/// The merged-/usr spelling of a root-filesystem path.
fn merged_usr(path: &str) -> String {
    for (alias, real) in [
        ("/bin", "/usr/bin"),
        ("/sbin", "/usr/sbin"),
        ("/lib", "/usr/lib"),
    ] {
        if path == alias {
            return real.to_owned();
        }
        if let Some(rest) = path
            .strip_prefix(alias)
            .filter(|rest| rest.starts_with('/'))
        {
            return format!("{real}{rest}");
        }
    }
    path.to_owned()
}

/// Where a path of the container lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    /// In a volume of the `pct` namespace; `root` marks the root filesystem.
    Volume { volid: String, root: bool },
    /// In the node's files, under this host directory.
    Host(String),
}

/// The mount table of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mounts {
    /// (path inside the container, backend), longest path first.
    entries: Vec<(String, Backend)>,
    /// The host devices passed in (`devN:` entries, and `lxc.mount.entry` binds of `/dev/...`
    /// files), which exist inside a running container at the same path.
    devices: Vec<String>,
}

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    File,
    Dir,
}

impl Mounts {
    /// The mounts of a container's current settings (`rootfs` and `mpN`).
    pub(crate) fn of(section: &Section) -> Mounts {
        let mut entries = Vec::new();
        for (key, value) in section.volume_keys() {
            let Ok(mount) = parse_mount_point(value) else {
                continue;
            };
            let path = if key == "rootfs" {
                "/".to_owned()
            } else {
                match &mount.path {
                    Some(path) => normalize(path),
                    None => continue,
                }
            };
            let backend = match mount.source() {
                VolumeSource::Storage { .. } => Backend::Volume {
                    volid: mount.volume.clone(),
                    root: key == "rootfs",
                },
                VolumeSource::Bind(host) => Backend::Host(normalize(&host)),
                _ => continue,
            };
            entries.push((path, backend));
        }
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Mounts {
            entries,
            devices: devices(section),
        }
    }

    /// Whether `path` is a device passed into the container.
    fn is_device(&self, path: &str) -> bool {
        let path = normalize(path);
        self.devices.contains(&path)
    }

    /// Every backend, once each.
    pub(crate) fn backends(&self) -> Vec<Backend> {
        let mut backends: Vec<Backend> = Vec::new();
        for (_, backend) in &self.entries {
            if !backends.contains(backend) {
                backends.push(backend.clone());
            }
        }
        backends
    }

    /// The backend of `path` and the path inside it (always absolute).
    pub(crate) fn resolve(&self, path: &str) -> Option<(&Backend, String)> {
        let path = normalize(path);
        for (mount, backend) in &self.entries {
            let inner = if mount == "/" {
                Some(path.clone())
            } else if path == *mount {
                Some("/".to_owned())
            } else {
                path.strip_prefix(mount.as_str())
                    .filter(|rest| rest.starts_with('/'))
                    .map(str::to_owned)
            };
            if let Some(inner) = inner {
                let inner = match backend {
                    Backend::Volume { root: true, .. } => merged_usr(&inner),
                    _ => inner,
                };
                return Some((backend, inner));
            }
        }
        None
    }

    /// Whether `path` is a mount point (so a directory).
    fn is_mount_point(&self, path: &str) -> bool {
        let path = normalize(path);
        self.entries.iter().any(|(mount, _)| *mount == path)
    }
}

/// The devices of a container's settings: `devN: [path=]/dev/X[,gid=..]` (pve-container
/// creates each at start) and `lxc.mount.entry: /dev/X dev/X none bind,...,create=file`.
fn devices(section: &Section) -> Vec<String> {
    let mut devices = Vec::new();
    for (key, value) in &section.keys {
        let is_dev = key
            .strip_prefix("dev")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_dev {
            continue;
        }
        let first = value.split(',').next().unwrap_or_default();
        let path = first.strip_prefix("path=").unwrap_or(first);
        if path.starts_with("/dev/") {
            devices.push(normalize(path));
        }
    }
    for entry in section.lxc_values("lxc.mount.entry") {
        let mut fields = entry.split_whitespace();
        let (Some(source), Some(target)) = (fields.next(), fields.next()) else {
            continue;
        };
        if source.starts_with("/dev/") && entry.contains("bind") {
            devices.push(normalize(&format!("/{target}")));
        }
    }
    devices
}

/// The node path of `inner` under the host directory `host`.
fn host_path(host: &str, inner: &str) -> String {
    normalize(&format!("{host}/{inner}"))
}

/// Whether `path` lies strictly under `dir`.
fn under(path: &str, dir: &str) -> bool {
    dir == "/" && path != "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The executable that a package provides at `path`, if any.
fn command_file(content: &Content, path: &str) -> Option<SimFile> {
    content
        .packages
        .values()
        .any(|package| package.commands.iter().any(|command| command == path))
        .then(|| SimFile::new("", 0o755, "root:root"))
}

/// What is at `path` inside a volume's content.
fn content_node(content: &Content, path: &str, root: bool) -> Option<Node> {
    if content.files.contains_key(path) || (root && command_file(content, path).is_some()) {
        return Some(Node::File);
    }
    let has_below = path == "/"
        || content.dirs.contains(path)
        || content.files.keys().any(|file| under(file, path))
        || content.dirs.iter().any(|dir| under(dir, path))
        || (root
            && content
                .packages
                .values()
                .any(|package| package.commands.iter().any(|command| under(command, path))));
    has_below.then_some(Node::Dir)
}

impl Ctx<'_, '_> {
    /// The content of volume `volid` (opened by the caller, see `overlay.rs`).
    fn volume_content(&self, volid: &str) -> Option<&Content> {
        self.content(volid)
    }

    /// The volume `volid` as stored (size, snapshots), created empty if the state lost it.
    pub(crate) fn volume_mut(&mut self, volid: &str) -> &mut VolumeState {
        self.state.volumes.entry(volid.to_owned()).or_default()
    }

    /// The file at `path` inside the container.
    pub(crate) fn guest_read(&self, mounts: &Mounts, path: &str) -> Option<SimFile> {
        if mounts.is_device(path) {
            // A character device: `test -e` finds it, reading it gives nothing here.
            return Some(SimFile::new("", 0o666, "root:root"));
        }
        let (backend, inner) = mounts.resolve(path)?;
        match backend {
            Backend::Volume { volid, root } => {
                let content = self.volume_content(volid)?;
                content
                    .files
                    .get(&inner)
                    .cloned()
                    .or_else(|| root.then(|| command_file(content, &inner)).flatten())
            }
            Backend::Host(host) => self.read(&host_path(host, &inner)),
        }
    }

    /// What is at `path` inside the container.
    pub(crate) fn guest_node(&self, mounts: &Mounts, path: &str) -> Option<Node> {
        if mounts.is_mount_point(path) {
            return Some(Node::Dir);
        }
        if mounts.is_device(path) {
            return Some(Node::File);
        }
        let (backend, inner) = mounts.resolve(path)?;
        match backend {
            Backend::Volume { volid, root } => {
                content_node(self.volume_content(volid)?, &inner, *root)
            }
            Backend::Host(host) => {
                let path = host_path(host, &inner);
                if self.read(&path).is_some() {
                    Some(Node::File)
                } else if self.is_dir(&path) {
                    Some(Node::Dir)
                } else {
                    None
                }
            }
        }
    }

    /// Writes a file inside the container (its directory must exist: the caller checks).
    pub(crate) fn guest_write(&mut self, mounts: &Mounts, path: &str, file: SimFile) {
        let Some((backend, inner)) = mounts.resolve(path) else {
            return;
        };
        match backend.clone() {
            Backend::Volume { volid, .. } => {
                self.content_mut(&volid).files.insert(inner, file);
            }
            Backend::Host(host) => self.write(&host_path(&host, &inner), file),
        }
    }

    /// Removes a file inside the container; whether there was one.
    pub(crate) fn guest_remove(&mut self, mounts: &Mounts, path: &str) -> bool {
        let Some((backend, inner)) = mounts.resolve(path) else {
            return false;
        };
        match backend.clone() {
            Backend::Volume { volid, .. } => {
                self.content_mut(&volid).files.remove(&inner).is_some()
            }
            Backend::Host(host) => {
                let path = host_path(&host, &inner);
                let existed = self.read(&path).is_some();
                self.remove(&path);
                existed
            }
        }
    }

    /// Creates a directory inside the container (its parent must exist: the caller checks).
    /// In a bind mount this has no lasting effect (see the module documentation).
    pub(crate) fn guest_mkdir(&mut self, mounts: &Mounts, path: &str) {
        let Some((backend, inner)) = mounts.resolve(path) else {
            return;
        };
        if let Backend::Volume { volid, .. } = backend.clone()
            && inner != "/"
        {
            self.content_mut(&volid).dirs.insert(inner);
        }
    }

    /// The mode and owner of the directory at `path` inside the container (`0755 root:root`
    /// unless `chmod`/`chown` changed them; a bind mount's directories are the node's).
    pub(crate) fn guest_dir_attrs(&self, mounts: &Mounts, path: &str) -> DirAttrs {
        match mounts.resolve(path) {
            Some((Backend::Volume { volid, .. }, inner)) => self
                .volume_content(volid)
                .and_then(|content| content.dir_attrs.get(&inner).cloned())
                .unwrap_or_default(),
            _ => DirAttrs::default(),
        }
    }

    /// Sets the mode or the owner of the directory at `path` inside the container.
    pub(crate) fn set_guest_dir_attrs(
        &mut self,
        mounts: &Mounts,
        path: &str,
        mode: Option<u32>,
        owner: Option<&str>,
    ) {
        let Some((Backend::Volume { volid, .. }, inner)) = mounts
            .resolve(path)
            .map(|(backend, inner)| (backend.clone(), inner))
        else {
            return;
        };
        let dir_attrs = &mut self.content_mut(&volid).dir_attrs;
        let attrs = dir_attrs.entry(inner.clone()).or_default();
        if let Some(mode) = mode {
            attrs.mode = mode;
        }
        if let Some(owner) = owner {
            owner.clone_into(&mut attrs.owner);
        }
        // The default (`mkdir`'s) is kept as no entry: a directory chmod'ed to 0755 and one
        // only made are the same directory (`overlay::diff` keeps a return to the default).
        if *attrs == DirAttrs::default() {
            dir_attrs.remove(&inner);
        }
    }

    /// The root volume's content (packages, services, locales).
    pub(crate) fn root_content(&self, mounts: &Mounts) -> Option<&Content> {
        match mounts.resolve("/")? {
            (Backend::Volume { volid, .. }, _) => self.volume_content(volid),
            _ => None,
        }
    }

    /// The root volume's content, for changing.
    pub(crate) fn root_content_mut(&mut self, mounts: &Mounts) -> Option<&mut Content> {
        match mounts.resolve("/")? {
            (Backend::Volume { volid, .. }, _) => {
                let volid = volid.clone();
                Some(self.content_mut(&volid))
            }
            _ => None,
        }
    }

    /// Where `command -v NAME` finds NAME (an executable file in `PATH`, or NAME itself when it
    /// has a `/`).
    pub(crate) fn guest_command(&self, mounts: &Mounts, name: &str) -> Option<String> {
        let executable = |path: &str| {
            self.guest_node(mounts, path) == Some(Node::File)
                && self
                    .guest_read(mounts, path)
                    .is_some_and(|file| file.mode & 0o111 != 0)
        };
        if name.contains('/') {
            return executable(name).then(|| name.to_owned());
        }
        PATH.iter()
            .map(|dir| format!("{dir}/{name}"))
            .find(|path| executable(path))
    }
}

/// The probe's view of a container.
pub(crate) struct GuestView<'c, 'x, 'a> {
    pub(crate) ctx: &'c Ctx<'x, 'a>,
    pub(crate) mounts: &'c Mounts,
}

impl ProbeTarget for GuestView<'_, '_, '_> {
    fn command_path(&self, name: &str) -> Option<String> {
        self.ctx.guest_command(self.mounts, name)
    }

    fn package_version(&self, name: &str) -> Option<String> {
        self.ctx
            .root_content(self.mounts)?
            .packages
            .get(name)
            .map(|package| package.version.clone())
    }

    fn file(&self, path: &str) -> Option<ProbedFile> {
        match self.ctx.guest_node(self.mounts, path)? {
            Node::File => self
                .ctx
                .guest_read(self.mounts, path)
                .map(|file| ProbedFile::Regular(file.content)),
            Node::Dir => Some(ProbedFile::Other),
        }
    }

    fn service_state(&self, unit: &str) -> Option<String> {
        let content = self.ctx.root_content(self.mounts)?;
        self.ctx.guest_command(self.mounts, "systemctl")?;
        Some(service_state(content, unit))
    }
}

/// What `systemctl is-active UNIT` prints for a unit (a name without a suffix is a service).
pub(crate) fn service_state(content: &Content, unit: &str) -> String {
    let unit = if unit.contains('.') {
        unit.to_owned()
    } else {
        format!("{unit}.service")
    };
    content
        .services
        .get(&unit)
        .cloned()
        .unwrap_or_else(|| "inactive".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pve::parse_conf;

    #[test]
    fn paths_resolve_to_the_longest_mount() {
        let conf = parse_conf(
            "rootfs: local-zfs:subvol-101-disk-0,size=8G\nmp0: local-zfs:subvol-101-disk-1,mp=/data,size=8G\nmp1: /tank/models,mp=/data/models\n",
        )
        .expect("conf");
        let mounts = Mounts::of(&conf.main);
        let (backend, inner) = mounts.resolve("/data/models/a.bin").expect("resolves");
        assert_eq!(*backend, Backend::Host("/tank/models".to_owned()));
        assert_eq!(inner, "/a.bin");
        let (backend, inner) = mounts.resolve("/data/x/../y").expect("resolves");
        assert_eq!(
            *backend,
            Backend::Volume {
                volid: "local-zfs:subvol-101-disk-1".to_owned(),
                root: false
            }
        );
        assert_eq!(inner, "/y");
        let (_, inner) = mounts.resolve("/bin/sh").expect("root");
        assert_eq!(inner, "/usr/bin/sh");
        assert_eq!(normalize("//a/./b/"), "/a/b");
    }
}
