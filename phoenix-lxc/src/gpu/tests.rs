//! Table tests of `lxc.gpu`'s diff: `check(desired, observed, expect)` on the rendered steps.

use phoenix_core::{Scope, Severity, Step};
use phoenix_pve::gpu::{GpuRow, NodeGpus, parse_proc_devices};

use super::{Passthrough, PassthroughState};

const CONF: &str = "arch: amd64\nhostname: gpu\nmemory: 2048\nrootfs: local-zfs:subvol-901-disk-0,size=8G\nunprivileged: 1\n";

const DEV: &str = "dev0: /dev/nvidia0,gid=44\ndev1: /dev/nvidiactl,gid=44\ndev2: /dev/nvidia-uvm,gid=44\ndev3: /dev/nvidia-uvm-tools,gid=44\n";

fn cgroup(uvm: u32) -> String {
    format!(
        "lxc.cgroup2.devices.allow: c 195:* rwm\nlxc.cgroup2.devices.allow: c {uvm}:* rwm\nlxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file\nlxc.mount.entry: /dev/nvidiactl dev/nvidiactl none bind,optional,create=file\nlxc.mount.entry: /dev/nvidia-uvm dev/nvidia-uvm none bind,optional,create=file\nlxc.mount.entry: /dev/nvidia-uvm-tools dev/nvidia-uvm-tools none bind,optional,create=file\n"
    )
}

/// A node with `gpus` GPUs (`None`: nvidia-smi cannot list them), nvidia-uvm at `uvm`, and
/// pve-container `version`.
fn node(gpus: Option<u32>, uvm: u32, version: &str) -> NodeGpus {
    NodeGpus {
        gpus: gpus.map(|n| {
            (0..n)
                .map(|index| GpuRow {
                    index,
                    uuid: format!("GPU-{index}"),
                    name: "NVIDIA GeForce RTX 5060 Ti".into(),
                    pci_bus_id: format!("00000000:0{}:00.0", index + 1),
                    driver_version: "580.76.05".into(),
                })
                .collect()
        }),
        gpus_error: gpus.is_none().then(|| {
            "nvidia-smi exited 9: NVIDIA-SMI has failed (a driver installed since the last boot needs a reboot)".to_owned()
        }),
        devices: parse_proc_devices(&format!(
            "Character devices:\n195 nvidia\n195 nvidiactl\n{uvm} nvidia-uvm\n"
        ))
        .expect("devices"),
        pve_container: Some(version.to_owned()),
    }
}

/// Each step as a line: the argv, or `write PATH` and the written lines that are the
/// passthrough's; then `restart` when the change restarts the container, and each diagnostic.
fn check(gpus: &[u32], status: Option<&str>, text: &str, node: NodeGpus, expect: &[&str]) {
    let config = vec![("lxc.apparmor.profile".to_owned(), "unconfined".to_owned())];
    let res = Passthrough::new(&Scope::node(), 901, gpus.to_vec(), config);
    let delta = res.delta(&PassthroughState {
        status: status.map(str::to_owned),
        text: text.to_owned(),
        node,
    });
    let mut got: Vec<String> = delta
        .steps
        .iter()
        .map(|step| match step {
            Step::WriteFile { path, content, .. } => format!(
                "write {} {:?}",
                path.display(),
                content
                    .reveal()
                    .unwrap_or_default()
                    .lines()
                    .filter(|line| line.contains("nvidia") || line.starts_with("lxc.cgroup2"))
                    .filter_map(|line| {
                        line.split(' ')
                            .find(|word| word.ends_with(":*") || word.starts_with("/dev/"))
                    })
                    .collect::<Vec<_>>()
            ),
            other => other.to_string(),
        })
        .collect();
    if delta.disruption != phoenix_core::Disruption::Hot {
        got.push("restart".into());
    }
    for diagnostic in &delta.diagnostics {
        let severity = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            _ => "note",
        };
        got.push(format!("{severity}: {}", diagnostic.message));
    }
    assert_eq!(got, expect, "{gpus:?} {status:?}\n{text}");
}

