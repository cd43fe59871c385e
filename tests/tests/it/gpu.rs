//! The NVIDIA host side on the simulated node (issue 11): the lab's node has two RTX 5060 Ti
//! (`examples/lab/sim-state.json`, namespace `nvidia` and its `/proc` files); the driver is
//! compared with the config, a missing one is a planned install that needs a reboot Phoenix
//! never does, and a container's `gpu_assignment` is checked against the GPUs `nvidia-smi` lists.

use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, lab, on, plan_json};

const RUNFILE: &str = "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";

fn lab_json(name: &str) -> Value {
    let text = std::fs::read_to_string(lab().join(name)).expect("the example config");
    serde_json::from_str(&text).expect("JSON")
}

fn write_lab(scratch: &Scratch, hypervisor: &Value, lxc: &Value) -> String {
    let dir = scratch.write_config(&serde_json::to_string_pretty(hypervisor).expect("JSON"));
    std::fs::write(
        dir.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(lxc).expect("JSON"),
    )
    .expect("write the lxc config");
    arg(&dir).to_owned()
}

fn messages(plan: &Value, severity: &str) -> Vec<String> {
    plan["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == severity)
        .filter_map(|d| d["message"].as_str().map(str::to_owned))
        .collect()
}

fn with_driver(install: bool) -> Value {
    let mut hypervisor = lab_json("phoenix_hypervisor_config.json");
    hypervisor["nvidia_driver"] =
        json!({"install": install, "version": "580.76.05", "runfile_url": RUNFILE});
    hypervisor
}

#[test]
fn issue_11_a_missing_host_driver_plans_the_install_reports_reboot_required_and_defers_passthrough()
{
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    // A node with the GPUs but neither a driver nor nvidia-smi.
    scratch.edit_state(|state| {
        state["tools"]["nvidia"] = json!({});
        let files = state["files"].as_object_mut().expect("files");
        files.remove("/proc/driver/nvidia/version");
    });
    let config = write_lab(
        &scratch,
        &with_driver(true),
        &lab_json("phoenix_lxc_configs.json"),
    );
    let plan = plan_json(&config, &scratch);
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(text.contains(&format!("curl -fsSL --create-dirs -o /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64-580.76.05.run {RUNFILE}")), "{text}");
    assert!(
        text.contains(
            "sh /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64-580.76.05.run --silent --dkms"
        ),
        "{text}"
    );
    assert!(
        text.contains("needs restart of the node (reboot required; Phoenix never reboots)"),
        "{text}"
    );
    let warnings = messages(&plan, "warning");
    assert!(
        warnings
            .iter()
            .any(|m| m.starts_with("reboot required: installing NVIDIA driver 580.76.05")),
        "{warnings:?}"
    );
    let deferred: Vec<&String> = warnings
        .iter()
        .filter(|m| {
            m.contains(
                "is deferred: the node's GPUs cannot be listed (the NVIDIA driver is not installed: no nvidia-smi); its conf lines follow once the NVIDIA driver is loaded",
            )
        })
        .collect();
    assert_eq!(
        deferred.len(),
        4,
        "901, 951, 953 and 955 wait: {warnings:?}"
    );
    assert!(messages(&plan, "error").is_empty(), "{plan}");
    // The blacklist and the device-node unit are planned with it; nvidia is never blacklisted.
    assert!(
        text.contains("/etc/modprobe.d/phoenix-blacklist-nouveau.conf"),
        "{text}"
    );
    assert!(text.contains("Before=pve-guests.service"), "{text}");
    assert!(!text.contains("blacklist nvidia"), "{text}");
    // The device-node unit is enabled now and starts at the reboot: nvidia-modprobe would fail
    // before it.
    assert!(
        text.contains("$ systemctl enable phoenix-nvidia-devices.service"),
        "{text}"
    );
    assert!(
        !text.contains("systemctl start phoenix-nvidia-devices.service"),
        "{text}"
    );
    // (Containers' own units, such as vLLM's, run theirs through pct exec.)
    assert!(
        !text
            .lines()
            .any(|l| l.contains("daemon-reload") && !l.contains("pct exec")),
        "a new unit file needs none: {text}"
    );
    assert!(
        messages(&plan, "note").iter().any(|m| m
            == "phoenix-nvidia-devices.service starts at the next boot, not now: no NVIDIA module is loaded; the driver needs a reboot"),
        "{plan}"
    );
    // The runfile refuses to install while nouveau is in use: the blacklist comes first.
    let blacklist = text.find("$ write /etc/modprobe.d/phoenix-blacklist-nouveau.conf");
    let runfile = text.find("$ curl -fsSL");
    assert!(blacklist.is_some() && blacklist < runfile, "{text}");
}

#[test]
fn issue_11_gpu_index_2_on_a_2_gpu_host_is_a_plan_error() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["901"]["gpu_assignment"] = json!("0, 2");
    let config = write_lab(&scratch, &lab_json("phoenix_hypervisor_config.json"), &lxc);
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(r#"lxc_configs."901".gpu_assignment: GPU 2 does not exist on the node (nvidia-smi lists GPUs 0, 1)"#),
        "{}",
        ran.stderr
    );
}

