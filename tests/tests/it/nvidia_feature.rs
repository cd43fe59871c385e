//! The in-container `nvidia` feature on the simulated node (issue 11): 901 installs the user
//! space of the host's driver from NVIDIA's runfile with `--no-kernel-module`, its clones 951
//! and 955 confirm it by their own `nvidia-smi`, a host driver upgrade is drift the plan shows
//! as a reinstall, and a node without a driver defers the feature.
//!
//! The device nodes come from the containers' passthrough lines (`lxc.gpu`).

use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, on, operations_in, plan_json};

/// The lab: its 901, 951 and 955 get GPU 0 passed through (`gpu_assignment`).
fn lab_with_devices(scratch: &Scratch) -> String {
    arg(&scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]))
        .to_owned()
}

fn warnings(plan: &Value) -> Vec<String> {
    plan["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "warning")
        .filter_map(|d| d["message"].as_str().map(str::to_owned))
        .collect()
}

fn changed_ids(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| {
            format!(
                "{}[{}]",
                c["id"]["kind"].as_str().unwrap_or_default(),
                c["id"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// What `nvidia-smi --query-gpu=driver_version` prints in container `id`.
fn container_driver(scratch: &Scratch, id: &str) -> String {
    let node = phoenix_core::sim::SimNode::from_state(scratch.state(), phoenix_cli_emulators())
        .expect("node");
    let cmd = phoenix_core::Cmd::read(
        "pct",
        [
            "exec",
            id,
            "--",
            "nvidia-smi",
            "--query-gpu=driver_version",
            "--format=csv,noheader",
        ],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let output = runtime
        .block_on(phoenix_core::Host::run(&node, &cmd))
        .expect("runs");
    format!("{}{}", output.stdout, output.stderr)
}

fn phoenix_cli_emulators() -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
    phoenix_cli::target::emulators()
}

#[test]
fn issue_11_the_nvidia_feature_converges_and_clones_confirm_it_by_their_own_probe() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with_devices(&scratch);
    let plan = plan_json(&config, &scratch);
    for id in ["901", "951", "955"] {
        assert!(
            changed_ids(&plan).contains(&format!("gpu.userspace[ct:{id}]")),
            "{id}"
        );
    }
    converge(&config, &scratch);
    let state = scratch.state();
    let first: Vec<String> = operations_in(&state.audit, 2)
        .into_iter()
        .filter(|op| op.contains("NVIDIA-Linux-x86_64.run --silent"))
        .collect();
    assert_eq!(
        first,
        [
            "run pct exec 901 -- sh /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64.run --silent --no-kernel-module --no-x-check --no-nouveau-check --no-nvidia-modprobe"
        ],
        "the template installs it once; its clones confirm it with their own nvidia-smi"
    );
    for id in ["951", "955"] {
        assert_eq!(container_driver(&scratch, id), "580.76.05\n", "{id}");
    }
}

#[test]
fn issue_11_a_host_driver_upgrade_is_drift_in_the_containers_and_the_plan_reinstalls() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with_devices(&scratch);
    converge(&config, &scratch);
    scratch.edit_state(|state| {
        state["tools"]["nvidia"]["driver"] = json!("580.95.05");
        state["files"]["/proc/driver/nvidia/version"]["content"] =
            json!(phoenix_gpu::parse::format_driver_version("580.95.05"));
    });
    let plan = plan_json(&config, &scratch);
    let changed = changed_ids(&plan);
    for id in ["951", "955"] {
        assert!(
            changed.contains(&format!("gpu.userspace[ct:{id}]")),
            "{id}: {changed:?}"
        );
        assert!(
            warnings(&plan).iter().any(|w| w.starts_with(&format!(
                "cross-layer drift: container {id}'s nvidia-smi fails against the node's NVIDIA driver 580.95.05 (Failed to initialize NVML: Driver/library version mismatch)"
            ))),
            "{:?}",
            warnings(&plan)
        );
    }
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(
        text.contains("https://us.download.nvidia.com/XFree86/Linux-x86_64/580.95.05/NVIDIA-Linux-x86_64-580.95.05.run"),
        "{text}"
    );
    converge(&config, &scratch);
    for id in ["951", "955"] {
        assert_eq!(container_driver(&scratch, id), "580.95.05\n", "{id}");
    }
}

#[test]
fn issue_11_a_node_without_a_driver_defers_the_nvidia_feature() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    scratch.edit_state(|state| {
        state["tools"]["nvidia"] = json!({});
        state["files"]
            .as_object_mut()
            .expect("files")
            .remove("/proc/driver/nvidia/version");
    });
    let config = lab_with_devices(&scratch);
    let plan = plan_json(&config, &scratch);
    for id in ["901", "951", "955"] {
        assert!(
            !changed_ids(&plan).contains(&format!("gpu.userspace[ct:{id}]")),
            "{id}"
        );
        assert!(
            warnings(&plan).contains(&format!(
                "container {id}: the nvidia feature is deferred: the node has no NVIDIA driver loaded (its user space must match the host's driver; install the driver, reboot, and run again)"
            )),
            "{:?}",
            warnings(&plan)
        );
    }
}

/// The lab with `nvidia_driver` naming the host's driver (checked, not installed) and CUDA
/// `cuda` for the containers with the `nvidia` feature.
fn lab_with_cuda(scratch: &Scratch, cuda: Value) -> String {
    let dir =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    let path = dir.join("phoenix_hypervisor_config.json");
    let mut hypervisor: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    hypervisor["nvidia_driver"] = json!({
        "install": false,
        "version": "580.76.05",
        "cuda_version": cuda,
    });
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&hypervisor).expect("JSON"),
    )
    .expect("write");
    arg(&dir).to_owned()
}

