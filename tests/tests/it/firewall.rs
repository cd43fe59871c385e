//! The Proxmox firewall end to end on the simulated node (issue 9): the lab converges with its
//! cluster options, cluster rules, container files and `firewall=1` on net0, and a second plan
//! is empty with no writes; a bad rule exits 1 naming the JSON path and changes nothing; a DROP
//! policy that would cut the operator off is refused at plan time; the operator's own cluster.fw
//! content survives. (The testbed VM has no Proxmox, so there is no live firewall test.)

use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, lab, on, phoenix, plan_json};

fn lab_json(name: &str) -> Value {
    let text = std::fs::read_to_string(lab().join(name)).expect("the example config");
    serde_json::from_str(&text).expect("JSON")
}

/// Writes both lab files (as edited) into the scratch's config directory.
fn write_lab(scratch: &Scratch, hypervisor: &Value, lxc: &Value) -> String {
    let dir = scratch.write_config(&serde_json::to_string_pretty(hypervisor).expect("JSON"));
    std::fs::write(
        dir.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(lxc).expect("JSON"),
    )
    .expect("write the lxc config");
    arg(&dir).to_owned()
}

fn node_file(scratch: &Scratch, path: &str) -> Option<String> {
    let state: Value = serde_json::from_slice(&scratch.state_bytes()).expect("state");
    state["files"][path]["content"].as_str().map(str::to_owned)
}

#[test]
fn issue_9_the_lab_converges_with_its_firewall_and_a_second_plan_is_empty() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    let noop = converge(&config, &scratch);
    assert_eq!(noop["stats"]["commands_writing"], 0);
    assert_eq!(
        node_file(&scratch, "/etc/pve/firewall/cluster.fw").as_deref(),
        Some(
            "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\npolicy_out: ACCEPT\n\n[RULES]\n\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22 # operator SSH\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 8006 # operator web UI\n\n"
        )
    );
    assert_eq!(
        node_file(&scratch, "/etc/pve/firewall/101.fw").as_deref(),
        Some(
            "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # gateway: HTTP and HTTPS\n\n"
        )
    );
    let conf = node_file(&scratch, "/etc/pve/lxc/101.conf").expect("101.conf");
    assert!(
        conf.lines()
            .any(|l| l.starts_with("net0: ") && l.contains(",firewall=1,")),
        "{conf}"
    );
    // The firewall's files and pve-firewall's warnings are read by the node's one probe: the
    // no-op plan runs one `sh` for all of them, and no pve-firewall command of its own.
    assert_eq!(
        noop["stats"]["commands_by_program"]["sh"], 1,
        "{}",
        noop["stats"]
    );
    assert!(noop["stats"]["commands_by_program"]["pve-firewall"].is_null());
}

