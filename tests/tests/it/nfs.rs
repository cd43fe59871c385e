//! NFS exports end to end on the simulated node: the lab's exports converge (package, exports
//! directory, the Phoenix-owned file checked by exportfs, the service, one `exportfs -ra`), a
//! second plan is empty with no command beyond the one probe, an edited option rewrites the
//! file once and re-exports once, a drifted export table is exported again, and bad exports are
//! refused at their JSON paths. The host network's drift is a warning, never a change.

use serde_json::Value;

use crate::support::{Scratch, arg, converge, on, operations_in, plan_json};

/// The lab's hypervisor config (ZFS, files and the seed's NFS exports) in a scratch directory.
fn lab_hypervisor(scratch: &Scratch) -> String {
    scratch.seed_lab_state();
    arg(&scratch.copy_lab_config(&["phoenix_hypervisor_config.json"])).to_owned()
}

/// The kinds and names of a JSON plan's changes.
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

fn count(ops: &[String], prefix: &str) -> usize {
    ops.iter().filter(|op| op.starts_with(prefix)).count()
}

#[test]
fn issue_9_nfs_exports_converge_then_plan_nothing_and_an_edited_option_rewrites_once() {
    let scratch = Scratch::new();
    let config = lab_hypervisor(&scratch);
    let first = plan_json(&config, &scratch);
    let planned = changed(&first);
    for id in [
        "package[nfs-kernel-server]",
        "directory[/etc/exports.d]",
        "file[/etc/exports.d/phoenix.exports]",
        "service[nfs-server.service]",
        "nfs.exports[node]",
    ] {
        assert!(planned.contains(&id.to_owned()), "{id} in {planned:?}");
    }
    let noop = converge(&config, &scratch);
    let state = scratch.state();
    let exports = &state.files["/etc/exports.d/phoenix.exports"];
    assert_eq!(exports.mode, 0o644);
    assert!(
        exports.content.contains(
            "/quickOS/shared-prod-data 10.0.0.0/24(rw,sync,no_subtree_check,no_root_squash)\n"
        ),
        "{}",
        exports.content
    );
    // The no-op plan reads the node with its one probe (which runs `exportfs -v` as a query).
    let by_program = &noop["stats"]["commands_by_program"];
    assert_eq!(by_program["sh"], 1, "{by_program}");
    assert_eq!(by_program.get("exportfs"), None, "{by_program}");
    assert_eq!(noop["stats"]["commands_writing"], 0);

    // One edited option: one file change, one re-export.
    let text = std::fs::read_to_string(scratch.config_file()).expect("the config");
    let edited = text.replacen(
        "\"options\": [\"rw\", \"sync\", \"no_subtree_check\", \"no_root_squash\"]",
        "\"options\": [\"rw\", \"async\", \"no_subtree_check\", \"no_root_squash\"]",
        1,
    );
    assert_ne!(edited, text);
    let config = arg(&scratch.write_config(&edited)).to_owned();
    let plan = plan_json(&config, &scratch);
    assert_eq!(
        changed(&plan),
        ["file[/etc/exports.d/phoenix.exports]", "nfs.exports[node]"]
    );
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let state = scratch.state();
    let ops = operations_in(&state.audit, state.run);
    assert_eq!(count(&ops, "run exportfs -ra"), 1, "{ops:#?}");
    assert_eq!(
        count(&ops, "run unshare --mount --net sh -c"),
        1,
        "{ops:#?}"
    );
    assert_eq!(
        count(
            &ops,
            "run mv -f -- /etc/exports.d/.phoenix.exports.phoenix-new"
        ),
        1,
        "{ops:#?}"
    );
    assert_eq!(
        count(&ops, "run systemctl"),
        0,
        "no restart or reload: {ops:#?}"
    );
    let etab = &state.tools["nfs"]["etab"];
    assert_eq!(
        etab.as_array().map(Vec::len),
        Some(3),
        "three exports are live: {etab}"
    );
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
}

