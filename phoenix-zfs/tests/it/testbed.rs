//! The capture script's testbed (`shared/fixtures/capture-testbed.sh`), replayed on the
//! simulated node for OpenZFS 2.1 and 2.3: every emulated command must print what the real one
//! printed. Per-run values (GUIDs, UUIDs, creation times, txgs, object set ids) are redacted;
//! space figures that depend on on-disk metadata are set in the state from the captures.

use serde_json::{Value, json};

use crate::support::{Mismatches, Node, fixture, without_props};

const D1: &str = "/dev/disk/by-id/virtio-zdisk1";
const D2: &str = "/dev/disk/by-id/virtio-zdisk2";
const D3: &str = "/dev/disk/by-id/virtio-zdisk3";

/// Three 2 GiB virtio disks and the 8 GiB root disk, as `lsblk-json.disks.txt` shows them.
fn disks() -> Value {
    let disk = |serial: &str, name: &str| json!({"size": 2_147_483_648_u64, "serial": serial, "transport": "virtio", "kernel_name": name, "signatures": []});
    json!({
        "/dev/disk/by-id/virtio-root": {"size": 8_589_934_592_u64, "serial": "root", "kernel_name": "vda",
            "signatures": [{"type": "ext4", "offset": "0x438", "uuid": "0b6f1c3e-0000-4000-8000-000000000000", "label": null}]},
        D1: disk("zdisk1", "vdb"),
        D2: disk("zdisk2", "vdc"),
        D3: disk("zdisk3", "vdd"),
    })
}

/// The ext4 UUID `mkfs.ext4` gave disk 3 in each capture.
fn ext4_uuid(dir: &str) -> &'static str {
    if dir == "zfs" {
        "d7f6d88e-e40e-438a-b6f9-daf3aa6488d7"
    } else {
        "d246db76-186b-4818-ab66-e14dd9e7ec75"
    }
}

/// Redacts the per-run values of `blkid` output.
fn redact_blkid(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(' ') {
        let redacted = [
            "UUID=",
            "UUID_SUB=",
            "PTUUID=",
            "PART_ENTRY_NAME=",
            "PART_ENTRY_UUID=",
        ]
        .iter()
        .find(|key| word.starts_with(*key))
        .map_or_else(|| word.to_owned(), |key| format!("{key}\"…\""));
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&redacted);
    }
    out
}

fn set(value: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer with a key");
    let target = value
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    target
        .as_object_mut()
        .unwrap_or_else(|| panic!("{parent} is not an object"))
        .insert(key.to_owned(), new);
}

