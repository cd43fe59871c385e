//! The LXC provider end to end on the simulated node: the upstream containers and the example
//! converge in dependency order and then touch nothing, inspection has a fixed command budget,
//! edits restart only what they must, `reconfigure` rolls back and converges, bad input is refused.

use serde_json::{Value, json};

use crate::support::{
    Ran, Scratch, apply, arg, converge_with, lab, mutations_in, on, phoenix, plan_json,
};

/// The argv of every command the last run executed.
fn last_run_commands(scratch: &Scratch) -> Vec<String> {
    let state = scratch.state();
    state
        .audit
        .iter()
        .filter(|e| e.run == state.run && e.op.to_string() == "run")
        .map(|e| e.argv.join(" "))
        .collect()
}

/// Converges (see `support::converge`), also checking that the second apply stops and starts
/// nothing.
fn converge(config: &str, scratch: &Scratch) -> Value {
    converge_with(config, scratch, |scratch| {
        let commands = last_run_commands(scratch);
        assert!(
            !commands.iter().any(|c| c.starts_with("pct start")
                || c.starts_with("pct stop")
                || c.starts_with("pct shutdown")),
            "no start or stop: {commands:?}"
        );
    })
}

/// `phoenix reconfigure <ctid> --config <config> --target <scratch> --yes`.
fn reconfigure(scratch: &Scratch, ctid: &str, config: &str) -> Ran {
    phoenix(&[
        "reconfigure",
        ctid,
        "--config",
        config,
        "--target",
        &scratch.target(),
        "--yes",
    ])
}

fn position(commands: &[String], prefix: &str) -> usize {
    commands
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no command starting with {prefix:?} in {commands:#?}"))
}

/// The upstream files in a scratch config dir, on the example's node plus the storage the
/// upstream containers use but upstream never defined.
fn upstream_scratch() -> (Scratch, String) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    scratch.add_upstream_storage();
    let config = scratch
        .copy_upstream_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let config = arg(&config).to_owned();
    (scratch, config)
}

#[test]
fn the_upstream_containers_converge_parents_and_dependencies_first() {
    let (scratch, config) = upstream_scratch();
    apply(&config, &scratch);
    let commands = last_run_commands(&scratch);
    // Templates before clones: 900 is created and snapshotted before 901 clones it, and so on
    // down the tree; a dependency (101) is provisioned before its dependents are cloned.
    assert!(position(&commands, "pct create 900") < position(&commands, "pct snapshot 900"));
    assert!(position(&commands, "pct snapshot 900") < position(&commands, "pct clone 900 901"));
    assert!(position(&commands, "pct snapshot 901") < position(&commands, "pct clone 901 911"));
    assert!(position(&commands, "pct snapshot 911") < position(&commands, "pct clone 911 801"));
    assert!(position(&commands, "pct snapshot 101") < position(&commands, "pct clone 911 801"));
    // Boot order: 101 (order 1) starts before 803 (order 2) before 801 (order 3).
    assert!(position(&commands, "pct start 101") < position(&commands, "pct start 803"));
    assert!(position(&commands, "pct start 803") < position(&commands, "pct start 801"));
    let noop = converge(&config, &scratch);
    let stats = &noop["stats"]["commands_by_program"];
    assert_eq!(stats["grep"], 1, "{stats}");
    assert_eq!(stats["pct"], 1, "one pct list and no pct exec: {stats}");
    // One host command probes every running container for this provider, and one carries the
    // scope probes of every container with other providers' resources (952's docker).
    assert_eq!(
        stats["timeout"], 2,
        "two host commands probe every running container: {stats}"
    );
}