#[test]
fn issue_9_an_export_dropped_from_the_live_table_is_exported_again() {
    let scratch = Scratch::new();
    let config = lab_hypervisor(&scratch);
    converge(&config, &scratch);
    // Someone ran `exportfs -u 10.0.0.0/24:/quickOS/shared-prod-data`.
    scratch.edit_state(|state| {
        let etab = state["tools"]["nfs"]["etab"].as_array_mut().expect("etab");
        etab.retain(|e| e["path"] != "/quickOS/shared-prod-data");
    });
    let plan = plan_json(&config, &scratch);
    assert_eq!(changed(&plan), ["nfs.exports[node]"]);
    let change = &plan["changes"][0];
    assert_eq!(change["fields"][0]["field"], "missing", "{change:#}");
    assert_eq!(
        change["fields"][0]["before"][0],
        "/quickOS/shared-prod-data 10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash,no_all_squash)"
    );
    assert_eq!(change["steps"][0]["cmd"]["args"][0], "-ra", "{change:#}");
    converge(&config, &scratch);
}

#[test]
fn issue_9_bad_exports_are_refused_at_their_json_paths_and_nothing_changes() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = scratch.write_config(
        r#"{"nfs": {"exports": [
  {"path": "/srv/missing", "clients": ["10.0.0.0/24"], "options": ["rw", "no_subtree_check"]},
  {"path": "/srv/x", "clients": ["10.0.0.0/33"], "options": ["rw", "no_root_sqash"]}
]}}"#,
    );
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr
            .contains("at nfs.exports[1].clients[0]: expected a client such as")
            && ran.stderr.contains("(the prefix is at most 32)")
            && ran
                .stderr
                .contains("at nfs.exports[1].options[1]: expected an export option exportfs knows")
            && ran.stderr.contains("did you mean \"no_root_squash\"?"),
        "{}",
        ran.stderr
    );
    let config = scratch.write_config(
        r#"{"nfs": {"exports": [
  {"path": "/srv/missing", "clients": ["10.0.0.0/24"], "options": ["rw", "no_subtree_check"]}
]}}"#,
    );
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("phoenix_hypervisor_config.json:2:12 at nfs.exports[0].path: nfs.path[/srv/missing]: NFS export /srv/missing does not exist and nothing in this run creates it"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        scratch.state().files.get("/etc/exports.d/phoenix.exports"),
        None
    );
}

#[test]
fn issue_9_an_empty_export_list_manages_nothing_and_says_so() {
    let scratch = Scratch::new();
    let config = scratch.write_config(r#"{"nfs": {"exports": []}}"#);
    let ran = on(&scratch, "plan", &config, &["--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let plan: Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(changed(&plan), Vec::<String>::new());
    assert!(
        plan["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|d| d["message"].as_str().is_some_and(
                |m| m.starts_with("nfs.exports is empty: Phoenix manages no NFS export here")
            )),
        "{plan:#}"
    );
}

#[test]
fn issue_9_host_network_drift_is_a_warning_and_never_a_change() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    scratch.edit_state(|state| {
        state["files"]["/etc/network/interfaces"] = serde_json::json!({
            "content": "auto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.14/24\n\tgateway 10.0.0.1\n\tbridge-ports eno1\n",
            "mode": "0644",
            "owner": "root:root"
        });
        state["files"]["/etc/resolv.conf"] = serde_json::json!({
            "content": "nameserver 8.8.8.8\n", "mode": "0644", "owner": "root:root"
        });
    });
    let config = scratch.write_config(
        r#"{"network": {"interfaces": {"name": "vmbr0", "address": "10.0.0.13/24", "gateway": "10.0.0.1", "dns_nameservers": "8.8.8.8"}, "portainer_server_ip": "10.0.0.99"}}"#,
    );
    let ran = on(&scratch, "apply", &config, &["--yes", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(
        report["plan"]["changes"],
        Value::Array(Vec::new()),
        "{report:#}"
    );
    assert_eq!(report["stats"]["commands_writing"], 0);
    let messages: Vec<String> = report["plan"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            format!(
                "{}: {}",
                d["severity"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "warning: network drift: vmbr0 has address 10.0.0.14/24 in /etc/network/interfaces, the config says 10.0.0.13/24."
        )),
        "{messages:#?}"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("network drift"))
            .count(),
        1,
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m
            .starts_with("note: network.portainer_server_ip is known but not managed by Phoenix")),
        "{messages:#?}"
    );
}

#[test]
fn issue_9_the_upstream_config_validates_with_nfs_and_network_managed() {
    let scratch = Scratch::new();
    let dir = scratch.copy_upstream_config(&["phoenix_hypervisor_config.json"]);
    let ran = crate::support::phoenix(&["validate", "--config", arg(&dir)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for key in ["\"nfs\"", "\"network\""] {
        assert!(
            !ran.stderr
                .contains(&format!("key {key} is known but not managed")),
            "{}",
            ran.stderr
        );
    }
}
