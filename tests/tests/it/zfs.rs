//! The ZFS provider end to end on the simulated node: the seed's layout and the upstream config
//! converge and then plan nothing with a fixed command budget, an edited property gives exactly
//! one `zfs set`, layout drift is refused, and a disk with a filesystem is never wiped unasked.

use serde_json::{Value, json};

use crate::support::{Scratch, arg, converge, lab, mutations_in, on, phoenix, plan_json};

const DISK_4TB: &str = "/dev/disk/by-id/nvme-Samsung_SSD_990_EVO_Plus_4TB_S7U8NJ0Y402334Y";

/// The example's hypervisor config as JSON, to edit.
fn lab_config() -> Value {
    let text = std::fs::read_to_string(lab().join("phoenix_hypervisor_config.json"))
        .expect("the example config");
    serde_json::from_str(&text).expect("the example config is JSON")
}

fn write(scratch: &Scratch, config: &Value) -> String {
    let dir = scratch.write_config(&serde_json::to_string_pretty(config).expect("JSON"));
    arg(&dir).to_owned()
}

/// Commands of the given programs in a plan's stats.
fn commands_of(plan: &Value, programs: &[&str]) -> u64 {
    programs
        .iter()
        .map(|p| {
            plan["stats"]["commands_by_program"][p]
                .as_u64()
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn the_seed_layout_converges_and_then_plans_nothing() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let config = arg(&lab()).to_owned();
    let first = plan_json(&config, &scratch);
    let kinds: Vec<&str> = first["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["id"]["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "zfs.pool").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "zfs.dataset").count(), 9);
    assert_eq!(kinds.iter().filter(|k| **k == "pve.storage").count(), 9);
    assert_eq!(kinds.iter().filter(|k| **k == "zfs.arc").count(), 1);
    let noop = converge(&config, &scratch);
    let zfs_and_storage = commands_of(&noop, &["zpool", "zfs", "pvesm"]);
    assert!(
        zfs_and_storage <= 4,
        "no-op plan ran {zfs_and_storage} ZFS/storage commands: {}",
        noop["stats"]
    );
    assert_eq!(noop["stats"]["commands_writing"], 0);
}

#[test]
fn the_upstream_config_converges_with_the_same_budget() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    // The hypervisor file only: the upstream containers need a storage upstream never defined
    // (quickOS-shared-prod-data-volumes); the LXC tests give them one.
    let config = scratch
        .copy_upstream_config(&["phoenix_hypervisor_config.json", "phoenix_vm_configs.json"]);
    let noop = converge(arg(&config), &scratch);
    let zfs_and_storage = commands_of(&noop, &["zpool", "zfs", "pvesm"]);
    assert!(zfs_and_storage <= 4, "{}", noop["stats"]);
    // The upstream lookup rule: fastData-shared-iso (dataset "fastData-shared-iso") becomes a
    // storage of its own, and the unmatched proxmox_storage_ids keys are noted.
    let cfg = std::fs::read_to_string(scratch.state_file()).expect("state");
    assert!(cfg.contains("fastData-fastData-shared-iso"));
    let notes: Vec<&str> = noop["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["message"].as_str())
        .filter(|m| m.contains("matches no dataset"))
        .collect();
    assert_eq!(
        notes.len(),
        3,
        "quickos_vm, quickos_lxc and fastdata_iso never match: {notes:?}"
    );
}

#[test]
fn five_hundred_datasets_cost_the_same_number_of_commands() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    let mut config = lab_config();
    let datasets: Vec<Value> = (0..500)
        .map(|i| {
            json!({
                "name": format!("tenant-{i:03}"),
                "pool": if i % 2 == 0 { "quickOS" } else { "fastData" },
                "properties": "recordsize=16K,compression=lz4,quota=10G",
                "proxmox_storage_type": "zfspool",
                "proxmox_content_type": "images,rootdir"
            })
        })
        .collect();
    config["zfs"]["datasets"] = Value::Array(datasets);
    // The lab's Samba shares and NFS exports are on the datasets this test replaces.
    config.as_object_mut().expect("an object").remove("samba");
    config.as_object_mut().expect("an object").remove("nfs");
    let dir = write(&scratch, &config);
    let noop = converge(&dir, &scratch);
    assert_eq!(
        noop["summary"]["unchanged"].as_u64(),
        // The lab's other resources: the admin user's seven, its time zone and the cluster
        // firewall included.
        Some(500 + 500 + 2 + 3 + 1 + 1 + 3 + 7 + 1)
    );
    let zfs_and_storage = commands_of(&noop, &["zpool", "zfs", "pvesm"]);
    assert!(zfs_and_storage <= 4, "{}", noop["stats"]);
}

