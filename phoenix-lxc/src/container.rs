//! `lxc.container`: a container's existence and configuration. Created from a template or cloned
//! from its parent's snapshot; then exactly the differing settings get one `pct set`, mount points
//! are matched by their path inside the container (never by `mpN` index), raw `lxc.*` lines go
//! into the main section of the conf only, the root disk grows in place, and a running container
//! restarts once, at the end, only when a change needs it.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Delta, Diagnostic, Disruption, Ensure, FieldChange, Kind,
    Resource, ResourceId, Step,
};
use serde::Serialize;

use crate::config::{ContainerSpec, Mount, Origin};
use crate::facts::{Containers, conf_path};

/// The kind: `lxc.container`.
pub const KIND: &str = "lxc.container";

/// The lock domain of container `id` (a clone also holds its parent's).
pub(crate) fn lock(id: u32) -> String {
    format!("lxc:{id}")
}

/// A container.
#[derive(Debug, Clone)]
pub struct Container {
    pub(crate) spec: ContainerSpec,
    /// The parent's spec, for a clone (what the clone inherits).
    pub(crate) parent: Option<ContainerSpec>,
}

/// A container as observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerState {
    /// `running` or `stopped`.
    pub status: String,
    /// A lock left by Proxmox (`snapshot`, `backup`, ...).
    pub lock: Option<String>,
    /// The main section's keys, with pending values applied over them.
    pub keys: BTreeMap<String, String>,
    /// The main section's raw `lxc.*` entries.
    pub lxc: Vec<(String, String)>,
    /// Whether `[pve:pending]` holds changes that wait for a restart.
    pub pending: bool,
    /// The conf text as read.
    pub text: String,
}

impl Container {
    /// The id of container `id`.
    pub fn id_for(id: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id.to_string())
    }
}

/// Splits a Proxmox property string (`name=eth0,bridge=vmbr0,...`); a leading element without
/// `=` (a volume) is returned under the key `""`.
pub(crate) fn props(value: &str) -> BTreeMap<String, String> {
    value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (String::new(), p.to_owned()),
        })
        .collect()
}

fn bool_text(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

/// Parses `16G`, `512M`, `1T` into GiB (rounded up).
pub(crate) fn size_gib(text: &str) -> Option<u64> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let value: f64 = number.parse().ok()?;
    let gib = match unit {
        "T" => value * 1024.0,
        "G" | "" => value,
        "M" => value / 1024.0,
        "K" => value / 1024.0 / 1024.0,
        _ => return None,
    };
    Some(gib.ceil() as u64)
}

impl Container {
    fn startup(&self) -> Option<String> {
        match (self.spec.boot_order, self.spec.boot_delay) {
            (None, None) => None,
            (order, delay) => {
                let mut parts = Vec::new();
                if let Some(order) = order {
                    parts.push(format!("order={order}"));
                }
                if let Some(delay) = delay.filter(|d| *d > 0) {
                    parts.push(format!("up={delay}"));
                }
                (!parts.is_empty()).then(|| parts.join(","))
            }
        }
    }