async fn replay(dir: &str) {
    let version = if dir == "zfs" { "2.1" } else { "2.3" };
    let v21 = version == "2.1";
    let mut node = Node::new(json!({"disks": disks(), "zfs": {"version": version}}), &[]);
    let mut found = Mismatches::default();
    let at = |name: &str| format!("{dir}/{name}");

    // Empty state.
    found.check(&node, &at("zpool-list-Hp.empty.txt")).await;
    found.check(&node, &at("zfs-list-Hp.empty.txt")).await;
    found.check(&node, &at("zpool-get.nopool.txt")).await;
    found.check(&node, &at("zfs-get.nodataset.txt")).await;

    // Disk signatures before.
    found.check(&node, &at("blkid.empty-disk.txt")).await;
    found.check(&node, &at("lsblk-json.disks.txt")).await;
    node.patch("disks", |disks| {
        set(
            disks,
            &format!("/{}/signatures", D3.replace('/', "~1")),
            json!([{"type": "ext4", "offset": "0x438", "uuid": ext4_uuid(dir), "label": null}]),
        );
    });
    found.check(&node, &at("blkid.ext4.txt")).await;
    found.check(&node, &at("wipefs-noact-json.ext4.txt")).await;
    found.check(&node, &at("wipefs-noact.ext4.txt")).await;
    found.check(&node, &at("zpool-create.ext4-disk.txt")).await;
    let wiped = node.run(&format!("wipefs -a -q {D3}")).await;
    assert_eq!(
        (wiped.status, wiped.stdout.as_str()),
        (0, ""),
        "wipefs -a -q"
    );

    // The seed-like layout.
    found.check(&node, &at("zpool-create.mirror.txt")).await;
    found.check(&node, &at("zpool-create.single.txt")).await;
    found.check(&node, &at("zpool-create.exists.txt")).await;
    let blkid = fixture(&at("blkid.zfs-member.txt"));
    let mut both = node.run(&format!("blkid -p {D1}-part1")).await;
    let whole = node.run(&format!("blkid -p {D1}")).await;
    both.stdout.push_str(&whole.stdout);
    both.status = whole.status;
    found.compare(
        "blkid.zfs-member.txt",
        &both,
        blkid.exit,
        &blkid.body,
        &redact_blkid,
    );
    found
        .check(&node, &at("wipefs-noact-json.zfs-member.txt"))
        .await;
    for line in [
        "zfs create -o recordsize=128K -o compression=lz4 -o sync=standard -o quota=800M quickOS/vm-disks",
        "zfs create -o recordsize=16K -o compression=lz4 -o sync=standard -o quota=600M quickOS/lxc-disks",
        "zfs create -o recordsize=128K -o quota=400M quickOS/shared-prod-data",
        "zfs create -o recordsize=16K -o sync=always -o quota=100M quickOS/shared-prod-data-sync",
        "zfs create -o recordsize=1M -o compression=zstd -o quota=1.4G fastData/shared-backups",
        "zfs create -o recordsize=1M -o quota=100M fastData/shared-iso",
        "zfs create -V 64M quickOS/vm-disks/vm-100-disk-0",
        "zfs create -o refquota=8G quickOS/lxc-disks/subvol-951-disk-0",
    ] {
        let ran = node.run(line).await;
        assert_eq!(ran.status, 0, "{line}: {ran:?}");
    }
    found.check(&node, &at("zfs-create.exists.txt")).await;
    found.check(&node, &at("zfs-create.nopool.txt")).await;
    found.check(&node, &at("zfs-set.bad-recordsize.txt")).await;
    found.check(&node, &at("zfs-set.bad-prop.txt")).await;
    found.check(&node, &at("zfs-set.bad-compression.txt")).await;
    found.check(&node, &at("zfs-set.readonly-prop.txt")).await;
    found.check(&node, &at("zfs-set.ok.txt")).await;

    // Space figures that come from on-disk metadata, as the captures show them.
    let referenced: &[(&str, u64)] = &[
        ("fastData", if v21 { 25_600 } else { 24_576 }),
        ("fastData/shared-backups", 24_576),
        ("fastData/shared-iso", 24_576),
        ("quickOS", 114_688),
        ("quickOS/shared-prod-data", 8_495_104),
    ];
    node.patch("zfs", |zfs| {
        for (name, bytes) in referenced {
            set(
                zfs,
                &format!("/datasets/{}/referenced", name.replace('/', "~1")),
                json!(bytes),
            );
        }
        set(
            zfs,
            "/datasets/fastData/used",
            json!(if v21 { 211_456 } else { 182_784 }),
        );
        set(
            zfs,
            "/datasets/quickOS/used",
            json!(if v21 { 80_822_272_u64 } else { 79_663_104 }),
        );
        set(
            zfs,
            "/pools/fastData/allocated",
            json!(if v21 { 303_616 } else { 275_968 }),
        );
        set(
            zfs,
            "/pools/quickOS/allocated",
            json!(if v21 { 9_924_608 } else { 9_740_288 }),
        );
        let fragmentation = if v21 { 0 } else { 1 };
        set(zfs, "/pools/fastData/fragmentation", json!(fragmentation));
        set(zfs, "/pools/quickOS/fragmentation", json!(fragmentation));
    });

    // Listings.
    found.check(&node, &at("zpool-list-Hp.txt")).await;
    found.check(&node, &at("zpool-list-Hp-o.txt")).await;
    found.check(&node, &at("zpool-list-vHPp.txt")).await;
    found
        .check_redacted(
            &node,
            &at("zpool-get-Hp-all.quickOS.txt"),
            &without_props(&["guid", "load_guid"]),
        )
        .await;
    found.check(&node, &at("zpool-get-Hp-o.selected.txt")).await;
    found.check(&node, &at("zpool-status.mirror.txt")).await;
    found.check(&node, &at("zpool-status.P.all.txt")).await;
    found.check(&node, &at("zpool-status.LP.all.txt")).await;
    found.check(&node, &at("zfs-list-Hp.txt")).await;
    // The capture also lists a snapshot, which the simulation does not have.
    let all_types = fixture(&at("zfs-list-Hp-o.all-types.txt"));
    let ran = node.run(&all_types.command).await;
    let without_snapshots = |text: &str| {
        text.lines()
            .filter(|line| !line.contains('@'))
            .map(|line| format!("{line}\n"))
            .collect()
    };
    found.compare(
        "zfs-list-Hp-o.all-types.txt",
        &ran,
        all_types.exit,
        &all_types.body,
        &without_snapshots,
    );
    let per_run = without_props(&["creation", "createtxg", "guid", "objsetid"]);
    found
        .check_redacted(&node, &at("zfs-get-Hp-all.dataset.txt"), &per_run)
        .await;
    found
        .check_redacted(&node, &at("zfs-get-Hp-all.volume.txt"), &per_run)
        .await;
    found
        .check(&node, &at("zfs-get-Hp.selected-recursive.txt"))
        .await;

    // `zfs inherit compression quickOS/vm-disks && zfs get ...`.
    let inherit = fixture(&at("zfs-inherit.txt"));
    let (first, second) = inherit.command.split_once(" && ").expect("two commands");
    let ran = node.run(first).await;
    assert_eq!(
        (ran.status, ran.stdout.as_str(), ran.stderr.as_str()),
        (0, "", ""),
        "{first}"
    );
    let ran = node.run(second).await;
    found.compare(
        "zfs-inherit.txt",
        &ran,
        inherit.exit,
        &inherit.body,
        &|text| text.to_owned(),
    );
    found.assert_none();
}

#[tokio::test]
async fn openzfs_2_1_testbed_prints_what_the_captures_show() {
    replay("zfs").await;
}

#[tokio::test]
async fn openzfs_2_3_testbed_prints_what_the_captures_show() {
    replay("zfs-2.3").await;
}
