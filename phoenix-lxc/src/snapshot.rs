//! `lxc.snapshot`: the `final-form` snapshot (or the config's `template_snapshot_name`), taken
//! once a container is fully provisioned and used as the clone source of its children. Its
//! description records a digest of the provisioning spec, so it is retaken only when that spec
//! changes and a no-op converge never touches snapshots.
//!
//! Proxmox refuses to snapshot (and to clone) a container with bind mounts. Phoenix therefore
//! detaches the bind mounts for the instant of the snapshot (stopping the container if it runs)
//! and attaches them again: the snapshot holds the provisioned container without host
//! directories, which is also exactly what a clone must not inherit.

use async_trait::async_trait;
use phoenix_core::settle::SCOPE_LINE;
use phoenix_core::{
    BoxError, Cmd, Ctx, Delta, Disruption, FieldChange, Kind, Resource, ResourceId, Step,
};
use phoenix_pve::{Section, VolumeSource, parse_mount_point};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{ContainerSpec, Mount, Origin};
use crate::container::{Container, lock};
use crate::facts::Containers;

/// The kind: `lxc.snapshot`.
pub const KIND: &str = "lxc.snapshot";

/// The prefix of the snapshot description that carries the digest.
pub const DIGEST_PREFIX: &str = "phoenix spec digest ";

/// The provisioning snapshot of one container.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) spec: ContainerSpec,
    pub(crate) digest: String,
}

/// The snapshot as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotState {
    /// The digest its description records, if any.
    pub digest: Option<String>,
    /// The digest it should record (`effective_digest`: the spec's and the container scope's).
    pub wanted: String,
    /// `running` or `stopped`.
    pub status: String,
    /// Bind mounts in the main section: key and value.
    pub binds: Vec<(String, String)>,
}

/// The digest the provisioning snapshot of `spec`'s container should record: the spec's
/// `digest`, and, for a container that does not start at boot, the fingerprint of the resources
/// other providers placed in its scope this run (`phoenix_core::settle`), so that a change to
/// those re-provisions the stopped container and core can tell it is settled
/// (`PctExec::settled`). A running container is probed instead; its snapshot is not retaken (nor
/// the container restarted for it) when only a service in it changes.
pub(crate) fn effective_digest(digest: &str, spec: &ContainerSpec, cx: &Ctx<'_>) -> String {
    let scope = format!("{}:{}", crate::guest::CLASS, spec.id);
    match cx.guest_fingerprint(&scope) {
        Some(fingerprint) if !spec.start_at_boot => {
            format!("{digest} {SCOPE_LINE} {fingerprint}")
        }
        _ => digest.to_owned(),
    }
}

/// The digest a snapshot description records, if any.
pub(crate) fn recorded_digest(description: &str) -> Option<&str> {
    description
        .lines()
        .find_map(|l| l.trim().strip_prefix(DIGEST_PREFIX))
        .map(str::trim)
}