    fn features_text(&self) -> Option<String> {
        (!self.spec.pct_features.is_empty()).then(|| {
            self.spec
                .pct_features
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// The settings `pct set` manages, as Proxmox writes them in the conf.
    fn desired_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![
            ("hostname", self.spec.hostname.clone()),
            ("memory", self.spec.memory_mb.to_string()),
            ("cores", self.spec.cores.to_string()),
            ("net0", self.spec.net.to_pve()),
            ("onboot", bool_text(self.spec.start_at_boot).to_owned()),
        ];
        if let Some(swap) = self.spec.swap_mb {
            keys.push(("swap", swap.to_string()));
        }
        if let Some(features) = self.features_text() {
            keys.push(("features", features));
        }
        if let Some(startup) = self.startup() {
            keys.push(("startup", startup));
        }
        keys
    }

    fn mount_value(mount: &Mount) -> String {
        match mount {
            Mount::Volume {
                path,
                storage,
                size_gb,
            } => format!("{storage}:{size_gb},mp={path}"),
            Mount::Bind {
                path, host_path, ..
            } => format!("{host_path},mp={path}"),
        }
    }

    fn lxc_lines(&self, skip: &[(String, String)]) -> String {
        self.spec
            .lxc
            .iter()
            .filter(|line| !skip.contains(line))
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect()
    }

    fn create_steps(&self) -> (Vec<FieldChange>, Vec<Step>) {
        let id = self.spec.id.to_string();
        let mut fields = Vec::new();
        let mut steps = Vec::new();
        let set_args: Vec<String> = self
            .desired_keys()
            .into_iter()
            .flat_map(|(k, v)| {
                fields.push(FieldChange::new(k, None, Some(v.clone().into())));
                [format!("--{k}"), v]
            })
            .collect();
        let mut inherited_lxc: Vec<(String, String)> = Vec::new();
        match &self.spec.origin {
            Origin::Template(template) => {
                let mut cmd = Cmd::write("pct", ["create", id.as_str(), template.as_str()])
                    .arg("--storage")
                    .arg(self.spec.storage.clone())
                    .arg("--rootfs")
                    .arg(format!("{}:{}", self.spec.storage, self.spec.rootfs_gb))
                    .arg("--unprivileged")
                    .arg(bool_text(self.spec.unprivileged));
                for arg in set_args {
                    cmd = cmd.arg(arg);
                }
                fields.push(FieldChange::new(
                    "origin",
                    None,
                    Some(format!("template {template}").into()),
                ));
                steps.push(Step::run(cmd));
            }
            Origin::Clone { parent, snapshot } => {
                fields.push(FieldChange::new(
                    "origin",
                    None,
                    Some(format!("clone of {parent} at {snapshot}").into()),
                ));
                steps.push(Step::run(Cmd::write(
                    "pct",
                    [
                        "clone".to_owned(),
                        parent.to_string(),
                        id.clone(),
                        "--snapname".to_owned(),
                        snapshot.clone(),
                        "--hostname".to_owned(),
                        self.spec.hostname.clone(),
                        "--storage".to_owned(),
                        self.spec.storage.clone(),
                        "--full".to_owned(),
                    ],
                )));
                let mut cmd = Cmd::write("pct", ["set", id.as_str()]);
                for arg in set_args {
                    cmd = cmd.arg(arg);
                }
                steps.push(Step::run(cmd));
                if let Some(parent) = &self.parent {
                    if self.spec.rootfs_gb > parent.rootfs_gb {
                        steps.push(Step::run(Cmd::write(
                            "pct",
                            [
                                "resize".to_owned(),
                                id.clone(),
                                "rootfs".to_owned(),
                                format!("{}G", self.spec.rootfs_gb),
                            ],
                        )));
                    }
                    inherited_lxc = parent.lxc.clone();
                }
            }
        }
        if !self.spec.mounts.is_empty() {
            let mut cmd = Cmd::write("pct", ["set", id.as_str()]);
            for (index, mount) in self.spec.mounts.iter().enumerate() {
                if let Mount::Bind { host_path, .. } = mount {
                    steps.push(Step::run(Cmd::write("mkdir", ["-p", host_path.as_str()])));
                }
                fields.push(FieldChange::new(
                    format!("mount {}", mount.path()),
                    None,
                    Some(Container::mount_value(mount).into()),
                ));
                cmd = cmd
                    .arg(format!("--mp{index}"))
                    .arg(Container::mount_value(mount));
            }
            steps.push(Step::run(cmd));
        }
        let lines = self.lxc_lines(&inherited_lxc);
        if !lines.is_empty() {
            // A new container's conf has no snapshot section yet, so appending lands in the main
            // section.
            fields.push(FieldChange::new("lxc", None, Some(lines.trim_end().into())));
            steps.push(Step::run(
                Cmd::write("tee", ["-a".to_owned(), conf_path(self.spec.id)]).stdin(lines),
            ));
        }
        (fields, steps)
    }
}

impl Container {
    /// Every storage the container needs must exist on the host or be created by this run;
    /// otherwise the plan says so, instead of `pct` failing halfway through apply.
    async fn check_storages(&self, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let Some(ids) = &*cx.fact(&crate::facts::StorageIds).await? else {
            return Ok(());
        };
        let mut needed = vec![self.spec.storage.as_str()];
        needed.extend(self.spec.mounts.iter().filter_map(|m| match m {
            Mount::Volume { storage, .. } => Some(storage.as_str()),
            Mount::Bind { .. } => None,
        }));
        let missing: Vec<&str> = needed
            .into_iter()
            .filter(|id| {
                !ids.contains(*id) && !cx.is_provided(&Capability::named("pve.storage", id))
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "container {} needs storage {}, which neither exists on the host (/etc/pve/storage.cfg) nor is created by this config",
            self.spec.id,
            missing.join(", ")
        )
        .into())
    }
}

/// Inserts `lines` at the end of the conf's main section (before the first `[section]`).
pub(crate) fn insert_into_main(text: &str, lines: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len());
    let mut inserted = false;
    let mut pending_blank = String::new();
    for line in text.split_inclusive('\n') {
        if !inserted && line.starts_with('[') {
            out.push_str(lines);
            inserted = true;
        }
        if !inserted && line.trim().is_empty() {
            pending_blank.push_str(line);
            continue;
        }
        out.push_str(&pending_blank);
        pending_blank.clear();
        out.push_str(line);
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(lines);
    }
    out.push_str(&pending_blank);
    out
}

#[async_trait]
impl Resource for Container {
    type State = ContainerState;