#[test]
fn issue_11_a_malformed_gpu_assignment_is_a_config_error_at_its_json_path() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["951"]["gpu_assignment"] = json!("0;1");
    let config = write_lab(&scratch, &lab_json("phoenix_hypervisor_config.json"), &lxc);
    let ran = crate::support::phoenix(&["validate", "--config", &config]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(r#"phoenix_lxc_configs.json"#)
            && ran.stderr.contains(r#"lxc_configs."951".gpu_assignment: expected "none" or GPU indexes separated by commas ("0", "0,1"), `0;1` is not an index, found "0;1""#),
        "{}",
        ran.stderr
    );
}

#[test]
fn issue_11_a_loaded_driver_that_differs_from_the_config_is_cross_layer_drift() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut hypervisor = with_driver(false);
    hypervisor["nvidia_driver"]["version"] = json!("580.95.05");
    hypervisor["nvidia_driver"]
        .as_object_mut()
        .expect("object")
        .remove("runfile_url");
    let config = write_lab(&scratch, &hypervisor, &lab_json("phoenix_lxc_configs.json"));
    let plan = plan_json(&config, &scratch);
    let warnings = messages(&plan, "warning");
    assert!(
        warnings.iter().any(|m| m == "cross-layer drift: the node's loaded NVIDIA driver is 580.76.05, the config's is 580.95.05; containers 901, 951, 953, 955 get GPUs, and their user-space driver must be exactly the host's"),
        "{warnings:?}"
    );
    assert!(
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["id"] != "gpu.driver[nvidia]" || c["action"] == "noop"),
        "{plan}"
    );
}

#[test]
fn issue_11_the_lab_with_its_two_gpus_converges_and_gpu_inspection_adds_no_command() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    let noop = converge(&config, &scratch);
    let by_program = &noop["stats"]["commands_by_program"];
    for program in ["nvidia-smi", "modinfo", "cat"] {
        assert!(
            by_program.get(program).is_none(),
            "{program} rides the probe: {by_program}"
        );
    }
}

/// `systemd-analyze verify` of `text` saved as `name` in `dir`: its exit status and output.
async fn verify_unit(dir: &std::path::Path, name: &str, text: &str) -> (Option<i32>, String) {
    use phoenix_core::{Cmd, Host, LocalHost};
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    let out = LocalHost::new()
        .run(&Cmd::read("systemd-analyze", ["verify", arg(&path)]))
        .await
        .expect("systemd-analyze runs (systemd is installed by cargo xtask ci)");
    let shown = format!("{}{}", out.stdout, out.stderr).replace(arg(dir), "DIR");
    (out.status, shown)
}

