//! The node files the driver needs: the `nouveau` blacklist (a core `file`) and the oneshot
//! unit that creates the device nodes at boot, before `pve-guests.service` starts containers
//! (so `/dev/nvidia-uvm*`, which only appear on first use, exist for their bind mounts): its
//! file is a core `file`, the unit itself `gpu.devices` ([`DeviceNodes`]).
//!
//! `gpu.devices` is converged like core's `service` (enabled and started only when it is not;
//! unchanged, nothing runs), with two differences the driver needs:
//! - its start waits while the loaded module is not the installed one (a driver installed in
//!   this run, or one waiting for its reboot): `nvidia-modprobe` would fail before the reboot,
//!   and the unit runs at that boot anyway, being enabled;
//! - a changed unit file of a unit systemd has loaded gets one `systemctl daemon-reload`, after
//!   the file is written (a new unit file needs none: systemd loads it on first use), and no
//!   restart: the nodes exist, and the new definition runs at the next boot.

use std::path::Path;

use async_trait::async_trait;
use phoenix_core::file::File;
use phoenix_core::probe::{UnitFact, observe};
use phoenix_core::{
    BoxError, Cmd, Ctx, Delta, Diagnostic, DynResource, FieldChange, Kind, Resource, ResourceId,
    Scope, Step,
};
use serde::Serialize;

use crate::driver::Driver;
use crate::host;

/// The kind of the device-node unit: `gpu.devices`.
pub const DEVICES_KIND: &str = "gpu.devices";

/// Where `nouveau` is blacklisted. `nvidia` is never blacklisted.
pub const BLACKLIST_PATH: &str = "/etc/modprobe.d/phoenix-blacklist-nouveau.conf";

/// The device-node unit.
pub const UNIT: &str = "phoenix-nvidia-devices.service";

/// Where the unit lives.
pub const UNIT_PATH: &str = "/etc/systemd/system/phoenix-nvidia-devices.service";

/// The blacklist's text.
pub fn blacklist_text() -> String {
    "# Managed by Phoenix: the NVIDIA driver needs nouveau kept out of the kernel.\nblacklist nouveau\noptions nouveau modeset=0\n".to_owned()
}

/// The unit's text: `nvidia-modprobe -u -c 0` creates `/dev/nvidia-uvm*` and `/dev/nvidia0`,
/// `nvidia-smi` the other GPUs' nodes and `/dev/nvidiactl`.
pub fn unit_text() -> String {
    "# Managed by Phoenix: the NVIDIA device nodes exist before any container starts.\n\
[Unit]\n\
Description=Create the NVIDIA device nodes before guests start\n\
After=systemd-modules-load.service\n\
Before=pve-guests.service\n\
\n\
[Service]\n\
Type=oneshot\n\
RemainAfterExit=yes\n\
ExecStart=/usr/bin/nvidia-modprobe -u -c 0\n\
ExecStart=/usr/bin/nvidia-smi\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n"
        .to_owned()
}

/// The blacklist file, the unit file and the unit (enabled, and started once the driver is
/// loaded), after the driver.
pub fn node_files(node: &Scope) -> Vec<Box<dyn DynResource>> {
    let unit_file = File::new(UNIT_PATH, unit_text())
        .in_scope(node)
        .mode(0o644)
        .owner("root:root")
        .depends_on(Driver::id_for());
    let unit_file_id = File::id_in(node, Path::new(UNIT_PATH));
    vec![
        Box::new(
            File::new(BLACKLIST_PATH, blacklist_text())
                .in_scope(node)
                .mode(0o644)
                .owner("root:root"),
        ),
        Box::new(unit_file),
        Box::new(DeviceNodes::new(node, unit_file_id)),
    ]
}

/// The device-node unit: enabled, and started unless the driver waits for a reboot.
#[derive(Debug, Clone)]
pub struct DeviceNodes {
    node: Scope,
    file: ResourceId,
}

/// The unit as systemd has it, and why its start waits, if it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceNodesState {
    /// `None`: systemd does not know the unit (its file is new).
    pub unit: Option<UnitFact>,
    /// Why the start waits: the loaded module is not the installed one.
    pub waits: Option<String>,
    /// Whether the unit file on the node is not Phoenix's text (the file resource rewrites it
    /// before this unit's steps run).
    pub file_differs: bool,
}

impl DeviceNodes {
    /// The unit on `node`, whose file is the resource `file`.
    pub fn new(node: &Scope, file: ResourceId) -> DeviceNodes {
        host::observe_node(node);
        node.observe(|inventory| {
            inventory.units.insert(UNIT.to_owned());
            inventory.paths.insert(UNIT_PATH.to_owned());
        });
        DeviceNodes {
            node: node.clone(),
            file,
        }
    }

    fn systemctl(&self, verb: &str) -> Step {
        Step::run(self.node.command(Cmd::write("systemctl", [verb, UNIT])))
    }

    fn daemon_reload(&self) -> Step {
        Step::run(
            self.node
                .command(Cmd::write("systemctl", ["daemon-reload"])),
        )
    }
}