/// A config dir with the lab's hypervisor file and `n` running containers with features,
/// cloned from one `base_setup` template (what a new user with many tenants writes).
fn generated_running(scratch: &Scratch, n: u32) -> String {
    let mut containers = serde_json::Map::new();
    let template =
        "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
    containers.insert(
        "900".into(),
        json!({"name": "base", "memory_mb": 512, "cores": 1, "storage_pool": "quickOS-lxc-disks", "storage_size_gb": 8,
               "template": template, "features": ["base_setup"],
               "network_config": {"bridge": "vmbr0", "ip": "10.1.0.1/16", "gw": "10.1.0.254"}}),
    );
    for i in 1..=n {
        containers.insert(
            format!("{}", 1000 + i),
            json!({"name": format!("tenant-{i}"), "memory_mb": 512, "cores": 1, "storage_pool": "quickOS-lxc-disks", "storage_size_gb": 8,
                   "clone_from_ctid": "900", "start_at_boot": true, "features": ["base_setup"],
                   "network_config": {"bridge": "vmbr0", "ip": format!("10.1.{}.{}/16", i / 200, i % 200 + 2), "gw": "10.1.0.254"}}),
        );
    }
    let dir = scratch.copy_lab_config(&["phoenix_hypervisor_config.json"]);
    std::fs::write(
        dir.join("phoenix_lxc_configs.json"),
        json!({"lxc_configs": containers}).to_string(),
    )
    .expect("write");
    arg(&dir).to_owned()
}

/// The commands of a no-op plan for `n` generated running containers with features, by program.
fn noop_commands(n: u32) -> Value {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = generated_running(&scratch, n);
    // One apply then a plan (not a whole `converge`, which applies twice: 1,000 containers
    // are slow enough to provision once in a debug build).
    apply(&config, &scratch);
    let noop = plan_json(&config, &scratch);
    assert_eq!(noop["changes"], json!([]), "a no-op plan");
    assert!(
        !last_run_commands(&scratch)
            .iter()
            .any(|c| c.starts_with("pct exec")),
        "no per-container probe"
    );
    noop["stats"]["commands_by_program"].clone()
}

/// Issue 10: a no-op plan of 13 or 1,000 running containers with features runs the same
/// commands, at most 12, whatever the number of containers.
#[test]
fn issue_10_a_noop_plan_costs_the_same_commands_for_13_and_1000_running_containers() {
    let few = noop_commands(13);
    let many = noop_commands(1000);
    assert_eq!(few, many);
    let total: u64 = many
        .as_object()
        .expect("an object")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(total <= 12, "{total} commands: {many}");
    assert_eq!(many["timeout"], 1, "{many}");
}

#[test]
fn three_hundred_containers_cost_two_commands_to_inspect() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut containers = serde_json::Map::new();
    let template =
        "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
    containers.insert(
        "900".into(),
        json!({"name": "base", "memory_mb": 512, "cores": 1, "storage_pool": "quickOS-lxc-disks", "storage_size_gb": 8,
               "template": template, "network_config": {"bridge": "vmbr0", "ip": "10.1.0.1/16", "gw": "10.1.0.254"}}),
    );
    for i in 1..300 {
        containers.insert(
            format!("{}", 1000 + i),
            json!({"name": format!("tenant-{i}"), "memory_mb": 512, "cores": 1, "storage_pool": "quickOS-lxc-disks", "storage_size_gb": 8,
                   "clone_from_ctid": "900", "start_at_boot": i % 2 == 0, "boot_order": i % 3,
                   "network_config": {"bridge": "vmbr0", "ip": format!("10.1.{}.{}/16", i / 200, i % 200 + 2), "gw": "10.1.0.254"}}),
        );
    }
    let dir = scratch.copy_lab_config(&["phoenix_hypervisor_config.json"]);
    std::fs::write(
        dir.join("phoenix_lxc_configs.json"),
        json!({"lxc_configs": containers}).to_string(),
    )
    .expect("write");
    let config = arg(&dir).to_owned();
    let noop = converge(&config, &scratch);
    let stats = &noop["stats"]["commands_by_program"];
    assert_eq!(
        (stats["pct"].as_u64(), stats["grep"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );
}

fn lab_lxc() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(lab().join("phoenix_lxc_configs.json")).expect("lxc config"),
    )
    .expect("JSON")
}

/// The example converged in a scratch dir whose LXC file can be edited.
fn converged_lab() -> (Scratch, String) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let dir =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let config = arg(&dir).to_owned();
    converge(&config, &scratch);
    (scratch, config)
}

fn write_lxc(config: &str, value: &Value) {
    std::fs::write(
        std::path::Path::new(config).join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(value).expect("JSON"),
    )
    .expect("write");
}