/// What `dpkg-query` says of `package` in container `id`.
fn package_in(scratch: &Scratch, id: &str, package: &str) -> String {
    let node = phoenix_core::sim::SimNode::from_state(scratch.state(), phoenix_cli_emulators())
        .expect("node");
    let cmd = phoenix_core::Cmd::read(
        "pct",
        [
            "exec",
            id,
            "--",
            "dpkg-query",
            "-W",
            "-f=${Version}",
            package,
        ],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let output = runtime
        .block_on(phoenix_core::Host::run(&node, &cmd))
        .expect("runs");
    format!("{}{}", output.stdout, output.stderr)
}

#[test]
fn issue_11_the_cuda_toolkit_the_config_names_is_installed_from_nvidias_repository() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with_cuda(&scratch, json!("12.8"));
    let plan = plan_json(&config, &scratch);
    assert!(
        changed_ids(&plan).contains(&"gpu.cuda[ct:901]".to_owned()),
        "{:?}",
        changed_ids(&plan)
    );
    let text = on(&scratch, "plan", &config, &[]).stdout;
    for expected in [
        "12.8 (cuda-toolkit-12-8)",
        "curl -fsSL --create-dirs -o /etc/apt/keyrings/cuda-archive-keyring.asc https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/3bf863cc.pub",
        "apt-get install -y --no-install-recommends cuda-toolkit-12-8",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let noop = converge(&config, &scratch);
    let state = scratch.state();
    let installs: Vec<String> = (1..=state.run)
        .flat_map(|run| operations_in(&state.audit, run))
        .filter(|op| op.contains("install -y --no-install-recommends cuda-toolkit"))
        .collect();
    assert_eq!(
        installs,
        ["run pct exec 901 -- apt-get install -y --no-install-recommends cuda-toolkit-12-8"],
        "the template installs it once; its clones have it from its snapshot"
    );
    // 901 is a template that does not run; its clones run what it installed.
    for id in ["951", "955"] {
        assert_eq!(
            package_in(&scratch, id, "cuda-toolkit-12-8"),
            "12.8.1-1",
            "{id}"
        );
    }
    // No command of its own on a no-op: the same inspection as without a toolkit.
    let without = plan_json(&lab_with_devices(&scratch), &scratch);
    assert_eq!(
        noop["stats"]["commands_by_program"], without["stats"]["commands_by_program"],
        "{noop}"
    );

    // Another version: installed beside the first.
    let config = lab_with_cuda(&scratch, json!("12.9"));
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(text.contains("cuda-toolkit-12-9"), "{text}");
    converge(&config, &scratch);
    assert_eq!(package_in(&scratch, "951", "cuda-toolkit-12-9"), "12.9.1-1");
}

#[test]
fn issue_11_a_bad_cuda_version_is_an_error_naming_the_file_and_path() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    for bad in [json!("12"), json!(12.8)] {
        let config = lab_with_cuda(&scratch, bad.clone());
        let before = scratch.state_bytes();
        let ran = on(&scratch, "plan", &config, &[]);
        assert_eq!(ran.code, 1, "{bad}: {}", ran.stdout);
        assert!(
            ran.stderr.contains("phoenix_hypervisor_config.json")
                && ran.stderr.contains(
                    "nvidia_driver.cuda_version: expected a CUDA version MAJOR.MINOR such as \"12.8\""
                ),
            "{bad}: {}",
            ran.stderr
        );
        assert_eq!(before, scratch.state_bytes(), "{bad}: nothing changes");
    }
}
