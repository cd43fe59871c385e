//! Recovery from a command that failed halfway through a container's provisioning: the next
//! apply converges the running state the container should have, not only its files.

use serde_json::json;

use crate::support::{Scratch, arg, on};

/// The status the pct emulator keeps for container `id` (no entry: stopped).
fn status(scratch: &Scratch, id: &str) -> String {
    scratch.state().tools["pct"]["containers"][id]["status"]
        .as_str()
        .unwrap_or("stopped")
        .to_owned()
}

#[test]
fn issue_8_a_template_left_running_by_a_failed_provisioning_is_stopped() {
    for needle in ["apt-get update", "locale-gen", "sh -c", "shutdown 900"] {
        let scratch = Scratch::new();
        scratch.seed_lab_state();
        let dir = scratch
            .copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
        let config = arg(&dir).to_owned();
        scratch.edit_state(|state| {
            state["faults"] = json!([{
                "program": "pct",
                "argv_contains": format!("{needle}"),
                "nth": 1,
                "stderr": "E: Could not get lock\n",
            }]);
        });
        let ran = on(&scratch, "apply", &config, &["--yes"]);
        assert_eq!(
            ran.code, 1,
            "{needle}: the fault fails the apply: {}",
            ran.stdout
        );
        assert_eq!(status(&scratch, "900"), "running", "{needle}: left running");

        let ran = on(&scratch, "apply", &config, &["--yes"]);
        assert_eq!(ran.code, 0, "{needle}: {}\n{}", ran.stdout, ran.stderr);
        assert_eq!(
            status(&scratch, "900"),
            "stopped",
            "{needle}: a template that does not start at boot is stopped again"
        );
        let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
        assert_eq!(ran.code, 0, "{needle}: converged: {}", ran.stdout);
    }
}