#[test]
fn an_edited_memory_is_one_pct_set_and_no_restart() {
    let (scratch, config) = converged_lab();
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]["952"]["memory_mb"] = json!(8192);
    write_lxc(&config, &lxc);
    let plan = plan_json(&config, &scratch);
    let changes = plan["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["id"]["name"], "952");
    assert_eq!(
        changes[0]["fields"],
        json!([{"field": "memory", "before": "4096", "after": "8192"}])
    );
    assert_eq!(changes[0]["disruption"], json!({"class": "hot"}));
    assert_eq!(
        changes[0]["steps"],
        json!([{"step": "run", "cmd": {"program": "pct", "args": ["set", "952", "--memory", "8192"], "effect": "write"}}])
    );
    converge(&config, &scratch);
}

#[test]
fn an_added_lxc_line_restarts_that_container_only_and_lands_in_the_main_section() {
    let (scratch, config) = converged_lab();
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]["952"]["lxc_options"] = json!(["lxc.cgroup2.devices.allow=c 10:200 rwm"]);
    write_lxc(&config, &lxc);
    let plan = plan_json(&config, &scratch);
    let changes = plan["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(
        changes[0]["disruption"],
        json!({"class": "restart", "of": "lxc.container[952]"})
    );
    apply(&config, &scratch);
    let commands = last_run_commands(&scratch);
    let restarts: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("pct shutdown") || c.starts_with("pct start"))
        .collect();
    assert_eq!(restarts, ["pct shutdown 952", "pct start 952"]);
    // 952 has a final-form snapshot section; the line is in the main section, before it.
    let state = scratch.state();
    let conf = &state.files["/etc/pve/lxc/952.conf"].content;
    let main = conf.split("\n[").next().expect("main section");
    assert!(conf.contains("\n[final-form]\n"), "{conf}");
    assert!(
        main.contains("lxc.cgroup2.devices.allow: c 10:200 rwm"),
        "{conf}"
    );
    assert_eq!(
        conf.matches("lxc.cgroup2.devices.allow").count(),
        1,
        "{conf}"
    );
    converge(&config, &scratch);
}

#[test]
fn reconfigure_rolls_back_converges_and_leaves_an_empty_plan() {
    let (scratch, config) = converged_lab();
    let ran = reconfigure(&scratch, "951", &config);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("Rolled container 951 back to final-form"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("No changes."), "{}", ran.stdout);
    let state = scratch.state();
    let all: Vec<String> = state
        .audit
        .iter()
        .filter(|e| e.run == state.run)
        .map(|e| e.argv.join(" "))
        .collect();
    assert!(
        all.iter().any(|c| c == "pct rollback 951 final-form"),
        "{all:#?}"
    );
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

#[test]
fn reconfigure_refuses_without_a_snapshot() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let ran = reconfigure(&scratch, "951", arg(&lab()));
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("container 951 does not exist")
            || ran.stderr.contains("no \"final-form\" snapshot"),
        "{}",
        ran.stderr
    );
    let ran = reconfigure(&scratch, "777", arg(&lab()));
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("container 777 is not in the config"),
        "{}",
        ran.stderr
    );
}

/// Bad input: exit 1, the message names the containers, and the state file is unchanged.
fn refused(edit: impl FnOnce(&mut Value), expect: &[&str]) {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let dir = scratch.copy_lab_config(&["phoenix_hypervisor_config.json"]);
    let mut lxc = lab_lxc();
    edit(&mut lxc);
    let config = arg(&dir).to_owned();
    write_lxc(&config, &lxc);
    let before = scratch.state_bytes();
    for command in [&["plan"][..], &["apply", "--yes"][..]] {
        let mut args = vec![command[0], "--config", &config, "--target"];
        let target = scratch.target();
        args.push(&target);
        args.extend_from_slice(&command[1..]);
        let ran = phoenix(&args);
        assert_eq!(ran.code, 1, "{}", ran.stdout);
        for text in expect {
            assert!(
                ran.stderr.contains(text),
                "{text:?} not in:\n{}",
                ran.stderr
            );
        }
    }
    assert_eq!(
        scratch.state_bytes(),
        before,
        "the state file is byte for byte unchanged"
    );
}

#[test]
fn a_missing_clone_parent_is_refused() {
    refused(
        |lxc| lxc["lxc_configs"]["952"]["clone_from_ctid"] = json!("903"),
        &[
            "container 952: clone parent \"903\"",
            "lxc_configs.\"952\".clone_from_ctid",
        ],
    );
}

