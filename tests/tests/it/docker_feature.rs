//! The in-container `docker` feature on the simulated node (issue 11): the lab's 902 and 952 get
//! Docker Engine; the host's OpenZFS picks the storage driver (overlay2 from 2.2, fuse-overlayfs
//! below it), `vfs` is an error with its reason, and a container without `nesting=1` and
//! `keyctl=1` is refused at its `pct_options`.

use phoenix_core::Host;
use phoenix_core::sim::SimNode;
use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, lab, on};

fn lab_json(name: &str) -> Value {
    let text = std::fs::read_to_string(lab().join(name)).expect("the example config");
    serde_json::from_str(&text).expect("JSON")
}

fn write_lab(scratch: &Scratch, lxc: &Value) -> String {
    let dir = scratch.write_config(
        &serde_json::to_string_pretty(&lab_json("phoenix_hypervisor_config.json")).expect("JSON"),
    );
    std::fs::write(
        dir.join("phoenix_lxc_configs.json"),
        serde_json::to_string_pretty(lxc).expect("JSON"),
    )
    .expect("write the lxc config");
    arg(&dir).to_owned()
}

/// Runs `words` in container `id` of the scratch node and saves the node.
fn in_container(scratch: &Scratch, id: &str, words: &[&str], stdin: Option<&str>) -> String {
    let node =
        SimNode::open(&scratch.state_file(), phoenix_cli::target::emulators()).expect("node");
    let mut argv = vec!["exec", id, "--"];
    argv.extend(words);
    let mut cmd = phoenix_core::Cmd::write("pct", argv);
    if let Some(stdin) = stdin {
        cmd = cmd.stdin(stdin.to_owned());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let output = runtime.block_on(node.run(&cmd)).expect("runs");
    node.save().expect("saves");
    format!("{}{}", output.stdout, output.stderr)
}

fn driver(scratch: &Scratch, id: &str) -> String {
    in_container(scratch, id, &["docker", "info", "-f", "{{.Driver}}"], None)
}

fn with_zfs(scratch: &Scratch, version: &str) {
    scratch.edit_state(|state| {
        state["tools"]["zfs"] = json!({"version": version});
    });
}

#[test]
fn issue_11_docker_uses_overlay2_on_openzfs_2_3_without_a_daemon_json() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    with_zfs(&scratch, "2.3");
    let config = write_lab(&scratch, &lab_json("phoenix_lxc_configs.json"));
    converge(&config, &scratch);
    // 902 is a template that does not run; its clone 952 runs what it installed.
    {
        let id = "952";
        assert_eq!(driver(&scratch, id), "overlay2\n", "{id}");
        assert_eq!(
            in_container(
                &scratch,
                id,
                &["test", "-e", "/etc/docker/daemon.json"],
                None
            ),
            "",
            "{id}"
        );
    }
}

#[test]
fn issue_11_docker_uses_fuse_overlayfs_on_openzfs_2_1() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    with_zfs(&scratch, "2.1");
    let config = write_lab(&scratch, &lab_json("phoenix_lxc_configs.json"));
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(
        text.contains("apt-get install -y --no-install-recommends fuse-overlayfs"),
        "{text}"
    );
    assert!(text.contains("OpenZFS 2.1.11-1+deb12u1 < 2.2"), "{text}");
    converge(&config, &scratch);
    {
        let id = "952";
        assert_eq!(driver(&scratch, id), "fuse-overlayfs\n", "{id}");
        assert_eq!(
            in_container(&scratch, id, &["cat", "/etc/docker/daemon.json"], None),
            "{\n  \"storage-driver\": \"fuse-overlayfs\"\n}\n",
            "{id}"
        );
    }
}

