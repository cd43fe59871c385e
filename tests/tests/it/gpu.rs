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
                "is deferred: the node's GPUs cannot be listed (nvidia-smi is not installed)",
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