#[test]
fn issue_11_the_real_systemd_analyze_accepts_the_device_node_unit() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = Scratch::new();
    let name = phoenix_gpu::units::UNIT;
    // The programs it runs come with the driver, which CI has not: the check points them at a
    // program that exists, and verifies every other line of the unit as written.
    let text = phoenix_gpu::units::unit_text()
        .replace("/usr/bin/nvidia-modprobe", "/bin/true")
        .replace("/usr/bin/nvidia-smi", "/bin/true");
    assert_eq!(text.matches("/bin/true").count(), 2, "{text}");
    let (status, output) = rt.block_on(verify_unit(scratch.path(), name, &text));
    assert_eq!((status, output.as_str()), (Some(0), ""));
    // The checker is not silent on a mistake of the kind it must catch.
    let broken = text.replace("Type=oneshot", "Type=oneshoot");
    let (_, output) = rt.block_on(verify_unit(scratch.path(), name, &broken));
    assert!(output.contains("Failed to parse service type"), "{output}");
    // Unchanged driver programs are what the unit really runs.
    let (status, output) = rt.block_on(verify_unit(
        scratch.path(),
        name,
        &phoenix_gpu::units::unit_text(),
    ));
    if !std::path::Path::new("/usr/bin/nvidia-modprobe").exists() {
        assert_eq!(status, Some(1), "{output}");
        assert!(
            output.contains("Command /usr/bin/nvidia-modprobe is not executable"),
            "{output}"
        );
    }
}

/// The lab's node with an older Proxmox VE (pve-container 4.4-6, PVE 7.4's), which has no
/// `devN:` entries.
fn older_proxmox(scratch: &Scratch) {
    scratch.edit_state(|state| {
        state["tools"]["dpkg"]["installed"]["pve-container"] = json!("4.4-6");
    });
}

/// Moves nvidia-uvm's major in the node's `/proc/devices`, as a reboot with another module load
/// order does.
fn move_uvm_major(scratch: &Scratch, from: u32, to: u32) {
    scratch.edit_state(|state| {
        let devices = &mut state["files"]["/proc/devices"]["content"];
        let text = devices.as_str().expect("/proc/devices").to_owned();
        assert!(text.contains(&format!("{from} nvidia-uvm\n")), "{text}");
        *devices = json!(text.replace(
            &format!("{from} nvidia-uvm\n"),
            &format!("{to} nvidia-uvm\n")
        ));
    });
}

/// The conf of container `vmid` on the scratch node.
fn conf(scratch: &Scratch, vmid: u32) -> String {
    let state: Value =
        serde_json::from_slice(&scratch.state_bytes()).expect("the state file is JSON");
    state["files"][format!("/etc/pve/lxc/{vmid}.conf")]["content"]
        .as_str()
        .expect("the conf")
        .to_owned()
}

/// The main section of a conf (before its first snapshot section).
fn main_section(conf: &str) -> &str {
    conf.split("\n[").next().unwrap_or_default()
}

