//! NFS on the testbed VM (real nfs-kernel-server, exportfs and showmount): a dataset's export
//! converges, `showmount -e` lists it, a second apply writes nothing, and an edited option
//! rewrites the file once and re-exports once. The simulated node plans what the host plans.

use serde_json::Value;

use super::{SPARE, assert_code, json, live};
use crate::support::{Scratch, arg, phoenix};

/// A pool on the spare disk with one dataset, exported to the VM itself and its QEMU network.
fn nfs_config(options: &str) -> String {
    format!(
        r#"{{"zfs": {{"pools": [{{"name": "scratch", "raid_level": "single", "disks": ["{SPARE}"]}}],
  "datasets": [{{"name": "nfs-share", "pool": "scratch", "properties": "compression=lz4"}}]}},
 "nfs": {{"exports": [{{"path": "/scratch/nfs-share", "clients": ["127.0.0.1", "10.0.2.0/24"],
  "options": [{options}]}}]}}}}"#
    )
}

fn changed(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            format!(
                "{}[{}]",
                c["id"]["kind"].as_str().unwrap_or(""),
                c["id"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn issue_9_nfs_exports_converge_on_the_testbed_and_showmount_lists_them() {
    let Some(live) = live() else { return };
    let scratch = Scratch::new();
    let config = scratch.write_config(&nfs_config(r#""rw", "sync", "no_subtree_check""#));
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes"]);
    assert_code(&ran, 0, "apply");
    let listed = live.sh("showmount -e 127.0.0.1", &[]);
    assert!(
        listed.lines().any(|l| l.starts_with("/scratch/nfs-share ")
            && l.contains("127.0.0.1")
            && l.contains("10.0.2.0/24")),
        "{listed}"
    );
    let table = live.sh("exportfs -v", &[]);
    assert!(table.contains("/scratch/nfs-share"), "{table}");
    // A second apply writes nothing and runs only the inspection.
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "second apply");
    let report = json(&ran);
    assert_eq!(report["outcomes"], Value::Array(Vec::new()), "{report:#}");
    for stats in [&report["stats"], &report["plan"]["stats"]] {
        assert_eq!(stats["commands_writing"], 0, "{report:#}");
        assert_eq!(stats["file_writes"], 0, "{report:#}");
    }
    // One edited option: one file change, one re-export, nothing restarted.
    let edited = Scratch::new();
    let config = edited.write_config(&nfs_config(r#""rw", "async", "no_subtree_check""#));
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--json"]);
    assert_code(&ran, 0, "plan the edit");
    assert_eq!(
        changed(&json(&ran)),
        ["file[/etc/exports.d/phoenix.exports]", "nfs.exports[node]"]
    );
    let ran = live.phoenix(&["apply", "--config", arg(&config), "--yes", "--json"]);
    assert_code(&ran, 0, "apply the edit");
    let by_program = &json(&ran)["stats"]["commands_by_program"];
    assert_eq!(by_program["exportfs"], 1, "{by_program}");
    assert_eq!(by_program["unshare"], 1, "{by_program}");
    assert_eq!(by_program.get("systemctl"), None, "{by_program}");
    let table = live.sh("exportfs -v", &[]);
    assert!(table.contains("127.0.0.1(async,"), "{table}");
    let ran = live.phoenix(&["plan", "--config", arg(&config), "--detailed-exitcode"]);
    assert_code(&ran, 0, "plan after the edit");
}

#[test]
fn issue_9_the_simulated_node_plans_nfs_as_the_testbed_does() {
    let Some(live) = live() else { return };
    let scratch = Scratch::new();
    // The testbed's image has nfs-kernel-server installed and nfs-server running.
    let mut state: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::examples().join("testbed/sim-state.json"))
            .expect("the testbed node"),
    )
    .expect("JSON");
    state["tools"]["dpkg"]["installed"]["nfs-kernel-server"] = "1:2.6.2-4+deb12u1".into();
    state["tools"]["systemd"]["units"]["nfs-server.service"] =
        serde_json::json!({"unit_file_state": "enabled", "active": true});
    std::fs::write(scratch.state_file(), state.to_string()).expect("write the node");
    let config = scratch.write_config(&nfs_config(r#""rw", "sync", "no_subtree_check""#));
    let mut plans = Vec::new();
    for target in [live.target.clone(), scratch.target()] {
        let ran = phoenix(&[
            "plan",
            "--config",
            arg(&config),
            "--json",
            "--target",
            &target,
        ]);
        assert_code(&ran, 0, &format!("plan on {target}"));
        plans.push(json(&ran));
    }
    let (real, simulated) = (&plans[0], &plans[1]);
    assert_eq!(simulated["changes"], real["changes"]);
    assert_eq!(
        simulated["stats"]["commands_by_program"],
        real["stats"]["commands_by_program"]
    );
}
