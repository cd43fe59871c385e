//! systemd on the node: `systemctl show -p PROPS UNIT...` and `systemctl VERB UNIT`.
//!
//! `systemctl show` prints, per unit, the requested properties in systemd's own order (not the
//! order of `-p`; `fixtures/host/systemctl-show.txt`), empty ones included because `-p` asks for
//! them, with a blank line between units; an unknown unit is `LoadState=not-found`. The verbs
//! `enable`, `disable`, `start`, `stop`, `restart`, `reload` and `reload-or-restart` change the
//! unit's state in the node's `systemd` namespace, which also counts restarts and reloads (and
//! `systemctl daemon-reload`s) so tests can see them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::emulator::{SimOutput, SimSys};

/// The `systemd` namespace of the node's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Units {
    #[serde(default)]
    pub(crate) units: BTreeMap<String, Unit>,
    /// How many `systemctl daemon-reload` ran.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) daemon_reloads: u32,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// One unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unit {
    /// `enabled`, `disabled` or `static`.
    pub(crate) unit_file_state: String,
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) restarts: u32,
    #[serde(default)]
    pub(crate) reloads: u32,
}

impl Unit {
    /// A unit as a package's maintainer scripts leave it: enabled and running.
    pub(crate) fn installed() -> Unit {
        Unit {
            unit_file_state: "enabled".into(),
            active: true,
            restarts: 0,
            reloads: 0,
        }
    }
}

/// Properties in the order `systemctl show` prints them.
const ORDER: &[&str] = &[
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "FragmentPath",
    "UnitFileState",
];

/// `systemctl ARGS`.
pub(crate) fn systemctl(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    match args.split_first() {
        Some((verb, rest)) if verb == "show" => show(rest, sys),
        Some((verb, [])) if verb == "daemon-reload" => daemon_reload(sys),
        Some((verb, [unit])) => change(verb, unit, sys),
        _ => SimOutput::fail(
            1,
            format!(
                "phoenix sim: `systemctl {}` is not emulated\n",
                args.join(" ")
            ),
        ),
    }
}

/// `systemctl daemon-reload`: systemd rereads every unit file; it prints nothing. Counted, so
/// tests can see that none runs without need.
fn daemon_reload(sys: &mut SimSys<'_>) -> SimOutput {
    let mut units: Units = sys.load("systemd");
    units.daemon_reloads += 1;
    sys.store("systemd", &units);
    SimOutput::ok_mutated("")
}

/// `systemctl show -p A,B [--] UNIT...`.
fn show(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let units: Units = sys.load("systemd");
    let mut properties: Vec<String> = Vec::new();
    let mut names: Vec<&String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-p" | "--property" => {
                properties.extend(
                    iter.next()
                        .into_iter()
                        .flat_map(|p| p.split(',').map(str::to_owned)),
                );
            }
            "--" => {}
            _ if arg.starts_with('-') => {
                return SimOutput::fail(
                    1,
                    format!("phoenix sim: `systemctl show {arg}` is not emulated\n"),
                );
            }
            _ => names.push(arg),
        }
    }
    if properties.is_empty() || names.is_empty() {
        return SimOutput::fail(
            1,
            "phoenix sim: only `systemctl show -p PROPS UNIT...` is emulated\n",
        );
    }
    let blocks: Vec<String> = names
        .iter()
        .map(|name| {
            let name = if name.contains('.') {
                (*name).clone()
            } else {
                format!("{name}.service")
            };
            let unit = units
                .units
                .get(&name)
                .cloned()
                .or_else(|| local_unit(&name, sys));
            let unit = unit.as_ref();
            ORDER
                .iter()
                .filter(|p| properties.iter().any(|q| q == *p))
                .map(|p| format!("{p}={}\n", property(p, &name, unit)))
                .collect()
        })
        .collect();
    SimOutput::ok(blocks.join("\n"))
}

/// A unit whose file an administrator (or Phoenix) wrote into `/etc/systemd/system`: systemd
/// knows it, disabled and inactive, until a verb changes it.
fn local_unit(id: &str, sys: &SimSys<'_>) -> Option<Unit> {
    sys.read(&format!("/etc/systemd/system/{id}"))
        .map(|_| Unit {
            unit_file_state: "disabled".into(),
            active: false,
            restarts: 0,
            reloads: 0,
        })
}

fn property(name: &str, id: &str, unit: Option<&Unit>) -> String {
    match (name, unit) {
        ("Id", _) => id.to_owned(),
        ("LoadState", Some(_)) => "loaded".into(),
        ("LoadState", None) => "not-found".into(),
        ("ActiveState", Some(u)) if u.active => "active".into(),
        ("ActiveState", _) => "inactive".into(),
        ("SubState", Some(u)) if u.active => "running".into(),
        ("SubState", _) => "dead".into(),
        ("FragmentPath", Some(_)) => format!("/lib/systemd/system/{id}"),
        ("UnitFileState", Some(u)) => u.unit_file_state.clone(),
        _ => String::new(),
    }
}

/// `systemctl VERB UNIT`.
fn change(verb: &str, name: &str, sys: &mut SimSys<'_>) -> SimOutput {
    let mut units: Units = sys.load("systemd");
    let id = if name.contains('.') {
        name.to_owned()
    } else {
        format!("{name}.service")
    };
    if let Some(local) = local_unit(&id, sys) {
        units.units.entry(id.clone()).or_insert(local);
    }
    let Some(unit) = units.units.get_mut(&id) else {
        return match verb {
            "enable" | "disable" => SimOutput::fail(
                1,
                format!("Failed to {verb} unit: Unit file {id} does not exist.\n"),
            ),
            _ => SimOutput::fail(5, format!("Failed to {verb} {id}: Unit {id} not found.\n")),
        };
    };
    let mut stderr = String::new();
    match verb {
        "enable" if unit.unit_file_state != "enabled" => {
            unit.unit_file_state = "enabled".into();
            stderr = format!(
                "Created symlink /etc/systemd/system/multi-user.target.wants/{id} → /lib/systemd/system/{id}.\n"
            );
        }
        "disable" if unit.unit_file_state == "enabled" => {
            unit.unit_file_state = "disabled".into();
            stderr = format!("Removed \"/etc/systemd/system/multi-user.target.wants/{id}\".\n");
        }
        "enable" | "disable" => {}
        "start" => unit.active = true,
        "stop" => unit.active = false,
        "restart" => {
            unit.active = true;
            unit.restarts += 1;
        }
        "reload" if !unit.active => {
            return SimOutput::fail(1, format!("{id} is not active, cannot reload.\n"));
        }
        "reload" | "reload-or-restart" if unit.active => unit.reloads += 1,
        "reload-or-restart" => unit.active = true,
        _ => {
            return SimOutput::fail(
                1,
                format!("phoenix sim: `systemctl {verb}` is not emulated\n"),
            );
        }
    }
    sys.store("systemd", &units);
    SimOutput::ok_mutated("").with_stderr(stderr)
}