/// The digest of what shapes a provisioned container: origin, privilege and features. Memory,
/// cores, network and boot settings are left out: changing them does not re-provision anything.
/// The settings of features other providers implement (the vLLM server's flags) are theirs:
/// their resources in the container's scope converge them, and a stopped container's snapshot
/// records them through the scope's fingerprint.
pub fn digest(spec: &ContainerSpec) -> String {
    let origin = match &spec.origin {
        Origin::Template(t) => format!("template {t}"),
        Origin::Clone { parent, snapshot } => format!("clone {parent}@{snapshot}"),
    };
    let material = serde_json::json!({
        "origin": origin,
        "unprivileged": spec.unprivileged,
        "features": spec.features,
    });
    let hash = Sha256::digest(material.to_string().as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Snapshot {
    /// The id of container `id`'s snapshot.
    pub fn id_for(id: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id.to_string())
    }

    fn plan_steps(&self, state: Option<&SnapshotState>) -> Vec<Step> {
        let id = self.spec.id.to_string();
        let name = self.spec.snapshot.as_str();
        let binds: Vec<(String, String)> = match state {
            Some(state) => state.binds.clone(),
            None => self
                .spec
                .mounts
                .iter()
                .enumerate()
                .filter_map(|(i, m)| match m {
                    Mount::Bind {
                        host_path, path, ..
                    } => Some((format!("mp{i}"), format!("{host_path},mp={path}"))),
                    Mount::Volume { .. } => None,
                })
                .collect(),
        };
        let running = state.is_some_and(|s| s.status == "running");
        let mut steps = Vec::new();
        if !binds.is_empty() && running {
            steps.push(Step::run(Cmd::write("pct", ["shutdown", id.as_str()])));
        }
        if !binds.is_empty() {
            let keys: Vec<&str> = binds.iter().map(|(k, _)| k.as_str()).collect();
            steps.push(Step::run(Cmd::write(
                "pct",
                ["set", id.as_str(), "--delete", &keys.join(",")],
            )));
        }
        if state.is_some_and(|s| s.digest.is_some()) {
            steps.push(Step::run(Cmd::write(
                "pct",
                ["delsnapshot", id.as_str(), name],
            )));
        }
        steps.push(Step::run(Cmd::write(
            "pct",
            [
                "snapshot",
                id.as_str(),
                name,
                "--description",
                &format!("{DIGEST_PREFIX}{}", self.digest),
            ],
        )));
        if !binds.is_empty() {
            let mut set = Cmd::write("pct", ["set", id.as_str()]);
            for (key, value) in &binds {
                set = set.arg(format!("--{key}")).arg(value.clone());
            }
            steps.push(Step::run(set));
        }
        if !binds.is_empty() && running {
            steps.push(Step::run(Cmd::write("pct", ["start", id.as_str()])));
        }
        steps
    }
}

/// The bind mounts of a config section: the `mpN` keys whose source is a host path (a
/// directory or a device).
fn bind_mounts(section: &Section) -> Vec<(String, String)> {
    section
        .keys
        .iter()
        .filter(|(k, _)| k.starts_with("mp"))
        .filter(|(_, v)| {
            parse_mount_point(v).is_ok_and(|mount| {
                matches!(
                    mount.source(),
                    VolumeSource::Bind(_) | VolumeSource::Device(_)
                )
            })
        })
        .cloned()
        .collect()
}

#[async_trait]
impl Resource for Snapshot {
    type State = SnapshotState;

    fn id(&self) -> ResourceId {
        Snapshot::id_for(self.spec.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = vec![Container::id_for(self.spec.id)];
        if self.spec.gpus.is_some() {
            deps.push(crate::gpu::Passthrough::id_for(self.spec.id));
        }
        if self.spec.provisioned() {
            deps.push(crate::features::Features::id_for(self.spec.id));
            if !self.spec.start_at_boot {
                // Stopped after provisioning, then snapshotted (see `lxc.start`).
                deps.push(crate::start::Start::id_for(self.spec.id));
            }
        }
        deps
    }

    /// The final-form snapshot comes after every scoped resource in `ct:<id>`.
    fn requires(&self) -> Vec<phoenix_core::Capability> {
        vec![crate::guest::settled(self.spec.id)]
    }

    fn locks(&self) -> Vec<String> {
        vec![lock(self.spec.id)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<SnapshotState>, BoxError> {
        let all = cx.fact(&Containers).await?;
        let Some(found) = all.get(&self.spec.id) else {
            return Ok(None);
        };
        let digest = found
            .conf
            .snapshots
            .get(&self.spec.snapshot)
            .map(|section| {
                section
                    .description
                    .as_deref()
                    .and_then(recorded_digest)
                    .unwrap_or("(none recorded)")
                    .to_owned()
            });
        let binds = bind_mounts(&found.conf.main);
        Ok(Some(SnapshotState {
            digest,
            wanted: effective_digest(&self.digest, &self.spec, cx),
            status: found.status.clone(),
            binds,
        }))
    }

    fn diff(&self, observed: Option<&SnapshotState>) -> Delta {
        let wanted = observed.map_or(self.digest.as_str(), |s| s.wanted.as_str());
        if observed.is_some_and(|s| s.digest.as_deref() == Some(wanted)) {
            return Delta::none();
        }
        let before = observed.and_then(|s| s.digest.clone());
        let mut delta = Delta::none().field(
            FieldChange::new(
                self.spec.snapshot.as_str(),
                before.map(Into::into),
                Some(wanted.to_owned().into()),
            )
            .note("spec digest"),
        );
        let live = Snapshot {
            spec: self.spec.clone(),
            digest: wanted.to_owned(),
        };
        let steps = live.plan_steps(observed);
        let restarts = observed.is_some_and(|s| s.status == "running" && !s.binds.is_empty());
        for step in steps {
            delta = delta.step(step);
        }
        if restarts {
            delta = delta.disrupts(Disruption::Restart {
                of: Container::id_for(self.spec.id).to_string(),
            });
        }
        delta
    }

    async fn apply(&self, _change: &phoenix_core::Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // The container was created or changed by earlier resources of this run: decide the
        // bind-mount dance from its live state, not from the plan-time one.
        let path = crate::facts::conf_path(self.spec.id);
        let text = cx
            .host()
            .read_file(std::path::Path::new(&path))
            .await?
            .ok_or_else(|| format!("{path} does not exist: the container was not created"))?
            .content;
        let parsed = phoenix_pve::parse_conf(&text).map_err(|e| format!("read {path}: {e}"))?;
        let running = crate::facts::is_running(cx.host(), self.spec.id).await?;
        let wanted = effective_digest(&self.digest, &self.spec, cx);
        let state = SnapshotState {
            digest: parsed
                .snapshots
                .contains_key(&self.spec.snapshot)
                .then(String::new),
            wanted: wanted.clone(),
            status: if running {
                "running".into()
            } else {
                "stopped".into()
            },
            binds: bind_mounts(&parsed.main),
        };
        let live = Snapshot {
            spec: self.spec.clone(),
            digest: wanted,
        };
        phoenix_core::resource::run_steps(&live.plan_steps(Some(&state)), cx).await
    }
}