    fn id(&self) -> ResourceId {
        Container::id_for(self.spec.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = Vec::new();
        match &self.spec.origin {
            Origin::Clone { parent, .. } => deps.push(crate::snapshot::Snapshot::id_for(*parent)),
            Origin::Template(path) => deps.push(crate::template::Template::id_for(path)),
        }
        // Dependencies are fully provisioned first.
        for dependency in &self.spec.dependencies {
            deps.push(crate::snapshot::Snapshot::id_for(*dependency));
        }
        deps.sort();
        deps.dedup();
        deps
    }

    fn requires(&self) -> Vec<Capability> {
        let mut caps: BTreeSet<Capability> = BTreeSet::new();
        caps.insert(Capability::named("pve.storage", &self.spec.storage));
        for mount in &self.spec.mounts {
            match mount {
                Mount::Volume { storage, .. } => {
                    caps.insert(Capability::named("pve.storage", storage));
                }
                Mount::Bind { host_path, .. } => {
                    caps.insert(Capability::path(host_path));
                }
            }
        }
        if let Origin::Template(template) = &self.spec.origin {
            if template.starts_with('/') {
                caps.insert(Capability::path(template));
            }
        }
        caps.into_iter().collect()
    }

    fn locks(&self) -> Vec<String> {
        let mut locks = vec![lock(self.spec.id)];
        if let Origin::Clone { parent, .. } = &self.spec.origin {
            locks.push(lock(*parent));
        }
        locks
    }

    fn ensure(&self) -> Ensure {
        self.spec.ensure
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ContainerState>, BoxError> {
        let all = cx.fact(&Containers).await?;
        if self.spec.ensure == Ensure::Present {
            self.check_storages(cx).await?;
        }
        Ok(all.get(&self.spec.id).map(|found| {
            let mut keys: BTreeMap<String, String> = found.conf.main.keys.iter().cloned().collect();
            let mut pending = false;
            if let Some(section) = &found.conf.pending {
                for (k, v) in &section.keys {
                    if k == "delete" {
                        for key in v.split(',') {
                            keys.remove(key.trim());
                        }
                    } else {
                        keys.insert(k.clone(), v.clone());
                    }
                    pending = true;
                }
            }
            ContainerState {
                status: found.status.clone(),
                lock: found.lock.clone(),
                keys,
                lxc: found.conf.main.lxc.clone(),
                pending,
                text: found.text.clone(),
            }
        }))
    }

    fn diff(&self, observed: Option<&ContainerState>) -> Delta {
        let id = self.spec.id.to_string();
        if self.spec.ensure == Ensure::Absent {
            let Some(state) = observed else {
                return Delta::none();
            };
            let mut delta = Delta::none().field(FieldChange::new(
                "exists",
                Some(true.into()),
                Some(false.into()),
            ));
            if state.status == "running" {
                delta = delta.run(Cmd::write("pct", ["stop", id.as_str()]));
            }
            return delta
                .run(Cmd::write("pct", ["destroy", id.as_str(), "--purge"]))
                .disrupts(Disruption::DestroysData {
                    what: format!("container {id} and its volumes"),
                });
        }
        let Some(state) = observed else {
            let (fields, steps) = self.create_steps();
            let mut delta = Delta::none();
            for field in fields {
                delta = delta.field(field);
            }
            for step in steps {
                delta = delta.step(step);
            }
            return delta;
        };
        if let Some(lock) = &state.lock {
            return Delta::none().diagnostic(Diagnostic::error(format!(
                "container {id} is locked ({lock}) by an unfinished Proxmox operation; clear it with `pct unlock {id}` once nothing runs"
            )));
        }
        let mut delta = Delta::none();
        let mut restart = false;

        // Creation-only: unprivileged.
        let unprivileged = state
            .keys
            .get("unprivileged")
            .map(String::as_str)
            .unwrap_or("0")
            == "1";
        if unprivileged != self.spec.unprivileged {
            let (_, create) = self.create_steps();
            delta = delta
                .field(FieldChange::new("unprivileged", Some(unprivileged.into()), Some(self.spec.unprivileged.into())))
                .replacing()
                .disrupts(Disruption::DestroysData {
                    what: format!("container {id} is destroyed and created again (unprivileged can only be set at creation)"),
                });
            if state.status == "running" {
                delta = delta.run(Cmd::write("pct", ["stop", id.as_str()]));
            }
            delta = delta.run(Cmd::write("pct", ["destroy", id.as_str(), "--purge"]));
            for step in create {
                delta = delta.step(step);
            }
            return delta;
        }

        // Raw lxc.* lines: missing ones go into the main section (written before any pct set,
        // which keeps them).
        let missing: Vec<(String, String)> = self
            .spec
            .lxc
            .iter()
            .filter(|l| !state.lxc.contains(l))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let lines: String = missing.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
            let new_text = insert_into_main(&state.text, &lines);
            delta = delta
                .field(
                    FieldChange::new("lxc", None, Some(lines.trim_end().into()))
                        .note("raw lines, main section"),
                )
                .file_diff(phoenix_core::file::unified_diff(
                    std::path::Path::new(&conf_path(self.spec.id)),
                    &state.text,
                    &new_text,
                ))
                .step(Step::WriteFile {
                    path: conf_path(self.spec.id).into(),
                    content: new_text,
                    mode: 0o640,
                    owner: None,
                });
            restart = true;
        }

        // Settings: one pct set with every differing key.
        let mut set = Cmd::write("pct", ["set", id.as_str()]);
        let mut any = false;
        for (key, desired) in self.desired_keys() {
            let current = state.keys.get(key).cloned();
            let same = match key {
                "net0" => current.as_deref().is_some_and(|c| same_net(c, &desired)),
                "features" => current.as_deref().map(props) == Some(props(&desired)),
                "onboot" => current.as_deref().unwrap_or("0") == desired,
                _ => current.as_deref() == Some(desired.as_str()),
            };
            if same {
                continue;
            }
            if matches!(key, "hostname" | "features") {
                restart = true;
            }
            delta = delta.field(FieldChange::new(
                key,
                current.map(Into::into),
                Some(desired.clone().into()),
            ));
            set = set.arg(format!("--{key}")).arg(desired);
            any = true;
        }
        if any {
            delta = delta.run(set);
        }

        // The root disk grows in place; a shrink is an error.
        if let Some(size) = state
            .keys
            .get("rootfs")
            .and_then(|r| props(r).get("size").cloned())
            .and_then(|s| size_gib(&s))
        {
            if self.spec.rootfs_gb > size {
                delta = delta
                    .field(FieldChange::new(
                        "rootfs size",
                        Some(format!("{size}G").into()),
                        Some(format!("{}G", self.spec.rootfs_gb).into()),
                    ))
                    .run(Cmd::write(
                        "pct",
                        [
                            "resize".to_owned(),
                            id.clone(),
                            "rootfs".to_owned(),
                            format!("{}G", self.spec.rootfs_gb),
                        ],
                    ));
            } else if self.spec.rootfs_gb < size {
                delta = delta.diagnostic(Diagnostic::error(format!(
                    "the root disk is {size}G and the config asks for {}G; Proxmox cannot shrink a container's disk",
                    self.spec.rootfs_gb
                )));
            }
        }

        // Mount points, matched by their path inside the container.
        let existing: BTreeMap<String, (String, String)> = state
            .keys
            .iter()
            .filter(|(k, _)| k.starts_with("mp") && k[2..].bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|(k, v)| {
                props(v)
                    .get("mp")
                    .map(|path| (path.clone(), (k.clone(), v.clone())))
            })
            .collect();
        let mut used: BTreeSet<String> = state
            .keys
            .keys()
            .filter(|k| k.starts_with("mp"))
            .cloned()
            .collect();
        let mut mount_set = Cmd::write("pct", ["set", id.as_str()]);
        let mut any_mount = false;
        for mount in &self.spec.mounts {
            match existing.get(mount.path()) {
                None => {
                    let index = (0..256)
                        .map(|n| format!("mp{n}"))
                        .find(|k| !used.contains(k))
                        .unwrap_or_else(|| "mp255".to_owned());
                    used.insert(index.clone());
                    if let Mount::Bind { host_path, .. } = mount {
                        delta = delta.run(Cmd::write("mkdir", ["-p", host_path.as_str()]));
                        restart = true;
                    }
                    delta = delta.field(FieldChange::new(
                        format!("mount {}", mount.path()),
                        None,
                        Some(Container::mount_value(mount).into()),
                    ));
                    mount_set = mount_set
                        .arg(format!("--{index}"))
                        .arg(Container::mount_value(mount));
                    any_mount = true;
                }
                Some((key, value)) => {
                    let current = props(value);
                    let source = current.get("").cloned().unwrap_or_default();
                    match mount {
                        Mount::Volume {
                            storage, size_gb, ..
                        } => {
                            if !source.starts_with(&format!("{storage}:")) {
                                delta = delta.diagnostic(Diagnostic::error(format!(
                                    "the mount at {} is {source}, not a volume on storage {storage}; Phoenix never re-creates volumes (move the data by hand or change the config)",
                                    mount.path()
                                )));
                            } else if let Some(size) = current.get("size").and_then(|s| size_gib(s))
                            {
                                if *size_gb > size {
                                    delta = delta
                                        .field(FieldChange::new(
                                            format!("mount {} size", mount.path()),
                                            Some(format!("{size}G").into()),
                                            Some(format!("{size_gb}G").into()),
                                        ))
                                        .run(Cmd::write(
                                            "pct",
                                            [
                                                "resize".to_owned(),
                                                id.clone(),
                                                key.clone(),
                                                format!("{size_gb}G"),
                                            ],
                                        ));
                                }
                            }
                        }
                        Mount::Bind { host_path, .. } => {
                            if &source != host_path {
                                delta = delta
                                    .field(FieldChange::new(
                                        format!("mount {}", mount.path()),
                                        Some(value.clone().into()),
                                        Some(Container::mount_value(mount).into()),
                                    ))
                                    .run(Cmd::write("mkdir", ["-p", host_path.as_str()]));
                                mount_set = mount_set
                                    .arg(format!("--{key}"))
                                    .arg(Container::mount_value(mount));
                                any_mount = true;
                                restart = true;
                            }
                        }
                    }
                }
            }
        }
        if any_mount {
            delta = delta.run(mount_set);
        }

        // Restart once, at the end, when a change (or an earlier pending one) needs it.
        if state.status == "running" && (restart || state.pending) {
            delta = delta
                .run(Cmd::write("pct", ["shutdown", id.as_str()]))
                .run(Cmd::write("pct", ["start", id.as_str()]))
                .disrupts(Disruption::Restart {
                    of: Container::id_for(self.spec.id).to_string(),
                });
        }
        delta
    }
}

/// Whether two `net0` values agree on what Phoenix manages (name, bridge, ip, gw, hwaddr).
fn same_net(current: &str, desired: &str) -> bool {
    let (current, desired) = (props(current), props(desired));
    // A key the config leaves out (a MAC Proxmox generated) is not compared.
    ["name", "bridge", "ip", "gw", "hwaddr"]
        .iter()
        .all(|k| match desired.get(*k) {
            None => *k != "gw" || !current.contains_key("gw"),
            Some(want) => current
                .get(*k)
                .is_some_and(|v| v.eq_ignore_ascii_case(want)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_lines_go_into_the_main_section_only() {
        let text = "arch: amd64\nmemory: 512\nparent: final-form\n\n[final-form]\narch: amd64\nmemory: 512\nsnaptime: 1700000000\n";
        let out = insert_into_main(text, "lxc.apparmor.profile: unconfined\n");
        assert_eq!(
            out,
            "arch: amd64\nmemory: 512\nparent: final-form\nlxc.apparmor.profile: unconfined\n\n[final-form]\narch: amd64\nmemory: 512\nsnaptime: 1700000000\n"
        );
        assert_eq!(
            insert_into_main("arch: amd64\n", "lxc.a: b\n"),
            "arch: amd64\nlxc.a: b\n"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size_gib("16G"), Some(16));
        assert_eq!(size_gib("512M"), Some(1));
        assert_eq!(size_gib("1T"), Some(1024));
    }
}