/// The `lxc.gpu` blocks of a text plan.
fn gpu_blocks(text: &str) -> String {
    text.split("\n\n")
        .filter(|block| block.trim_start().starts_with("~ lxc.gpu["))
        .map(|block| format!("{}\n", block.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn issue_11_the_lab_gets_dev_entries_for_gpu_0_on_pve_8() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    let plan = on(&scratch, "plan", &config, &[]).stdout;
    insta::assert_snapshot!("lab_passthrough_pve_8", gpu_blocks(&plan));
    converge(&config, &scratch);
    for vmid in [901, 951, 955] {
        let main = main_section(&conf(&scratch, vmid)).to_owned();
        for entry in [
            "/dev/nvidia0,gid=44",
            "/dev/nvidiactl,gid=44",
            "/dev/nvidia-uvm,gid=44",
            "/dev/nvidia-uvm-tools,gid=44",
        ] {
            assert_eq!(main.matches(entry).count(), 1, "{vmid}: {main}");
        }
        assert!(!main.contains("lxc.cgroup2"), "{vmid}: {main}");
    }
    // 953, the second replica of the embedding pool, has GPU 1.
    let main = main_section(&conf(&scratch, 953)).to_owned();
    assert!(main.contains("/dev/nvidia1,gid=44"), "{main}");
    assert!(!main.contains("/dev/nvidia0,"), "{main}");
    for vmid in [900, 902, 952, 101] {
        assert!(!conf(&scratch, vmid).contains("nvidia"), "{vmid}");
    }
}

#[test]
fn issue_11_dev_entries_need_no_change_after_the_uvm_major_moved() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    converge(&config, &scratch);
    move_uvm_major(&scratch, 238, 243);
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
}

#[test]
fn issue_11_a_moved_uvm_major_on_older_proxmox_replaces_the_cgroup_line() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    older_proxmox(&scratch);
    let config = arg(&lab()).to_owned();
    converge(&config, &scratch);
    for vmid in [901, 951, 953, 955] {
        let main = main_section(&conf(&scratch, vmid)).to_owned();
        assert_eq!(
            main.matches("lxc.cgroup2.devices.allow: c 195:* rwm\n")
                .count(),
            1,
            "{main}"
        );
        assert_eq!(
            main.matches("lxc.cgroup2.devices.allow: c 238:* rwm\n")
                .count(),
            1,
            "{main}"
        );
        assert_eq!(
            main.matches("lxc.mount.entry: /dev/nvidia").count(),
            4,
            "{main}"
        );
    }
    // The next boot gives nvidia-uvm another major.
    move_uvm_major(&scratch, 238, 243);
    let text = on(&scratch, "plan", &config, &[]).stdout;
    insta::assert_snapshot!("lab_passthrough_uvm_moved_older_proxmox", gpu_blocks(&text));
    for vmid in [901, 951, 953, 955] {
        assert!(text.contains(&format!("~ lxc.gpu[{vmid}]")), "{text}");
    }
    // 951, 953 and 955 run (they start at boot): each restarts once; 901 is kept stopped.
    for vmid in [951, 953, 955] {
        assert!(
            text.contains(&format!("needs restart of lxc.container[{vmid}]")),
            "{text}"
        );
    }
    assert!(
        !text.contains("needs restart of lxc.container[901]"),
        "{text}"
    );
    converge(&config, &scratch);
    for vmid in [901, 951, 953, 955] {
        let main = main_section(&conf(&scratch, vmid)).to_owned();
        assert!(
            !main.contains("c 238:* rwm"),
            "the stale line is gone: {main}"
        );
        assert_eq!(
            main.matches("lxc.cgroup2.devices.allow: c 243:* rwm\n")
                .count(),
            1,
            "{main}"
        );
        assert_eq!(
            main.matches("lxc.cgroup2.devices.allow").count(),
            2,
            "{main}"
        );
    }
}

#[test]
fn issue_11_adding_and_removing_a_gpu_is_a_restart_the_plan_announces() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    converge(&config, &scratch);
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["951"]["gpu_assignment"] = json!("0, 1");
    let two = write_lab(&scratch, &lab_json("phoenix_hypervisor_config.json"), &lxc);
    let text = on(&scratch, "plan", &two, &[]).stdout;
    assert!(
        text.contains("$ pct set 951 --dev4 /dev/nvidia1,gid=44\n        $ pct shutdown 951\n        $ pct start 951\n"),
        "{text}"
    );
    assert!(
        text.contains("needs restart of lxc.container[951]"),
        "{text}"
    );
    assert_eq!(text.matches("~ lxc.gpu[").count(), 1, "{text}");
    converge(&two, &scratch);
    assert!(main_section(&conf(&scratch, 951)).contains("dev4: /dev/nvidia1,gid=44"));
    // Back to GPU 0 alone: its entry goes, with a restart.
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(
        text.contains(
            "$ pct set 951 --delete dev4\n        $ pct shutdown 951\n        $ pct start 951\n"
        ),
        "{text}"
    );
    converge(&config, &scratch);
    assert!(!conf(&scratch, 951).contains("/dev/nvidia1"));
}