#[test]
fn one_edited_property_is_exactly_one_zfs_set() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    converge(arg(&lab()), &scratch);
    let mut config = lab_config();
    config["zfs"]["datasets"][0]["properties"] =
        json!("recordsize=128K,compression=lz4,sync=standard,quota=900G");
    let dir = write(&scratch, &config);
    let plan = plan_json(&dir, &scratch);
    let changes = plan["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!(change["id"]["name"], "quickOS/vm-disks");
    assert_eq!(change["action"], "update");
    assert_eq!(
        change["fields"],
        json!([{"field": "quota", "before": "800G", "after": "900G", "note": "source: local"}])
    );
    assert_eq!(
        change["steps"],
        json!([{"step": "run", "cmd": {"program": "zfs", "args": ["set", "quota=900G", "quickOS/vm-disks"], "effect": "write"}}])
    );
    converge(&dir, &scratch);
}

#[test]
fn an_edited_disk_list_is_an_error_and_changes_nothing() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    converge(arg(&lab()), &scratch);
    let mut config = lab_config();
    config["zfs"]["pools"][0]["disks"][1] = json!("/dev/disk/by-id/nvme-Another_Disk");
    let dir = write(&scratch, &config);
    let before = scratch.state().tools;
    for command in ["plan", "apply"] {
        let mut args = vec![command, "--config", &dir, "--target"];
        let target = scratch.target();
        args.push(&target);
        if command == "apply" {
            args.push("--yes");
        }
        let ran = phoenix(&args);
        assert_eq!(ran.code, 1, "{command}: {}", ran.stdout);
        assert!(ran.stderr.contains("layout drift"), "{}", ran.stderr);
    }
    assert_eq!(scratch.state().tools, before, "no tool state changed");
}

/// The example node with an ext4 filesystem on the 4 TB disk.
fn ext4_on_the_4tb_disk(scratch: &Scratch) {
    scratch.seed_lab_state();
    scratch.edit_state(|state| {
        state["tools"]["disks"][DISK_4TB]["signatures"] = json!([{"type": "ext4", "offset": "0x438", "uuid": "d7f6d88e-e40e-438a-b6f9-daf3aa6488d7", "label": null}]);
    });
}