#[test]
fn issue_9_a_bad_firewall_rule_exits_1_with_its_json_path_and_changes_nothing() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let before = scratch.state_bytes();
    let hypervisor = lab_json("phoenix_hypervisor_config.json");
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["101"]["firewall"]["rules"][0]["port"] = json!("80,99999");
    lxc["lxc_configs"]["952"]["firewall"]["rules"][0]["proto"] = Value::Null;
    let config = write_lab(&scratch, &hypervisor, &lxc);
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let errors: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("phoenix_lxc_configs.json:")
            && e.contains("at lxc_configs.\"101\".firewall.rules[0].port: container 101: firewall rule 0: invalid port '99999'")),
        "{}",
        ran.stderr
    );
    assert!(
        errors.iter().any(|e| e.contains(
            "at lxc_configs.\"952\".firewall.rules[0].proto: container 952: firewall rule 0: missing property - 'dport' requires this property"
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(scratch.state_bytes(), before, "nothing changed");
}

#[test]
fn issue_9_a_drop_policy_that_cuts_the_operator_off_is_refused_at_plan_time() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut hypervisor = lab_json("phoenix_hypervisor_config.json");
    let lxc = lab_json("phoenix_lxc_configs.json");
    // The operator works from a VPN, not the host's local network, and no rule accepts it.
    hypervisor["firewall"]["operator_networks"] = json!(["192.168.50.0/24"]);
    hypervisor["firewall"]["rules"] = json!([]);
    let config = write_lab(&scratch, &hypervisor, &lxc);
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("error: pve.firewall.cluster[cluster]: policy_in DROP would cut the operator off: nothing accepts SSH (tcp 22) from 192.168.50.0/24, the web UI (tcp 8006) from 192.168.50.0/24"),
        "{}",
        ran.stderr
    );
    let applied = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert!(
        node_file(&scratch, "/etc/pve/firewall/cluster.fw").is_none(),
        "nothing was written"
    );
    // Saying it is intended turns the finding into a warning.
    hypervisor["firewall"]["allow_lockout"] = json!(true);
    let config = write_lab(&scratch, &hypervisor, &lxc);
    let plan = plan_json(&config, &scratch);
    let warnings: Vec<&str> = plan["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "warning")
        .filter_map(|d| d["message"].as_str())
        .filter(|m| m.contains("cut the operator off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn issue_9_the_operator_s_cluster_fw_content_is_kept() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let operator = "[OPTIONS]\n\nenable: 0\nlog_ratelimit: enable=1,rate=1/second\n\n[ALIASES]\n\nnas 10.0.0.20\n\n[IPSET management]\n\n10.0.0.0/24\n\n[group webserver]\n\nIN ACCEPT -p tcp -dport 443\n\n";
    scratch.edit_state(|state| {
        state["files"]["/etc/pve/firewall/cluster.fw"] =
            json!({"content": operator, "mode": "0640", "owner": "root:www-data"});
    });
    let config = arg(&lab()).to_owned();
    converge(&config, &scratch);
    assert_eq!(
        node_file(&scratch, "/etc/pve/firewall/cluster.fw").as_deref(),
        Some(
            "[OPTIONS]\n\nenable: 1\nlog_ratelimit: enable=1,rate=1/second\npolicy_in: DROP\npolicy_out: ACCEPT\n\n[ALIASES]\n\nnas 10.0.0.20\n\n[IPSET management]\n\n10.0.0.0/24\n\n[RULES]\n\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22 # operator SSH\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 8006 # operator web UI\n\n[group webserver]\n\nIN ACCEPT -p tcp -dport 443\n\n"
        )
    );
}

#[test]
fn issue_9_firewall_settings_given_twice_must_agree() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut hypervisor = lab_json("phoenix_hypervisor_config.json");
    let lxc = lab_json("phoenix_lxc_configs.json");
    let mut nested = hypervisor["firewall"].clone();
    nested["default_input_policy"] = json!("ACCEPT");
    hypervisor["shared_volumes"]["firewall"] = nested;
    let config = write_lab(&scratch, &hypervisor, &lxc);
    let ran = phoenix(&["validate", "--config", &config]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("at firewall: the firewall settings here and at ")
            && ran.stderr.contains("at shared_volumes.firewall disagree; give them once (at the top-level firewall key)"),
        "{}",
        ran.stderr
    );
}

/// `pct clone` copies the parent's firewall file over the clone's (pve-firewall's
/// `clone_vmfw_conf`), so a container's file is written after its container exists.
#[test]
fn issue_9_a_clone_s_firewall_file_is_written_after_pct_clone_copies_its_parent_s() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let hypervisor = lab_json("phoenix_hypervisor_config.json");
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["900"]["firewall"] = json!({
        "enabled": true,
        "rules": [{"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "22"}]
    });
    let config = write_lab(&scratch, &hypervisor, &lxc);
    converge(&config, &scratch);
    assert_eq!(
        node_file(&scratch, "/etc/pve/firewall/101.fw").as_deref(),
        Some(
            "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # gateway: HTTP and HTTPS\n\n"
        )
    );
    // 901 has no firewall of its own: it keeps the copy of its parent's, as on Proxmox.
    assert_eq!(
        node_file(&scratch, "/etc/pve/firewall/901.fw").as_deref(),
        Some("[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 22\n\n")
    );
}

/// What the `pve-firewall` emulator prints: `compile`'s section headers (with the three built-in
/// ebtables chains pve-firewall lists as `ignore` when the firewall is disabled) and its
/// warnings on standard error, `status` and `localnet` as `pve_firewall.pm` prints them.
#[tokio::test]
async fn issue_9_the_pve_firewall_emulator_prints_what_pve_firewall_prints() {
    use phoenix_core::sim::{SimFile, SimNode, SimState};
    use phoenix_core::{Cmd, Host};

    let mut state = SimState::new();
    let mut put = |path: &str, text: &str| {
        state
            .files
            .insert(path.to_owned(), SimFile::new(text, 0o640, "root:www-data"));
    };
    put("/etc/pve/firewall/cluster.fw", "[OPTIONS]\n\nenable: 0\n");
    put("/etc/pve/lxc/101.conf", "hostname: web\n");
    put(
        "/etc/pve/firewall/101.fw",
        "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 99999\n",
    );
    // A firewall file of a container the node does not have is not read.
    put(
        "/etc/pve/firewall/999.fw",
        "[RULES]\n\nIN ACCEPT -dport 22\n",
    );
    let node = SimNode::from_state(state, phoenix_cli::registry().emulators()).expect("node");
    let run = |verb: &'static str| {
        let node = &node;
        async move {
            node.run(&Cmd::read("pve-firewall", [verb]))
                .await
                .expect("runs")
        }
    };
    let compile = run("compile").await;
    assert_eq!(
        compile.stdout,
        "ipset cmdlist:\n\niptables cmdlist:\n\nip6tables cmdlist:\n\nebtables cmdlist:\nignore FORWARD (2jmj7l5rSw0yVb/vlWAYkK/YBwk)\nignore INPUT (2jmj7l5rSw0yVb/vlWAYkK/YBwk)\nignore OUTPUT (2jmj7l5rSw0yVb/vlWAYkK/YBwk)\n\niptables table raw cmdlist:\n\nip6tables table raw cmdlist:\nno changes\nfirewall disabled\n"
    );
    assert_eq!(
        compile.stderr,
        "/etc/pve/firewall/101.fw (line 7) - errors in rule parameters: IN ACCEPT -p tcp -dport 99999\n  dport: invalid port '99999'\n"
    );
    assert_eq!(run("status").await.stdout, "Status: disabled/running\n");
    assert_eq!(
        run("localnet").await.stdout,
        "local hostname: pve\nlocal IP address: 10.0.0.13\nnetwork auto detect: 10.0.0.0/24\nusing detected local_network: 10.0.0.0/24\n"
    );
}