/// Why the unit's start waits: no module loaded, or not the one installed for the running
/// kernel (a driver installed since the last boot).
pub fn start_waits(loaded: Option<&str>, installed: Option<&str>) -> Option<String> {
    match (loaded, installed) {
        (None, _) => Some("no NVIDIA module is loaded; the driver needs a reboot".to_owned()),
        (Some(loaded), Some(installed)) if loaded != installed => Some(format!(
            "NVIDIA driver {installed} is installed but {loaded} is loaded; the driver needs a reboot"
        )),
        _ => None,
    }
}

#[async_trait]
impl Resource for DeviceNodes {
    type State = DeviceNodesState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(DEVICES_KIND), UNIT)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        vec![Driver::id_for(), self.file.clone()]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<DeviceNodesState>, BoxError> {
        let facts = observe(cx, &self.node).await?;
        let gpu = host::from_facts(&facts)?;
        Ok(Some(DeviceNodesState {
            unit: facts
                .units
                .get(UNIT)
                .filter(|unit| unit.load_state != "not-found")
                .cloned(),
            waits: start_waits(gpu.loaded.as_deref(), gpu.installed.as_deref()),
            file_differs: facts
                .paths
                .get(UNIT_PATH)
                .and_then(|path| path.content.as_deref())
                != Some(unit_text().as_str()),
        }))
    }

    fn diff(&self, observed: Option<&DeviceNodesState>) -> Delta {
        let unit = observed.and_then(|state| state.unit.as_ref());
        let mut delta = Delta::none();
        // A unit systemd has loaded rereads its changed file; a new one is loaded on first use.
        if unit.is_some() && observed.is_some_and(|state| state.file_differs) {
            delta = delta
                .field(
                    FieldChange::new("daemon-reload", None, Some(true.into()))
                        .note(format!("{UNIT_PATH} changes")),
                )
                .step(self.daemon_reload());
        }
        let file_state = unit.map(|u| u.unit_file_state.as_str());
        if file_state.is_none_or(|state| state != "enabled") {
            delta = delta
                .field(FieldChange::new(
                    "enabled",
                    file_state.map(Into::into),
                    Some("enabled".into()),
                ))
                .step(self.systemctl("enable"));
        }
        let active = unit.map(|u| u.active_state.as_str());
        if active != Some("active") {
            match observed.and_then(|state| state.waits.as_deref()) {
                Some(why) => {
                    delta = delta.diagnostic(Diagnostic::note(format!(
                        "{UNIT} starts at the next boot, not now: {why}"
                    )));
                }
                None => {
                    delta = delta
                        .field(FieldChange::new(
                            "active",
                            active.map(Into::into),
                            Some("active".into()),
                        ))
                        .step(self.systemctl("start"));
                }
            }
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(file: &str, active: &str) -> UnitFact {
        UnitFact {
            load_state: "loaded".into(),
            active_state: active.into(),
            sub_state: String::new(),
            unit_file_state: file.into(),
        }
    }

    /// (unit, loaded, installed, steps, note)
    type Case<'a> = (
        Option<UnitFact>,
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
        bool,
    );

    #[test]
    fn issue_11_the_unit_is_enabled_at_once_and_started_only_with_the_driver_loaded() {
        let want = Some("580.76.05");
        let cases: &[Case<'_>] = &[
            // A fresh install: enabled, its start waits for the reboot.
            (
                None,
                None,
                None,
                &["systemctl enable phoenix-nvidia-devices.service"],
                true,
            ),
            (
                None,
                None,
                want,
                &["systemctl enable phoenix-nvidia-devices.service"],
                true,
            ),
            // Installed and loaded, the unit new: enabled and started.
            (
                None,
                want,
                want,
                &[
                    "systemctl enable phoenix-nvidia-devices.service",
                    "systemctl start phoenix-nvidia-devices.service",
                ],
                false,
            ),
            // An upgrade waiting for its reboot: nothing runs now.
            (
                Some(unit("enabled", "inactive")),
                Some("570.1.2"),
                want,
                &[],
                true,
            ),
            // Converged: nothing.
            (Some(unit("enabled", "active")), want, want, &[], false),
            (
                Some(unit("enabled", "inactive")),
                want,
                want,
                &["systemctl start phoenix-nvidia-devices.service"],
                false,
            ),
        ];
        let scopes = phoenix_core::Scopes::new(Vec::new());
        let res = DeviceNodes::new(
            &scopes.node(),
            File::id_in(&scopes.node(), Path::new(UNIT_PATH)),
        );
        for (unit, loaded, installed, steps, note) in cases {
            let state = DeviceNodesState {
                unit: unit.clone(),
                waits: start_waits(*loaded, *installed),
                file_differs: unit.is_none(),
            };
            let delta = Resource::diff(&res, Some(&state));
            let got: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
            assert_eq!(got, *steps, "{state:?}");
            assert_eq!(
                delta
                    .diagnostics
                    .iter()
                    .any(|d| d.message.contains("starts at the next boot")),
                *note,
                "{state:?}"
            );
        }
    }

    #[test]
    fn the_unit_runs_before_guests_and_nvidia_is_never_blacklisted() {
        let unit = unit_text();
        assert!(unit.contains("Before=pve-guests.service\n"));
        assert!(unit.contains("ExecStart=/usr/bin/nvidia-modprobe -u -c 0\n"));
        let blacklist = blacklist_text();
        assert!(blacklist.contains("blacklist nouveau\n"));
        assert!(
            !blacklist
                .lines()
                .any(|line| line.starts_with("blacklist nvidia"))
        );
    }
}