#[test]
fn a_disk_with_a_filesystem_is_refused_without_allow_destroy() {
    let scratch = Scratch::new();
    ext4_on_the_4tb_disk(&scratch);
    let config = arg(&lab()).to_owned();
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains(DISK_4TB) && ran.stderr.contains("ext4"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("--allow-destroy"), "{}", ran.stderr);
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 1);
    let state = scratch.state();
    assert_eq!(mutations_in(&state.audit, state.run), Vec::<String>::new());

    let ran = on(&scratch, "plan", &config, &["--allow-destroy"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(&format!("wipefs -a {DISK_4TB}")),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("destroys data"), "{}", ran.stdout);
    let ran = on(&scratch, "apply", &config, &["--yes", "--allow-destroy"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

#[test]
fn status_reports_wear_and_health() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    converge(arg(&lab()), &scratch);
    let ran = on(&scratch, "status", &lab(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("wear:"), "{}", ran.stdout);
    assert!(ran.stdout.contains("0 change(s) pending"), "{}", ran.stdout);
}

#[test]
fn issue_8_a_failed_smartctl_is_a_warning_naming_the_disk_and_the_error() {
    let scratch = Scratch::new();
    scratch.seed_lab_state();
    converge(arg(&lab()), &scratch);
    let mut state = scratch.state();
    let disk = "/dev/disk/by-id/nvme-Samsung_SSD_990_EVO_Plus_4TB_S7U8NJ0Y402334Y";
    state.faults.push(
        phoenix_core::sim::Fault::new(1, 2, "Smartctl open device: failed: Permission denied\n")
            .program("smartctl")
            .argv_contains(disk),
    );
    scratch.write_state(&state);
    let ran = on(&scratch, "status", &lab(), &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains("smartctl failed"))
        .unwrap_or_else(|| panic!("a warning for the disk: {}", ran.stdout));
    assert!(line.contains("warning:") && line.contains(disk), "{line}");
    assert!(
        line.contains("status 2") && line.contains("Permission denied"),
        "{line}"
    );
    // The other disks still report their wear.
    assert_eq!(ran.stdout.matches("wear:").count(), 2, "{}", ran.stdout);
}

/// The testbed's 4 GiB disk, which the every-value config pools.
const TESTBED_DISK: &str = "/dev/disk/by-id/virtio-phoenix-fastdata-1";

/// A scratch node seeded with the testbed's disks.
fn testbed_node() -> Scratch {
    let scratch = Scratch::new();
    std::fs::copy(
        crate::support::examples().join("testbed/sim-state.json"),
        scratch.state_file(),
    )
    .expect("seed the node");
    scratch
}

#[test]
fn issue_14_every_accepted_value_converges_on_the_simulated_node() {
    let scratch = testbed_node();
    let config = phoenix_zfs::sim::every_value_config("scratch", TESTBED_DISK, 0);
    let dir = write(&scratch, &config);
    // Apply, then an empty plan (exit 0 with --detailed-exitcode), then a second apply that
    // changes nothing: every value converges however ZFS reads it back.
    converge(&dir, &scratch);
    // Every settable value replaced by the next one in its list: one `zfs set` per filesystem
    // (a volume's size stays when no other size in the list fits its block size), then
    // converged again.
    let shifted = phoenix_zfs::sim::every_value_config("scratch", TESTBED_DISK, 1);
    let shifted_dir = write(&scratch, &shifted);
    let plan = plan_json(&shifted_dir, &scratch);
    let changes = plan["changes"].as_array().expect("changes");
    let filesystems = config["zfs"]["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .filter(|d| {
            !d["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("every-vol-"))
        })
        .count();
    let updates = changes.iter().filter(|c| c["action"] == "update").count();
    assert!(updates >= filesystems, "{}", plan["summary"]);
    assert_eq!(updates, changes.len(), "{}", plan["summary"]);
    converge(&shifted_dir, &scratch);
}

#[test]
fn issue_14_values_real_zfs_refuses_are_refused_at_validation_at_their_json_path() {
    let scratch = testbed_node();
    let before = scratch.state_bytes();
    let config = scratch.write_config(&format!(
        r#"{{"zfs": {{"pools": [{{"name": "scratch", "raid_level": "single", "disks": ["{TESTBED_DISK}"]}}],
 "datasets": [
  {{"name": "a", "pool": "scratch", "properties": {{"compression": "LZ4", "quota": "0", "special_small_blocks": "3K", "encryption": "on"}}}},
  {{"name": "v", "pool": "scratch", "properties": "volsize=1000000"}}]}}}}"#
    ));
    let runs = [
        ("validate", phoenix(&["validate", "--config", arg(&config)])),
        ("plan", on(&scratch, "plan", &config, &[])),
        ("apply", on(&scratch, "apply", &config, &["--yes"])),
    ];
    for (command, ran) in runs {
        assert_eq!(ran.code, 1, "{command}: {}", ran.stderr);
        for expected in [
            ":3:66 at zfs.datasets[0].properties.compression: compression values are case-sensitive in ZFS: did you mean \"lz4\"?",
            ":3:82 at zfs.datasets[0].properties.quota: quota is turned off with none, not \"0\"",
            ":3:111 at zfs.datasets[0].properties.special_small_blocks: special_small_blocks must be 0 (or none) or a power of two from 512 to 16M",
            ":3:131 at zfs.datasets[0].properties.encryption: encryption can only be off",
            ":4:50 at zfs.datasets[1].properties: volsize must be a multiple of the volume block size 16K",
        ] {
            assert!(
                ran.stderr.contains(expected),
                "{command}: {expected}\n{}",
                ran.stderr
            );
        }
    }
    assert_eq!(scratch.state_bytes(), before, "nothing reached the node");
}