#[test]
fn issue_11_dev_entries_on_pve_8() {
    let new = node(Some(2), 238, "5.2.7");
    let with_dev = format!("{CONF}{DEV}");
    // A container this run creates: the entries with its creation, no restart.
    check(
        &[0],
        None,
        "",
        new.clone(),
        &[
            "pct set 901 --dev0 /dev/nvidia0,gid=44 --dev1 /dev/nvidiactl,gid=44 --dev2 /dev/nvidia-uvm,gid=44 --dev3 /dev/nvidia-uvm-tools,gid=44",
        ],
    );
    // In place: nothing, whatever the majors are now.
    check(&[0], Some("running"), &with_dev, new.clone(), &[]);
    check(
        &[0],
        Some("running"),
        &with_dev,
        node(Some(2), 243, "5.2.7"),
        &[],
    );
    // Adding a GPU to a running container: one entry more, and a restart.
    check(
        &[0, 1],
        Some("running"),
        &with_dev,
        new.clone(),
        &[
            "pct set 901 --dev4 /dev/nvidia1,gid=44",
            "pct shutdown 901",
            "pct start 901",
            "restart",
        ],
    );
    // Removing one, from a stopped container: its entry goes, no restart.
    let two = format!("{with_dev}dev4: /dev/nvidia1,gid=44\n");
    check(
        &[0],
        Some("stopped"),
        &two,
        new.clone(),
        &["pct set 901 --delete dev4"],
    );
    // "none": every NVIDIA entry goes; the operator's /dev/dri entry stays.
    let dri = format!("{with_dev}dev4: /dev/dri/renderD128,gid=104\n");
    check(
        &[],
        Some("stopped"),
        &dri,
        NodeGpus::default(),
        &["pct set 901 --delete dev0,dev1,dev2,dev3"],
    );
}

#[test]
fn issue_11_cgroup_lines_on_older_proxmox() {
    let old = |uvm| node(Some(2), uvm, "4.4-6");
    let with_lines = format!("{CONF}{}lxc.apparmor.profile: unconfined\n", cgroup(238));
    check(
        &[0],
        None,
        "",
        old(238),
        &["tee -a /etc/pve/lxc/901.conf  # with 398 byte(s) on stdin"],
    );
    check(&[0], Some("running"), &with_lines, old(238), &[]);
    // The uvm major moved between boots: the block is written again in its place, not added.
    check(
        &[0],
        Some("running"),
        &with_lines,
        old(243),
        &[
            r#"write /etc/pve/lxc/901.conf ["195:*", "243:*", "/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"]"#,
            "pct shutdown 901",
            "pct start 901",
            "restart",
        ],
    );
    // An upgrade to PVE 8: the raw block goes, the devN entries come.
    check(
        &[0],
        Some("stopped"),
        &with_lines,
        node(Some(2), 243, "5.2.7"),
        &[
            "write /etc/pve/lxc/901.conf []",
            "pct set 901 --dev0 /dev/nvidia0,gid=44 --dev1 /dev/nvidiactl,gid=44 --dev2 /dev/nvidia-uvm,gid=44 --dev3 /dev/nvidia-uvm-tools,gid=44",
        ],
    );
}

#[test]
fn issue_11_deferred_and_missing_gpus_change_nothing() {
    // nvidia-smi cannot list the GPUs (a driver waiting for its reboot): deferred, with why.
    check(
        &[0],
        Some("running"),
        CONF,
        node(None, 238, "5.2.7"),
        &[
            "warning: GPU passthrough of container 901 is deferred: the node's GPUs cannot be listed (nvidia-smi exited 9: NVIDIA-SMI has failed (a driver installed since the last boot needs a reboot)); its conf lines follow once the NVIDIA driver is loaded",
        ],
    );
    // Old Proxmox without a uvm major: deferred too.
    let mut no_uvm = node(Some(2), 238, "4.4-6");
    no_uvm.devices = parse_proc_devices("Character devices:\n195 nvidia\n").expect("devices");
    check(
        &[0],
        Some("stopped"),
        CONF,
        no_uvm,
        &[
            "warning: GPU passthrough of container 901 is deferred: pve-container 4.4-6 has no devN: entries, and /proc/devices lists no major for nvidia and nvidia-uvm (the driver is not loaded); its conf lines follow once the NVIDIA driver is loaded",
        ],
    );
    // GPU 2 on a 2-GPU node: no change here; gpu.assignment reports the plan error.
    check(
        &[2],
        Some("running"),
        CONF,
        node(Some(2), 238, "5.2.7"),
        &[],
    );
    check(
        &[0, 2],
        Some("running"),
        CONF,
        node(Some(2), 238, "5.2.7"),
        &[],
    );
}
