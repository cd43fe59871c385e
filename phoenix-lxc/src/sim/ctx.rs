//! `Ctx`: one `pct` command's view of the node — its files (config files, storage.cfg, template
//! archives, bind-mount sources) and the `pct` namespace — with the checks every subcommand
//! shares.
//!
//! Changes are staged and committed only when the command succeeds, so a failed command leaves
//! the node as it was (the real tool cleans up after itself: a failed create removes its volumes
//! and its config).

use std::collections::BTreeMap;

use phoenix_core::sim::{SimFile, SimOutput, SimSys};
use phoenix_pve::{Conf, Section, StorageSection, format_conf, parse_conf, parse_storage_cfg};

use super::args::{Failure, Printed, Step};
use super::state::{Content, PCT, PctState, VolumeState};

/// Where Proxmox keeps container configs (`/etc/pve/lxc` links to the local node's directory).
pub(crate) const CONF_DIR: &str = "/etc/pve/lxc";

/// Proxmox's storage definitions.
pub(crate) const STORAGE_CFG: &str = "/etc/pve/storage.cfg";

/// The path of container `id`'s config.
pub(crate) fn conf_path(id: u32) -> String {
    format!("{CONF_DIR}/{id}.conf")
}

/// A stable hash, for identifiers derived from names (MACs, fingerprints, pids).
pub(crate) use phoenix_core::sim::stable_hash;

/// One command's view of the node.
pub(crate) struct Ctx<'x, 'a> {
    sys: &'x mut SimSys<'a>,
    pub(crate) state: PctState,
    original: PctState,
    staged: BTreeMap<String, Option<SimFile>>,
    /// The volumes opened by this command, materialised (`overlay.rs`).
    pub(super) effective: BTreeMap<String, Content>,
    pub(crate) node: String,
}

