//! AppArmor on the testbed (issue 9): the real kernel loads `lxc-phoenix-v2` from the files
//! Phoenix writes, `aa-status` lists it, and a second apply runs no writing command.
//!
//! The testbed has no Proxmox, so the container that names the profile is not managed there (a
//! warning); the profile, which the container needs first, is.

use serde_json::{Value, json};

use super::{Live, Planned, assert_code, changes, example, json, live};
use crate::support::{Scratch, arg, phoenix};

/// Removes what Phoenix writes and unloads the profile (test set-up, not Phoenix).
const RESET_APPARMOR: &str = r#"set -u
if [ -f /etc/apparmor.d/lxc/lxc-phoenix-v2 ]; then
  apparmor_parser -R /etc/apparmor.d/lxc/lxc-phoenix-v2 > /dev/null 2>&1 || true
fi
rm -f /etc/apparmor.d/lxc/lxc-phoenix-v2 /etc/apparmor.d/tunables/phoenix-nesting
if aa-status --json | grep -q '"lxc-phoenix-v2"'; then echo "lxc-phoenix-v2 is still loaded" >&2; exit 1; fi"#;

/// A container config whose only container runs under `lxc-phoenix-v2`.
fn config(scratch: &Scratch) -> std::path::PathBuf {
    let containers = json!({"lxc_configs": {"902": {
        "name": "docker",
        "memory_mb": 2048,
        "cores": 2,
        "storage_pool": "local-lvm",
        "storage_size_gb": 8,
        "template": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        "network_config": {"bridge": "vmbr0", "ip": "dhcp"},
        "unprivileged": true,
        "pct_options": ["nesting=1", "keyctl=1"],
        "apparmor_profile": "lxc-phoenix-v2"
    }}});
    std::fs::create_dir_all(scratch.config_dir()).expect("config dir");
    std::fs::write(
        scratch.config_dir().join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(&containers).expect("JSON"),
    )
    .expect("write the config");
    scratch.config_dir()
}

/// The AppArmor changes of a JSON plan (the container itself is not managed on the testbed).
fn apparmor_changes(plan: &Value) -> Vec<Planned> {
    changes(plan)
        .into_iter()
        .filter(|c| c.id.contains("apparmor"))
        .collect()
}

/// The differential test for AppArmor on a fresh host: the testbed and its simulated node (the
/// testbed's recorded `aa-status`, the `apparmor` package installed) plan the same AppArmor
/// changes, argv included.
fn same_apparmor_plan(live: &Live, config: &std::path::Path) -> Vec<Planned> {
    let scratch = Scratch::new();
    std::fs::copy(example().join("sim-state.json"), scratch.state_file()).expect("seed the node");
    scratch.edit_state(|state| {
        state["tools"]["dpkg"] = json!({"installed": {"apparmor": "3.0.8-3"}});
    });
    let real = live.phoenix(&["plan", "--config", arg(config), "--json"]);
    let simulated = phoenix(&[
        "plan",
        "--config",
        arg(config),
        "--json",
        "--target",
        &scratch.target(),
    ]);
    let (real, simulated) = (json(&real), json(&simulated));
    assert_eq!(apparmor_changes(&simulated), apparmor_changes(&real));
    apparmor_changes(&real)
}

#[test]
fn issue_9_the_profile_is_loaded_on_the_testbed_and_a_second_apply_writes_nothing() {
    let Some(live) = live() else { return };
    live.sh(RESET_APPARMOR, &[]);
    let scratch = Scratch::new();
    let config = config(&scratch);
    assert_eq!(
        same_apparmor_plan(&live, &config).len(),
        3,
        "two files and the load"
    );
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "first apply");
    let report = json(&ran);
    assert!(
        report["stats"]["commands_by_program"]["apparmor_parser"].as_u64() == Some(3),
        "two validations and one load: {report:#}"
    );
    let status: Value =
        serde_json::from_str(&live.sh("aa-status --json", &[])).expect("aa-status --json is JSON");
    assert_eq!(
        status["profiles"]["lxc-phoenix-v2"], "enforce",
        "{status:#}"
    );
    // The distro loads it at boot from the directory Phoenix wrote it to.
    let names = live.sh("apparmor_parser -N /etc/apparmor.d/lxc-containers", &[]);
    assert!(
        names.lines().any(|name| name == "lxc-phoenix-v2"),
        "{names}"
    );

    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "second apply");
    let report = json(&ran);
    assert_eq!(report["stats"]["commands_writing"], 0, "{report:#}");
    assert!(
        report["stats"]["commands_by_program"]["apparmor_parser"].is_null(),
        "{report:#}"
    );
    live.sh(RESET_APPARMOR, &[]);
}
