//! `pvesm`: storage.cfg as `pvesm add` writes it, and `pvesm status` as PVE 9.1 prints it.

use serde_json::json;

use crate::support::{Node, sample};

const CFG: &str = "/etc/pve/storage.cfg";

#[tokio::test]
async fn pvesm_add_writes_storage_cfg_as_pve_does() {
    let node = Node::new(
        json!({}),
        &[(
            CFG,
            "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n",
        )],
    );
    for line in [
        "pvesm add zfspool local-zfs --pool rpool/data --content rootdir,images --sparse 1",
        "pvesm add dir backup -path /mnt/backup --content backup,iso --is_mountpoint 1 --nodes pve --shared 0",
    ] {
        let ran = node.run(line).await;
        assert_eq!(
            (ran.status, ran.stdout.as_str(), ran.stderr.as_str()),
            (0, "", ""),
            "{line}"
        );
    }
    assert_eq!(
        node.file(CFG),
        Some(sample("proxmox/storage.cfg.reconstructed"))
    );
    let ran = node.run("pvesm add dir local --path /srv").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            255,
            "create storage failed: storage ID 'local' already defined\n"
        )
    );
    let ran = node.run("pvesm set local-zfs --content images").await;
    assert_eq!(ran.status, 0);
    assert!(
        node.file(CFG)
            .is_some_and(|cfg| cfg.contains("\tcontent images\n"))
    );
    let ran = node.run("pvesm set nope --content images").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            255,
            "update storage failed: storage 'nope' does not exist\n"
        )
    );
}

#[tokio::test]
async fn pvesm_status_matches_a_pve_9_1_sample() {
    // pvesm-status.kib.2.txt: two zfspool storages on datasets, four dir storages on other
    // filesystems. Byte figures are the KiB figures times 1024, plus a remainder where the
    // sample's total is not used + available in KiB.
    let kib = |n: u64| n * 1024;
    let cfg = "zfspool: clients-backup\n\tpool backup/clients\n\tcontent images,rootdir\n\n\
               zfspool: clients-main\n\tpool main/clients\n\tcontent images,rootdir\n\n\
               dir: iso-store\n\tpath /mnt/iso\n\tcontent iso\n\n\
               dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n\
               dir: t7-backup\n\tpath /mnt/t7\n\tcontent backup\n\n\
               dir: vzdump-backups\n\tpath /mnt/vzdump\n\tcontent backup\n\n";
    let node = Node::new(
        json!({
            "zfs": {
                "pools": {"backup": {}, "main": {}},
                "datasets": {
                    "backup/clients": {"used": kib(1_867_423_240), "available": kib(18_440_696)},
                    "main/clients": {"used": kib(869_575_704) + 600, "available": kib(73_356_302) + 600}
                }
            },
            "pvesm": {"filesystems": {
                "/mnt/iso": {"total": kib(491_135_216), "used": kib(7_370_056), "avail": kib(458_743_396)},
                "/": {"total": kib(40_453_376), "used": kib(14_930_472), "avail": kib(23_435_788)},
                "/mnt/t7": {"total": kib(1_921_725_720), "used": kib(1_921_512_848), "avail": 0},
                "/mnt/vzdump": {"total": kib(789_255_296), "used": kib(770_814_720), "avail": kib(18_440_576)}
            }}
        }),
        &[(CFG, cfg)],
    );
    let ran = node.run("pvesm status").await;
    assert_eq!(ran.status, 0);
    assert_eq!(ran.stdout, sample("proxmox/pvesm-status.kib.2.txt"));
}