#[test]
fn issue_11_an_index_the_node_lacks_plans_no_conf_change() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["901"]["gpu_assignment"] = json!("2");
    let config = write_lab(&scratch, &lab_json("phoenix_hypervisor_config.json"), &lxc);
    let ran = on(&scratch, "plan", &config, &["--json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let plan: Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert!(
        plan["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["id"] != json!({"kind": "lxc.gpu", "name": "901"}) || c["action"] == "noop"),
        "{plan}"
    );
    // The GPUs of 951, 953 and 955 are planned; nothing for 901.
    let planned: Vec<&Value> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["id"]["kind"] == "lxc.gpu" && c["action"] != "noop")
        .map(|c| &c["id"]["name"])
        .collect();
    assert_eq!(
        planned,
        [&json!("951"), &json!("953"), &json!("955")],
        "{plan}"
    );
    assert!(
        messages(&plan, "error")
            .iter()
            .any(|m| m.contains("GPU 2 does not exist on the node")),
        "{plan}"
    );
}

/// The upstream 0017fa8 containers with a `gpu_assignment` on the lab's 2-GPU node: `devN:`
/// entries on PVE 8.1+, cgroup lines with the node's majors (195, nvidia-uvm 238) on an older one.
#[test]
fn issue_11_the_upstream_containers_plan_their_passthrough_on_new_and_old_proxmox() {
    for (name, old) in [
        ("upstream_passthrough_pve_8", false),
        ("upstream_passthrough_older_proxmox", true),
    ] {
        let scratch = Scratch::new();
        let config = scratch
            .copy_upstream_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
        scratch.seed_lab_state();
        scratch.add_upstream_storage();
        if old {
            older_proxmox(&scratch);
        }
        let ran = on(&scratch, "plan", &config, &[]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        insta::assert_snapshot!(name, gpu_blocks(&ran.stdout));
    }
}

#[test]
fn issue_11_the_device_node_unit_converges_and_a_changed_file_reloads_systemd_once() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    // The lab's node already runs the config's driver.
    let config = write_lab(
        &scratch,
        &with_driver(true),
        &lab_json("phoenix_lxc_configs.json"),
    );
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(
        text.contains("$ systemctl enable phoenix-nvidia-devices.service\n        $ systemctl start phoenix-nvidia-devices.service\n"),
        "{text}"
    );
    // (Containers' own units, such as vLLM's, run theirs through pct exec.)
    assert!(
        !text
            .lines()
            .any(|l| l.contains("daemon-reload") && !l.contains("pct exec")),
        "a new unit file needs none: {text}"
    );
    converge(&config, &scratch);
    let systemd = |scratch: &Scratch| -> Value {
        let state: Value = serde_json::from_slice(&scratch.state_bytes()).expect("JSON");
        state["tools"]["systemd"].clone()
    };
    assert_eq!(systemd(&scratch)["daemon_reloads"], Value::Null, "none ran");
    // An operator (or an older Phoenix) edited the unit file.
    scratch.edit_state(|state| {
        let file =
            &mut state["files"]["/etc/systemd/system/phoenix-nvidia-devices.service"]["content"];
        let text = file
            .as_str()
            .expect("the unit file")
            .replace("Before=pve-guests.service\n", "");
        *file = json!(text);
    });
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(
        text.contains("~ gpu.devices[phoenix-nvidia-devices.service]"),
        "{text}"
    );
    assert!(text.contains("$ systemctl daemon-reload"), "{text}");
    converge(&config, &scratch);
    let units = systemd(&scratch);
    assert_eq!(units["daemon_reloads"], json!(1), "{units}");
    let unit = &units["units"]["phoenix-nvidia-devices.service"];
    assert_eq!(unit["active"], json!(true), "{unit}");
    assert_eq!(
        unit["restarts"],
        json!(0),
        "the nodes exist: no restart: {unit}"
    );
}
