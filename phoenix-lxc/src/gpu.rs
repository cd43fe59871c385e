//! `lxc.gpu`: a container's NVIDIA passthrough lines in its conf, for a container whose
//! `gpu_assignment` is given (`"none"` removes them).
//!
//! This provider owns `/etc/pve/lxc/<vmid>.conf` and writes every line of it; the lines come
//! from `phoenix_pve::gpu` (`passthrough_lines` in the form the node takes, `found_lines` and
//! `plan_edit` for what is there and what changes), and the node's side from the queries of the
//! node's one probe that phoenix-gpu reads too (`phoenix_pve::gpu::node_queries`): the GPUs
//! `nvidia-smi` lists, the majors of `/proc/devices`, pve-container's version. So:
//! - on pve-container ≥ 5.0.7, `devN:` entries through `pct set` (matched by value, so their
//!   numbers and a moved major do not matter); older, one block of cgroup allowances and bind
//!   mounts with the majors read at plan time, replaced as a whole when a major moved;
//! - an index the node lacks changes nothing here (phoenix-gpu's `gpu.assignment` reports the
//!   plan error); GPUs that cannot be listed yet (no driver, or a reboot pending) defer the
//!   change with a warning naming the container and why;
//! - a running container restarts once after a change, which the plan announces.
//!
//! The MIG capability nodes (`/dev/nvidia-caps/*`) are not passed: no probe query lists them
//! yet, and a `devN` entry whose device is missing stops the container from starting.
//!
//! It runs after `lxc.container` and before the container's provisioning and snapshot, in the
//! container's lock domain. Like `lxc.snapshot`, `apply` acts on the live conf (a clone inherits
//! its parent's lines); the plan shows the steps for the plan-time conf.

use std::path::Path;

use async_trait::async_trait;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, Diagnostic, Disruption, FieldChange, Kind, Resource,
    ResourceId, Scope, Step,
};
use phoenix_pve::gpu::{Edit, Found, Line, NodeGpus, found_lines, passthrough_lines, plan_edit};
use serde::Serialize;

use crate::container::settings::replace_in_main;
use crate::container::{Container, lock};
use crate::facts::{Containers, conf_path, is_running};

/// The kind: `lxc.gpu`.
pub const KIND: &str = "lxc.gpu";

/// One container's passthrough lines.
#[derive(Debug, Clone)]
pub struct Passthrough {
    id: u32,
    /// The GPU indexes (empty: `"none"`).
    gpus: Vec<u32>,
    /// The config's own raw lines, which are never the passthrough's.
    config_lxc: Vec<Line>,
    node: Scope,
}

/// What the conf and the node say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassthroughState {
    /// `running` or `stopped`; `None` while the container is still to be created by this run.
    pub status: Option<String>,
    /// The conf text (empty when the container does not exist yet).
    pub text: String,
    /// The node's GPUs, majors and pve-container version (default when no GPU is wanted).
    pub node: NodeGpus,
}

impl Passthrough {
    /// The passthrough of `gpus` into container `id`, whose config asks for the raw lines
    /// `config_lxc` itself; registers the node's queries.
    pub fn new(node: &Scope, id: u32, gpus: Vec<u32>, config_lxc: Vec<Line>) -> Passthrough {
        if !gpus.is_empty() {
            phoenix_pve::gpu::observe_node(node);
        }
        Passthrough {
            id,
            gpus,
            config_lxc,
            node: node.clone(),
        }
    }

    /// The id of container `id`'s passthrough.
    pub fn id_for(id: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id.to_string())
    }

    /// The node's side, read only when GPUs are wanted.
    async fn node(&self, cx: &Ctx<'_>) -> Result<NodeGpus, BoxError> {
        if self.gpus.is_empty() {
            return Ok(NodeGpus::default());
        }
        let facts = observe(cx, &self.node).await?;
        Ok(phoenix_pve::gpu::node_gpus(&facts)
            .map_err(|e| format!("read the node's GPU queries: {e}"))?)
    }

    /// The lines wanted on this node, or why they are deferred (`Ok(None)`: an index the node
    /// lacks, which `gpu.assignment` reports).
    fn want(&self, node: &NodeGpus) -> Result<Option<Vec<Line>>, String> {
        if self.gpus.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let Some(indexes) = node.indexes() else {
            let why = node.gpus_error.as_deref().unwrap_or("the GPUs are unknown");
            return Err(format!("the node's GPUs cannot be listed ({why})"));
        };
        if self.gpus.iter().any(|gpu| !indexes.contains(gpu)) {
            return Ok(None);
        }
        let form = node.form()?;
        Ok(Some(passthrough_lines(&self.gpus, &[], form, 0)))
    }

    /// The change from `state`: the edit's fields and steps, and the restart of a running
    /// container.
    fn delta(&self, state: &PassthroughState) -> Delta {
        let want = match self.want(&state.node) {
            Ok(Some(want)) => want,
            Ok(None) => return Delta::none(),
            Err(why) => {
                return Delta::none().diagnostic(Diagnostic::warning(format!(
                    "GPU passthrough of container {} is deferred: {why}; its conf lines follow once the NVIDIA driver is loaded",
                    self.id
                )));
            }
        };
        let conf = match phoenix_pve::parse_conf(&state.text) {
            Ok(conf) => conf,
            Err(err) => {
                return Delta::none().diagnostic(Diagnostic::error(format!(
                    "read {}: {err}",
                    conf_path(self.id)
                )));
            }
        };
        let found = found_lines(&conf.main, &self.config_lxc);
        let edit = plan_edit(&want, &found, &conf.main);
        if edit.is_empty() {
            return Delta::none();
        }
        let mut delta = Delta::none().field(field(&found, &edit));
        delta = self.raw_steps(state, &edit, delta);
        if !edit.set.is_empty() || !edit.delete.is_empty() {
            let mut set = Cmd::write("pct", ["set", &self.id.to_string()]);
            for (key, value) in &edit.set {
                set = set.arg(format!("--{key}")).arg(value.clone());
            }
            if !edit.delete.is_empty() {
                set = set.arg("--delete").arg(edit.delete.join(","));
            }
            delta = delta.run(set);
        }
        if state.status.as_deref() == Some("running") {
            let id = self.id.to_string();
            delta = delta
                .run(Cmd::write("pct", ["shutdown", id.as_str()]))
                .run(Cmd::write("pct", ["start", id.as_str()]))
                .disrupts(Disruption::Restart {
                    of: Container::id_for(self.id).to_string(),
                });
        }
        delta
    }

    /// The raw lines' part: the conf rewritten with the new block in the old one's place (at the
    /// end of the main section when there was none), or appended to the conf of a container this
    /// run creates.
    fn raw_steps(&self, state: &PassthroughState, edit: &Edit, delta: Delta) -> Delta {
        if edit.remove_raw.is_empty() && edit.add_raw.is_empty() {
            return delta;
        }
        let path = conf_path(self.id);
        let block: String = edit
            .add_raw
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect();
        if state.status.is_none() {
            return delta.run(
                Cmd::write("tee", ["-a".to_owned(), path])
                    .stdin(crate::secret::conf_content(block)),
            );
        }
        let removed: Vec<&Line> = edit.remove_raw.iter().collect();
        let new_text = replace_in_main(&state.text, &removed, &block);
        delta
            .file_diff(phoenix_core::file::unified_diff(
                Path::new(&path),
                &crate::secret::redact_conf(&state.text),
                &crate::secret::redact_conf(&new_text),
            ))
            .step(Step::WriteFile {
                path: path.into(),
                content: crate::secret::conf_content(new_text),
                mode: 0o640,
                owner: None,
            })
    }
}