#[test]
fn issue_11_a_vfs_storage_driver_is_a_plan_error_with_the_reason() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = write_lab(&scratch, &lab_json("phoenix_lxc_configs.json"));
    converge(&config, &scratch);
    in_container(&scratch, "952", &["mkdir", "-p", "/etc/docker"], None);
    in_container(
        &scratch,
        "952",
        &[
            "sh",
            "-c",
            phoenix_core::file::STAGE_SCRIPT,
            "sh",
            "/etc/docker/daemon.json",
        ],
        Some("{\"storage-driver\": \"vfs\"}\n"),
    );
    assert_eq!(driver(&scratch, "952"), "vfs\n");
    let ran = on(&scratch, "plan", &config, &["--json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let plan: Value = serde_json::from_str(&ran.stdout).expect("JSON");
    let errors: Vec<&str> = plan["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("container 952: Docker runs on the vfs storage driver, which copies every image layer in full and fills the ZFS dataset")),
        "{errors:?}"
    );
}

#[test]
fn issue_11_docker_without_nesting_and_keyctl_is_refused_at_the_json_path() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    lxc["lxc_configs"]["952"]["pct_options"] = json!(["nesting=1"]);
    let config = write_lab(&scratch, &lxc);
    let before = scratch.state_bytes();
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("at lxc_configs.\"952\".pct_options: container 952: the docker feature needs nesting=1 and keyctl=1 in pct_options (missing: keyctl=1)"),
        "{}",
        ran.stderr
    );
    assert_eq!(before, scratch.state_bytes(), "the node is not even opened");
}

/// Changes the node's OpenZFS version alone (its pools and datasets stay).
fn upgrade_zfs(scratch: &Scratch, version: &str) {
    scratch.edit_state(|state| {
        state["tools"]["zfs"]["version"] = json!(version);
    });
}