impl<'x, 'a> Ctx<'x, 'a> {
    /// Loads the `pct` namespace.
    pub(crate) fn new(sys: &'x mut SimSys<'a>) -> Ctx<'x, 'a> {
        let state: PctState = sys.load_cached(PCT);
        let node = state.node.clone().unwrap_or_else(|| {
            sys.read("/etc/hostname")
                .and_then(|file| {
                    file.content
                        .lines()
                        .next()
                        .map(|line| line.trim().split('.').next().unwrap_or_default().to_owned())
                })
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "pve".to_owned())
        });
        Ctx {
            original: state.clone(),
            state,
            sys,
            staged: BTreeMap::new(),
            effective: BTreeMap::new(),
            node,
        }
    }

    /// Ends the command: on success, commits the staged files and the state and reports whether
    /// anything changed; on failure, changes nothing.
    pub(crate) fn finish(self, result: Step<Printed>) -> SimOutput {
        match result {
            Err(failure) => failure.into_output(),
            Ok(printed) => {
                let mutated = self.commit();
                SimOutput::new(0, printed.stdout, printed.stderr, mutated)
            }
        }
    }

    /// Commits the staged files and the state; whether anything changed.
    pub(crate) fn commit(mut self) -> bool {
        self.close_volumes();
        let mut mutated = false;
        for (path, file) in self.staged {
            match file {
                Some(file) => {
                    if self.sys.read(&path) != Some(&file) {
                        self.sys.write(&path, file);
                        mutated = true;
                    }
                }
                None => mutated |= self.sys.remove(&path).is_some(),
            }
        }
        if self.state != self.original {
            self.sys.store_cached(PCT, self.state);
            mutated = true;
        }
        mutated
    }

    /// The node's view, for an emulator of another provider running in a container
    /// (`guest_sys.rs`).
    pub(crate) fn sys(&mut self) -> &mut SimSys<'a> {
        self.sys
    }

    /// The node file at `path` (staged changes included).
    pub(crate) fn read(&self, path: &str) -> Option<SimFile> {
        match self.staged.get(path) {
            Some(staged) => staged.clone(),
            None => self.sys.read(path).cloned(),
        }
    }

    /// Writes a node file (staged until the command succeeds).
    pub(crate) fn write(&mut self, path: &str, file: SimFile) {
        self.staged.insert(path.to_owned(), Some(file));
    }

    /// Removes a node file (staged).
    pub(crate) fn remove(&mut self, path: &str) {
        self.staged.insert(path.to_owned(), None);
    }

    /// The node files under `dir`, staged changes included, sorted.
    pub(crate) fn list(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let mut paths: Vec<String> = self
            .sys
            .list(dir)
            .into_iter()
            .filter(|path| !matches!(self.staged.get(path), Some(None)))
            .collect();
        for (path, file) in &self.staged {
            if file.is_some() && path.starts_with(&prefix) && !paths.contains(path) {
                paths.push(path.clone());
            }
        }
        paths.sort();
        paths
    }

    /// Whether `path` is a directory of the node (some file lies under it).
    pub(crate) fn is_dir(&self, path: &str) -> bool {
        !self.list(path).is_empty() || path == "/"
    }

    /// The ids of all containers (their config files), sorted.
    pub(crate) fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .list(CONF_DIR)
            .iter()
            .filter_map(|path| path.strip_prefix(&format!("{CONF_DIR}/")))
            .filter_map(|name| name.strip_suffix(".conf"))
            .filter_map(|id| id.parse::<u32>().ok())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Container `id`'s config, if it exists.
    pub(crate) fn conf_opt(&self, id: u32) -> Step<Option<Conf>> {
        let Some(file) = self.read(&conf_path(id)) else {
            return Ok(None);
        };
        parse_conf(&file.content).map(Some).map_err(|err| {
            Failure::die(format!("phoenix sim: cannot read {}: {err}", conf_path(id)))
        })
    }

    /// Container `id`'s config; a missing one fails as Proxmox does
    /// (`pct-error.config-missing.1.txt`).
    pub(crate) fn conf(&self, id: u32) -> Step<Conf> {
        self.conf_opt(id)?.ok_or_else(|| {
            Failure::die(format!(
                "Configuration file 'nodes/{}/lxc/{id}.conf' does not exist",
                self.node
            ))
        })
    }

    /// Writes container `id`'s config in Proxmox's format (pmxcfs shows it as 0640
    /// root:www-data).
    pub(crate) fn write_conf(&mut self, id: u32, conf: &Conf) {
        self.write(
            &conf_path(id),
            SimFile::new(format_conf(conf), 0o640, "root:www-data"),
        );
    }

    /// Fails when another process holds the config lock (`config_lock_held`), as flock does
    /// after its 10 s timeout (`pct-error.lock-timeout.1.txt`).
    pub(crate) fn flock(&self, id: u32) -> Step<()> {
        if self
            .state
            .containers
            .get(&id)
            .is_some_and(|container| container.config_lock_held)
        {
            return Err(Failure {
                status: super::args::DIE,
                stdout: String::new(),
                stderr: format!(
                    "trying to acquire lock...\ncan't lock file '/run/lock/lxc/pve-config-{id}.lock' - got timeout\n"
                ),
            });
        }
        Ok(())
    }

    /// `check_vmid_unused`: the id must not belong to a container or a VM.
    pub(crate) fn vmid_unused(&self, id: u32) -> Step<()> {
        if self.read(&conf_path(id)).is_some() {
            return Err(Failure::die(format!(
                "CT {id} already exists on node '{}'",
                self.node
            )));
        }
        if self
            .read(&format!("/etc/pve/qemu-server/{id}.conf"))
            .is_some()
        {
            return Err(Failure::die(format!(
                "VM {id} already exists on node '{}'",
                self.node
            )));
        }
        Ok(())
    }

    /// The storages of storage.cfg (none when it is missing), read with the one parser of the
    /// format; a file that does not parse fails the command.
    pub(crate) fn storages(&self) -> Step<Vec<StorageSection>> {
        match self.read(STORAGE_CFG) {
            Some(file) => parse_storage_cfg(&file.content)
                .map_err(|err| Failure::die(format!("phoenix sim: {STORAGE_CFG}: {err}"))),
            None => Ok(Vec::new()),
        }
    }

    /// Storage `id`, or Proxmox's error for a missing one.
    pub(crate) fn storage(&self, id: &str) -> Step<StorageSection> {
        self.storages()?
            .into_iter()
            .find(|storage| storage.id == id)
            .ok_or_else(|| Failure::die(format!("storage '{id}' does not exist")))
    }

    /// The volume `volid` (`storage:name`) of the `pct` namespace.
    pub(crate) fn volume(&self, volid: &str) -> Option<&VolumeState> {
        self.state.volumes.get(volid).map(|volume| &**volume)
    }

    /// Allocates a new volume on a zfspool storage as the plugin names it
    /// (`subvol-<vmid>-disk-<n>`, the smallest free n) and returns its volume id. `argv` names
    /// the command in the refusal for other storage types.
    pub(crate) fn alloc_volume(
        &mut self,
        storage: &StorageSection,
        id: u32,
        size: u64,
        content: Content,
        argv: &[String],
    ) -> Step<String> {
        if storage.kind != "zfspool" {
            return Err(Failure::not_emulated(argv));
        }
        let volid = (0..)
            .map(|n| format!("{}:subvol-{id}-disk-{n}", storage.id))
            .find(|volid| !self.state.volumes.contains_key(volid))
            .expect("invariant: some disk number is free");
        self.state.volumes.insert(
            volid.clone(),
            VolumeState {
                size,
                content,
                snapshots: BTreeMap::new(),
            }
            .into(),
        );
        Ok(volid)
    }

    /// A MAC address as Proxmox generates one (prefix BC:24:11), derived from `parts` and the
    /// clock so that it is the same on every run.
    pub(crate) fn mac(&self, parts: &[&str]) -> String {
        let now = self.state.now().to_string();
        let mut all: Vec<&str> = parts.to_vec();
        all.push(&now);
        let hash = stable_hash(&all);
        format!(
            "BC:24:11:{:02X}:{:02X}:{:02X}",
            (hash >> 16) & 0xff,
            (hash >> 8) & 0xff,
            hash & 0xff
        )
    }
}

/// `check_lock`: a config-level lock refuses the command (`CT is locked (<lock>)`).
pub(crate) fn check_lock(conf: &Conf) -> Step<()> {
    match conf.main.get("lock") {
        Some(lock) => Err(Failure::die(format!("CT is locked ({lock})"))),
        None => Ok(()),
    }
}

/// The volume ids a section uses (rootfs and mount points on storages), rootfs first.
pub(crate) fn section_volumes(section: &Section) -> Vec<(String, String)> {
    section
        .volume_keys()
        .into_iter()
        .filter_map(|(key, value)| {
            let mount = phoenix_pve::parse_mount_point(value).ok()?;
            match mount.source() {
                phoenix_pve::VolumeSource::Storage { .. } => {
                    Some((key.to_owned(), mount.volume.clone()))
                }
                _ => None,
            }
        })
        .collect()
}