/// The `gpu` field: the passthrough before and after, in short (the steps and the conf's diff
/// show the lines): `devN /dev/nvidia0, ...`, or `allow c 195, 238; bind /dev/nvidia0, ...`.
fn field(found: &Found, edit: &Edit) -> FieldChange {
    let kept_dev: Vec<Line> = found
        .dev
        .iter()
        .filter(|(key, _)| !edit.delete.contains(key))
        .chain(&edit.set)
        .cloned()
        .collect();
    let kept_raw: Vec<Line> = if edit.remove_raw.is_empty() && edit.add_raw.is_empty() {
        found.raw.clone()
    } else {
        edit.add_raw.clone()
    };
    let before = summary(&found.dev, &found.raw);
    let after = summary(&kept_dev, &kept_raw);
    FieldChange::new(
        "gpu",
        (!before.is_empty()).then(|| before.into()),
        Some(
            if after.is_empty() {
                "none".to_owned()
            } else {
                after
            }
            .into(),
        ),
    )
    .note("NVIDIA passthrough")
}

/// The devices of `devN` entries, the majors allowed and the nodes bind-mounted (empty for no
/// line).
fn summary(dev: &[Line], raw: &[Line]) -> String {
    let mut parts = Vec::new();
    let devices: Vec<&str> = dev
        .iter()
        .map(|(_, value)| value.split(',').next().unwrap_or_default())
        .collect();
    if !devices.is_empty() {
        parts.push(format!("devN {}", devices.join(", ")));
    }
    let words = |key: &str, at: usize| -> Vec<&str> {
        raw.iter()
            .filter(|(k, _)| k == key)
            .filter_map(|(_, value)| value.split_whitespace().nth(at))
            .collect()
    };
    let majors: Vec<&str> = words("lxc.cgroup2.devices.allow", 1)
        .into_iter()
        .map(|major| major.trim_end_matches(":*"))
        .collect();
    if !majors.is_empty() {
        parts.push(format!("allow c {}", majors.join(", ")));
    }
    let mounts = words("lxc.mount.entry", 0);
    if !mounts.is_empty() {
        parts.push(format!("bind {}", mounts.join(", ")));
    }
    parts.join("; ")
}

#[async_trait]
impl Resource for Passthrough {
    type State = PassthroughState;

    fn id(&self) -> ResourceId {
        Passthrough::id_for(self.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        vec![Container::id_for(self.id)]
    }

    fn locks(&self) -> Vec<String> {
        vec![lock(self.id)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PassthroughState>, BoxError> {
        let all = cx.fact(&Containers).await?;
        let node = self.node(cx).await?;
        let found = all.get(&self.id);
        Ok(Some(PassthroughState {
            status: found.map(|observed| observed.status.clone()),
            text: found
                .map(|observed| observed.text.clone())
                .unwrap_or_default(),
            node,
        }))
    }

    fn diff(&self, observed: Option<&PassthroughState>) -> Delta {
        match observed {
            Some(state) => self.delta(state),
            None => Delta::none(),
        }
    }

    /// Earlier resources of this run created, cloned or changed the container: the edit is
    /// decided from the live conf.
    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let path = conf_path(self.id);
        let text = cx
            .host()
            .read_file(Path::new(&path))
            .await?
            .ok_or_else(|| format!("{path} does not exist: the container was not created"))?
            .content;
        let running = is_running(cx.host(), self.id).await?;
        let state = PassthroughState {
            status: Some(if running { "running" } else { "stopped" }.to_owned()),
            text,
            node: self.node(cx).await?,
        };
        phoenix_core::resource::run_steps(&self.delta(&state).steps, cx).await
    }
}

#[cfg(test)]
mod tests;