#[test]
fn issue_11_a_stale_fuse_overlayfs_pin_goes_once_the_host_zfs_has_overlayfs_and_comes_back_below_it()
 {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    with_zfs(&scratch, "2.1");
    let config = write_lab(&scratch, &lab_json("phoenix_lxc_configs.json"));
    converge(&config, &scratch);
    assert_eq!(driver(&scratch, "952"), "fuse-overlayfs\n");

    // The host moves to OpenZFS 2.3: the pin is stale.
    upgrade_zfs(&scratch, "2.3");
    let ran = on(&scratch, "plan", &config, &[]);
    let text = format!("{}{}", ran.stdout, ran.stderr);
    for expected in [
        "OpenZFS 2.3.2-2~bpo12+2 >= 2.2: the pin in /etc/docker/daemon.json is stale",
        "rm -f /etc/docker/daemon.json",
        "systemctl restart docker.service",
        "needs restart of docker.service in container 952",
        "/var/lib/docker/fuse-overlayfs",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    converge(&config, &scratch);
    assert_eq!(driver(&scratch, "952"), "overlay2\n");
    let daemon_json = in_container(&scratch, "952", &["cat", "/etc/docker/daemon.json"], None);
    assert!(
        daemon_json.contains("No such file or directory"),
        "{daemon_json}"
    );

    // And back: a host below 2.2 pins fuse-overlayfs again.
    upgrade_zfs(&scratch, "2.1");
    let text = on(&scratch, "plan", &config, &[]).stdout;
    assert!(text.contains("OpenZFS 2.1.11-1+deb12u1 < 2.2"), "{text}");
    converge(&config, &scratch);
    assert_eq!(driver(&scratch, "952"), "fuse-overlayfs\n");
}

/// The lab with 952 (Docker, a clone of 902) also given the `nvidia` feature and GPU 0.
fn lab_with_docker_gpus(scratch: &Scratch, image: Option<&str>) -> String {
    let mut lxc = lab_json("phoenix_lxc_configs.json");
    let entry = &mut lxc["lxc_configs"]["952"];
    entry["features"] = json!(["nvidia"]);
    entry["gpu_assignment"] = json!("0");
    if let Some(image) = image {
        entry["gpu_check_image"] = json!(image);
    }
    write_lab(scratch, &lxc)
}

#[test]
fn issue_11_docker_with_nvidia_gets_the_container_toolkit_and_a_gpu_smoke_check() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with_docker_gpus(&scratch, None);
    let ran = on(&scratch, "plan", &config, &[]);
    for expected in [
        "docker.nvidia[ct:952]",
        "apt-get install -y --no-install-recommends nvidia-container-toolkit",
        "nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true",
        "nvidia-ctk runtime configure --runtime=docker",
        "needs restart of docker.service in container 952",
        "docker.gpu_check[ct:952]",
        "docker run --rm --gpus all ubuntu:24.04 nvidia-smi -L",
    ] {
        assert!(ran.stdout.contains(expected), "{expected}: {}", ran.stdout);
    }
    let noop = converge(&config, &scratch);
    let changes = noop["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .filter(|c| c["id"]["kind"] == "docker.gpu_check")
            .all(|c| c["action"] == "noop"),
        "a no-op plan runs no smoke check: {noop}"
    );
    let state = scratch.state();
    let checks: Vec<String> = (1..=state.run)
        .flat_map(|run| crate::support::operations_in(&state.audit, run))
        .filter(|op| op.contains("--gpus all"))
        .collect();
    assert_eq!(
        checks,
        ["run pct exec 952 -- docker run --rm --gpus all ubuntu:24.04 nvidia-smi -L"],
        "the smoke check runs once, after the apply that set Docker's GPUs up"
    );
    assert_eq!(
        in_container(
            &scratch,
            "952",
            &["cat", "/etc/nvidia-container-runtime/config.toml"],
            None
        )
        .lines()
        .filter(|line| line.starts_with("no-cgroups"))
        .collect::<Vec<_>>(),
        ["no-cgroups = true"]
    );
    let daemon = in_container(&scratch, "952", &["cat", "/etc/docker/daemon.json"], None);
    assert!(daemon.contains("\"nvidia-container-runtime\""), "{daemon}");
    let smoke = in_container(
        &scratch,
        "952",
        &[
            "docker",
            "run",
            "--rm",
            "--gpus",
            "all",
            "ubuntu:24.04",
            "nvidia-smi",
            "-L",
        ],
        None,
    );
    assert!(
        smoke.starts_with("GPU 0: NVIDIA GeForce RTX 5060 Ti (UUID: GPU-"),
        "{smoke}"
    );
}

#[test]
fn issue_11_a_failing_gpu_smoke_check_exits_1_naming_the_container_and_explaining_runcs_cve_breakage()
 {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    // lxc-pve of LXC 6.0.0: its AppArmor profile predates the fix for runc 1.3.3's new /proc/sys
    // access.
    scratch.edit_state(|state| {
        state["tools"]["dpkg"]["installed"]["lxc-pve"] = json!("6.0.0-1");
    });
    let config = lab_with_docker_gpus(
        &scratch,
        Some("nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04"),
    );
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    for expected in [
        "container 952: the GPU smoke check `docker run --rm --gpus all nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04 nvidia-smi -L` failed (exit 126)",
        "open sysctl net.ipv4.ip_unprivileged_port_start file: reopen fd 8: permission denied",
        "CVE-2025-52881",
        "update lxc-pve (LXC >= 6.0.6)",
    ] {
        assert!(ran.stderr.contains(expected), "{expected}: {}", ran.stderr);
    }
}

#[test]
fn issue_11_a_bad_gpu_check_image_is_an_error_at_its_path() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = lab_with_docker_gpus(&scratch, Some("ubuntu; reboot"));
    let before = scratch.state_bytes();
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stderr.contains("phoenix_lxc_configs.json")
            && ran
                .stderr
                .contains("lxc_configs.\"952\".gpu_check_image: expected a Docker image reference"),
        "{}",
        ran.stderr
    );
    assert_eq!(before, scratch.state_bytes());
}
