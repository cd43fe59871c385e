//! The lifecycle part of `Container::diff`: what a new container's creation runs (from a
//! template or as a clone of the parent's snapshot), its destruction, and the replacement that a
//! change of a creation-only setting (`unprivileged`) forces.

use phoenix_core::{Cmd, Delta, Disruption, FieldChange, Step};

use super::{Container, ContainerState};
use crate::config::{Mount, Origin};
use crate::facts::conf_path;

/// `1` or `0`, as Proxmox writes booleans.
pub(super) fn bool_text(value: bool) -> &'static str {
    if value { "1" } else { "0" }
}

impl Container {
    /// `startup`: `order=N[,up=N]`, when the config sets a boot order or delay.
    fn startup(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(order) = self.spec.boot_order {
            parts.push(format!("order={order}"));
        }
        if let Some(delay) = self.spec.boot_delay.filter(|d| *d > 0) {
            parts.push(format!("up={delay}"));
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }

    /// `features`: the `pct_features` flags, sorted.
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
    pub(super) fn desired_keys(&self) -> Vec<(&'static str, String)> {
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

    /// The `mpN` value `pct set` takes for `mount`: a new volume in GiB or a bind mount.
    pub(super) fn mount_value(mount: &Mount) -> String {
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

    /// The raw `lxc.*` lines of the config that are not in `skip`, one `key: value` per line.
    fn lxc_lines(&self, skip: &[(String, String)]) -> String {
        self.spec
            .lxc
            .iter()
            .filter(|line| !skip.contains(line))
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect()
    }

    /// A missing container: create or clone it, then its mounts and raw lines.
    pub(super) fn diff_create(&self) -> Delta {
        let (fields, steps) = self.create_steps();
        let mut delta = Delta::none();
        for field in fields {
            delta = delta.field(field);
        }
        for step in steps {
            delta = delta.step(step);
        }
        delta
    }

    /// A container marked absent: stop it if it runs, then destroy it with its volumes.
    pub(super) fn diff_absent(&self, observed: Option<&ContainerState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none();
        };
        let id = self.spec.id.to_string();
        let mut delta = Delta::none().field(FieldChange::new(
            "exists",
            Some(true.into()),
            Some(false.into()),
        ));
        if state.status == "running" {
            delta = delta.run(Cmd::write("pct", ["stop", id.as_str()]));
        }
        delta
            .run(Cmd::write("pct", ["destroy", id.as_str(), "--purge"]))
            .disrupts(Disruption::DestroysData {
                what: format!("container {id} and its volumes"),
            })
    }

    /// Whether the observed container differs in a setting Proxmox takes only at creation.
    pub(super) fn needs_replace(&self, state: &ContainerState) -> bool {
        self.observed_unprivileged(state) != self.spec.unprivileged
    }

    fn observed_unprivileged(&self, state: &ContainerState) -> bool {
        state.keys.get("unprivileged").map_or("0", String::as_str) == "1"
    }

    /// `unprivileged` differs: destroy the container and create it again (data is lost).
    pub(super) fn diff_replace(&self, state: &ContainerState) -> Delta {
        let id = self.spec.id.to_string();
        let (_, create) = self.create_steps();
        let mut delta = Delta::none()
            .field(FieldChange::new(
                "unprivileged",
                Some(self.observed_unprivileged(state).into()),
                Some(self.spec.unprivileged.into()),
            ))
            .replacing()
            .disrupts(Disruption::DestroysData {
                what: format!(
                    "container {id} is destroyed and created again (unprivileged can only be set at creation)"
                ),
            });
        if state.status == "running" {
            delta = delta.run(Cmd::write("pct", ["stop", id.as_str()]));
        }
        delta = delta.run(Cmd::write("pct", ["destroy", id.as_str(), "--purge"]));
        for step in create {
            delta = delta.step(step);
        }
        delta
    }

    /// The fields and steps that create the container as the config wants it.
    pub(super) fn create_steps(&self) -> (Vec<FieldChange>, Vec<Step>) {
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
        let inherited_lxc = match &self.spec.origin {
            Origin::Template(template) => {
                let cmd = Cmd::write("pct", ["create", id.as_str(), template.as_str()])
                    .arg("--storage")
                    .arg(self.spec.storage.clone())
                    .arg("--rootfs")
                    .arg(format!("{}:{}", self.spec.storage, self.spec.rootfs_gb))
                    .arg("--unprivileged")
                    .arg(bool_text(self.spec.unprivileged));
                fields.push(FieldChange::new(
                    "origin",
                    None,
                    Some(format!("template {template}").into()),
                ));
                steps.push(Step::run(set_args.into_iter().fold(cmd, Cmd::arg)));
                Vec::new()
            }
            Origin::Clone { parent, snapshot } => {
                fields.push(FieldChange::new(
                    "origin",
                    None,
                    Some(format!("clone of {parent} at {snapshot}").into()),
                ));
                steps.extend(self.clone_steps(*parent, snapshot, set_args));
                self.parent
                    .as_ref()
                    .map(|parent| parent.lxc.clone())
                    .unwrap_or_default()
            }
        };
        self.mount_steps(&mut fields, &mut steps);
        let lines = self.lxc_lines(&inherited_lxc);
        if !lines.is_empty() {
            // A new container's conf has no snapshot section yet, so appending lands in the main
            // section.
            let shown = crate::secret::redact_conf(&lines);
            fields.push(FieldChange::new("lxc", None, Some(shown.trim_end().into())));
            steps.push(Step::run(
                Cmd::write("tee", ["-a".to_owned(), conf_path(self.spec.id)])
                    .stdin(crate::secret::conf_content(lines)),
            ));
        }
        (fields, steps)
    }

    /// `pct clone` at the parent's snapshot, one `pct set` with the settings, and a resize when
    /// the clone's root disk is larger than the parent's.
    fn clone_steps(&self, parent: u32, snapshot: &str, set_args: Vec<String>) -> Vec<Step> {
        let id = self.spec.id.to_string();
        let mut steps = vec![Step::run(Cmd::write(
            "pct",
            [
                "clone".to_owned(),
                parent.to_string(),
                id.clone(),
                "--snapname".to_owned(),
                snapshot.to_owned(),
                "--hostname".to_owned(),
                self.spec.hostname.clone(),
                "--storage".to_owned(),
                self.spec.storage.clone(),
                "--full".to_owned(),
            ],
        ))];
        let set = Cmd::write("pct", ["set", id.as_str()]);
        steps.push(Step::run(set_args.into_iter().fold(set, Cmd::arg)));
        if self
            .parent
            .as_ref()
            .is_some_and(|parent| self.spec.rootfs_gb > parent.rootfs_gb)
        {
            steps.push(Step::run(Cmd::write(
                "pct",
                [
                    "resize".to_owned(),
                    id,
                    "rootfs".to_owned(),
                    format!("{}G", self.spec.rootfs_gb),
                ],
            )));
        }
        steps
    }

    /// A new container's mounts: bind sources created, then one `pct set` with every `mpN`.
    fn mount_steps(&self, fields: &mut Vec<FieldChange>, steps: &mut Vec<Step>) {
        if self.spec.mounts.is_empty() {
            return;
        }
        let mut cmd = Cmd::write("pct", ["set", &self.spec.id.to_string()]);
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
}
