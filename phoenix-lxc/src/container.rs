//! `lxc.container`: a container's existence and configuration. Created from a template or cloned
//! from its parent's snapshot; then exactly the differing settings get one `pct set`, mount points
//! are matched by their path inside the container (never by `mpN` index), raw `lxc.*` lines go
//! into the main section of the conf only, the root disk grows in place, and a running container
//! restarts once, at the end, only when a change needs it.
//!
//! `diff` is split by concern, each part in its own file with its own table of
//! `check(desired, observed, expect)` cases in `diff_tests`: the lifecycle (`create`: create,
//! clone, destroy, replace), the settings and raw lines (`settings`), and the disks (`disks`:
//! root disk and mount points). This file decides which parts run and adds the one restart.

mod create;
#[cfg(test)]
mod diff_tests;
mod disks;
#[cfg(all(test, feature = "sim"))]
mod inspect_tests;
pub(crate) mod settings;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Delta, Diagnostic, Disruption, Ensure, Kind, Resource,
    ResourceId,
};
use serde::Serialize;

use crate::config::{ContainerSpec, Mount, Origin};
use crate::facts::{Containers, Observed};

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

impl Container {
    /// Every storage the container needs must exist on the host or be created by this run;
    /// otherwise the plan says so, instead of `pct` failing halfway through apply.
    async fn check_storages(&self, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let Some(storages) = &*cx.fact(&phoenix_pve::StorageCfg).await? else {
            return Ok(());
        };
        let ids: BTreeSet<&str> = storages.iter().map(|s| s.id.as_str()).collect();
        let mut needed = vec![self.spec.storage.as_str()];
        needed.extend(self.spec.mounts.iter().filter_map(|m| match m {
            Mount::Volume { storage, .. } => Some(storage.as_str()),
            Mount::Bind { .. } => None,
        }));
        let missing: Vec<&str> = needed
            .into_iter()
            .filter(|id| {
                !ids.contains(id) && !cx.is_provided(&Capability::named("pve.storage", id))
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

    /// `pve.guest:<vmid>`: the container exists, so files that belong to it (phoenix-net's
    /// firewall file, which `pct clone` would overwrite) come after it.
    fn provides(&self) -> Vec<Capability> {
        vec![Capability::named("pve.guest", &self.spec.id.to_string())]
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
        if let Origin::Template(template) = &self.spec.origin
            && template.starts_with('/')
        {
            caps.insert(Capability::path(template));
        }
        // The profile is loaded (or checked to be) before the container uses it.
        if let Some(profile) = &self.spec.apparmor_profile
            && !crate::config::NO_PROFILE.contains(&profile.as_str())
        {
            caps.insert(Capability::named(
                crate::config::APPARMOR_CAPABILITY,
                profile,
            ));
        }
        // Whatever routes to a container (the gateway's upstreams) lets it go first.
        if self.spec.ensure == Ensure::Absent {
            caps.insert(Capability::named(
                "guest-released",
                &format!("ct:{}", self.spec.id),
            ));
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
        Ok(all.get(&self.spec.id).map(ContainerState::from_observed))
    }

    fn diff(&self, observed: Option<&ContainerState>) -> Delta {
        if self.spec.ensure == Ensure::Absent {
            return self.diff_absent(observed);
        }
        let Some(state) = observed else {
            return self.diff_create();
        };
        let id = self.spec.id;
        if let Some(lock) = &state.lock {
            return Delta::none().diagnostic(Diagnostic::error(format!(
                "container {id} is locked ({lock}) by an unfinished Proxmox operation; clear it with `pct unlock {id}` once nothing runs"
            )));
        }
        if self.needs_replace(state) {
            return self.diff_replace(state);
        }
        let parts: [Part; 4] = [
            Container::diff_lxc_lines,
            Container::diff_settings,
            Container::diff_rootfs,
            Container::diff_mounts,
        ];
        let mut delta = Delta::none();
        let mut restart = false;
        for part in parts {
            let (next, needs_restart) = part(self, state, delta);
            delta = next;
            restart |= needs_restart;
        }
        self.restart_once(state, restart, delta)
    }
}

/// One concern of an existing container's diff: adds its fields, steps and diagnostics to the
/// delta and says whether its changes need a restart to take effect.
type Part = fn(&Container, &ContainerState, Delta) -> (Delta, bool);

impl Container {
    /// Restarts a running container once, at the end, when a change (or an earlier pending one)
    /// needs it.
    fn restart_once(&self, state: &ContainerState, restart: bool, delta: Delta) -> Delta {
        if state.status != "running" || !(restart || state.pending) {
            return delta;
        }
        let id = self.spec.id.to_string();
        delta
            .run(Cmd::write("pct", ["shutdown", id.as_str()]))
            .run(Cmd::write("pct", ["start", id.as_str()]))
            .disrupts(Disruption::Restart {
                of: Container::id_for(self.spec.id).to_string(),
            })
    }
}

impl ContainerState {
    /// The state of a container as the batched read found it: the settings `pct config` shows
    /// (pending values applied and pending deletions removed, read by the one conf parser).
    fn from_observed(found: &Observed) -> ContainerState {
        let keys = found
            .conf
            .with_pending()
            .sorted_keys()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        ContainerState {
            status: found.status.clone(),
            lock: found.lock.clone(),
            keys,
            lxc: found.conf.main.lxc.clone(),
            pending: found
                .conf
                .pending
                .as_ref()
                .is_some_and(|pending| !pending.keys.is_empty()),
            text: found.text.clone(),
        }
    }
}