#[test]
fn a_dependency_cycle_is_refused() {
    refused(
        |lxc| lxc["lxc_configs"]["101"]["dependencies"] = json!(["952"]),
        &[
            "dependency cycle",
            "lxc.container[101]",
            "lxc.snapshot[952]",
        ],
    );
}

#[test]
fn a_duplicate_ip_is_refused() {
    refused(
        |lxc| lxc["lxc_configs"]["955"]["network_config"]["ip"] = json!("10.0.0.151/24"),
        &["containers 951 and 955 both use IP address 10.0.0.151"],
    );
}

#[test]
fn a_container_is_destroyed_only_when_marked_absent_and_allowed() {
    let (scratch, config) = converged_lab();
    // Dropped from the config: never destroyed, even with the flag.
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]
        .as_object_mut()
        .expect("object")
        .remove("952");
    // And the gateway's route to it: a route needs a declared container.
    lxc["gateway"]["routes"]
        .as_array_mut()
        .expect("routes")
        .retain(|route| route["container"] != 952);
    write_lxc(&config, &lxc);
    let ran = on(&scratch, "apply", &config, &["--yes", "--allow-destroy"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(scratch.state().files.contains_key("/etc/pve/lxc/952.conf"));
    // Marked absent: refused without the flag, destroyed with it.
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]["952"]["ensure"] = json!("absent");
    write_lxc(&config, &lxc);
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("lxc.container[952]") && ran.stderr.contains("--allow-destroy"),
        "{}",
        ran.stderr
    );
    assert!(scratch.state().files.contains_key("/etc/pve/lxc/952.conf"));
    let ran = on(&scratch, "apply", &config, &["--yes", "--allow-destroy"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(!scratch.state().files.contains_key("/etc/pve/lxc/952.conf"));
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

#[test]
fn changing_unprivileged_is_a_replace_that_needs_allow_destroy() {
    let (scratch, config) = converged_lab();
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]["955"]["unprivileged"] = json!(false);
    lxc["lxc_configs"]["955"]
        .as_object_mut()
        .expect("object")
        .remove("clone_from_ctid");
    lxc["lxc_configs"]["955"]["template"] =
        json!("/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst");
    write_lxc(&config, &lxc);
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stdout.contains("-/+ lxc.container[955]"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stderr.contains("destroys data") && ran.stderr.contains("--allow-destroy"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_storage_that_neither_exists_nor_is_created_is_refused_at_plan_time() {
    // Found by inspection (the host is read), so the node records reads; nothing mutates.
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let dir = scratch.path().join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::copy(
        lab().join("phoenix_hypervisor_config.json"),
        dir.join("phoenix_hypervisor_config.json"),
    )
    .expect("copy");
    let mut lxc = lab_lxc();
    lxc["lxc_configs"]["952"]["storage_pool"] = json!("quickOS-lxc-disk");
    let config = arg(&dir).to_owned();
    write_lxc(&config, &lxc);
    for extra in [&[][..], &["--yes"][..]] {
        let command = if extra.is_empty() { "plan" } else { "apply" };
        let target = scratch.target();
        let mut args = vec![command, "--config", &config, "--target", &target];
        args.extend_from_slice(extra);
        let ran = phoenix(&args);
        assert_eq!(ran.code, 1, "{}", ran.stdout);
        assert!(
            ran.stderr.contains(
                "container 952 needs storage quickOS-lxc-disk, which neither exists on the host"
            ),
            "{}",
            ran.stderr
        );
        let state = scratch.state();
        assert_eq!(mutations_in(&state.audit, state.run), Vec::<String>::new());
    }
}

/// Both the ZFS provider (its Proxmox storages) and the LXC provider (the storages its
/// containers need) read storage.cfg; they share one fact, so a plan reads the file once.
#[test]
fn issue_8_storage_cfg_is_read_once_per_run() {
    let (scratch, config) = converged_lab();
    let plan = plan_json(&config, &scratch);
    assert_eq!(plan["changes"], json!([]), "converged");
    let state = scratch.state();
    let reads: Vec<&phoenix_core::sim::AuditEntry> = state
        .audit
        .iter()
        .filter(|e| {
            e.run == state.run
                && e.op.to_string() == "read_file"
                && e.argv == ["/etc/pve/storage.cfg"]
        })
        .collect();
    assert_eq!(reads.len(), 1, "{reads:#?}");
}
