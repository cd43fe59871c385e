//! Behaviour beyond the captures: state changes, refusals and the disk tools' other cases.

use serde_json::json;

use crate::support::Node;

const DISK: &str = "/dev/disk/by-id/nvme-Example_SSD_S1";

fn node() -> Node {
    Node::new(
        json!({
            "disks": {DISK: {"size": 1_000_204_886_016_u64, "model": "Example SSD", "serial": "S1",
                             "transport": "nvme", "kernel_name": "nvme0n1", "signatures": [],
                             "wear": {"percentage_used": 3, "available_spare": 100, "power_on_hours": 1000}}},
            "smartctl": {"installed": true}
        }),
        &[("/sys/module/zfs/parameters/zfs_arc_max", "0\n")],
    )
}

#[tokio::test]
async fn commands_that_are_not_emulated_say_so() {
    let node = node();
    let ran = node.run("zfs get compression").await;
    assert_eq!(ran.status, 2);
    assert_eq!(
        ran.stderr,
        "phoenix sim: `zfs get compression` is not emulated\n"
    );
    assert_eq!(node.run("zpool destroy tank").await.status, 2);
}

#[tokio::test]
async fn wipefs_of_an_empty_or_missing_disk() {
    let node = node();
    let ran = node.run(&format!("wipefs --no-act --json {DISK}")).await;
    assert_eq!(
        (ran.status, ran.stdout.as_str()),
        (0, "{\n   \"signatures\": [\n   ]\n}\n")
    );
    let ran = node.run(&format!("wipefs --no-act {DISK}")).await;
    assert_eq!((ran.status, ran.stdout.as_str()), (0, ""));
    let ran = node
        .run("wipefs --no-act --json /dev/disk/by-id/nope")
        .await;
    assert_eq!(ran.status, 1);
    assert_eq!(
        ran.stderr,
        "wipefs: error: /dev/disk/by-id/nope: probing initialization failed: No such file or directory\n"
    );
    let ran = node.run("blkid -p /dev/disk/by-id/nope").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            2,
            "blkid: error: /dev/disk/by-id/nope: No such file or directory\n"
        )
    );
}

#[tokio::test]
async fn a_pool_claims_its_disk_and_wipefs_erases_it_once_free() {
    let mut node = node();
    assert_eq!(
        node.run(&format!("zpool create tank {DISK}")).await.status,
        0
    );
    let ran = node.run(&format!("wipefs -a {DISK}")).await;
    assert_eq!(ran.status, 1, "{ran:?}");
    assert!(ran.stderr.ends_with("Device or resource busy\n"), "{ran:?}");
    let lsblk = node
        .run("lsblk -J -b -o NAME,PATH,TYPE,SIZE,FSTYPE,SERIAL,MODEL,TRAN")
        .await;
    insta::assert_snapshot!("lsblk_after_zpool_create", lsblk.stdout);
    // Forget the pool (as after `zpool destroy`), then wipe.
    node.patch("zfs", |zfs| *zfs = json!({}));
    let ran = node.run(&format!("wipefs -a {DISK}")).await;
    assert_eq!(
        ran.stdout,
        format!(
            "{DISK}: 8 bytes were erased at offset 0x00000200 (gpt): 45 46 49 20 50 41 52 54\n\
             {DISK}: 8 bytes were erased at offset 0xe8e0db5e00 (gpt): 45 46 49 20 50 41 52 54\n\
             {DISK}: 2 bytes were erased at offset 0x000001fe (PMBR): 55 aa\n\
             {DISK}: calling ioctl to re-read partition table: Success\n"
        )
    );
    assert_eq!(node.run(&format!("blkid -p {DISK}")).await.status, 2);
    assert_eq!(node.run(&format!("blkid -p {DISK}-part1")).await.status, 2);
    assert_eq!(node.tool("disks")[DISK]["signatures"], json!([]));
}

#[tokio::test]
async fn zpool_create_errors() {
    let node = node();
    let ran = node
        .run("zpool create tank mirror /dev/disk/by-id/nope")
        .await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            1,
            "invalid vdev specification: mirror requires at least 2 devices\n"
        )
    );
    let ran = node.run("zpool create tank /dev/disk/by-id/nope").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (1, "cannot resolve path '/dev/disk/by-id/nope'\n")
    );
    assert_eq!(
        node.run(&format!("zpool create tank {DISK}")).await.status,
        0
    );
    let ran = node
        .run("zpool get -H -p -o name,property,value,source health,ashift tank")
        .await;
    assert_eq!(
        ran.stdout,
        "tank\thealth\tONLINE\t-\ntank\tashift\t0\tdefault\n"
    );
}

#[tokio::test]
async fn zfs_set_inherit_and_defaults_by_version() {
    let node = node();
    assert_eq!(
        node.run(&format!("zpool create -O compression=lz4 tank {DISK}"))
            .await
            .status,
        0
    );
    assert_eq!(node.run("zfs create -p tank/a/b").await.status, 0);
    let get =
        "zfs get -H -p -o name,property,value,source compression,relatime,mountpoint tank/a/b";
    assert_eq!(
        node.run(get).await.stdout,
        "tank/a/b\tcompression\tlz4\tinherited from tank\ntank/a/b\trelatime\ton\tdefault\ntank/a/b\tmountpoint\t/tank/a/b\tdefault\n"
    );
    assert_eq!(node.run("zfs set mountpoint=/srv/a tank/a").await.status, 0);
    assert_eq!(node.run("zfs set xattr=sa tank/a/b").await.status, 0);
    let ran = node
        .run("zfs get -H -p -o value,source mountpoint,xattr tank/a/b")
        .await;
    assert_eq!(ran.stdout, "/srv/a/b\tinherited from tank/a\non\tlocal\n");
    let ran = node.run("zfs inherit compression tank/a/b").await;
    assert_eq!(ran.status, 0);
    let ran = node.run("zfs inherit quota tank/a").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (
            1,
            "'quota' property cannot be inherited\nuse 'zfs set quota=none' to clear\n"
        )
    );
    let ran = node.run("zfs create tank/x/y").await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (1, "cannot create 'tank/x/y': parent does not exist\n")
    );
    let ran = node.run("zfs set recordsize=16M tank/a").await;
    assert_eq!(ran.status, 0, "2.3 allows 16M records");
    let ran = node.run("zfs get -H -p -o value recordsize tank/a").await;
    assert_eq!(ran.stdout, "16777216\n");
}

#[tokio::test]
async fn smartctl_reports_wear_or_is_missing() {
    let mut node = node();
    let ran = node.run(&format!("smartctl -j -a {DISK}")).await;
    assert_eq!(ran.status, 0);
    let wear = phoenix_zfs::parse::parse_smartctl_json(&ran.stdout).expect("smartctl JSON");
    assert_eq!(wear.percentage_used, Some(3));
    assert_eq!(wear.model.as_deref(), Some("Example SSD"));
    node.patch("smartctl", |state| *state = json!({"installed": false}));
    let ran = node.run(&format!("smartctl -j -a {DISK}")).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (127, "bash: line 1: smartctl: command not found\n")
    );
}

#[tokio::test]
async fn tee_sets_the_arc_maximum() {
    let node = node();
    let param = "/sys/module/zfs/parameters/zfs_arc_max";
    let ran = node.run_argv(&["tee", param], Some("1073741824\n")).await;
    assert_eq!((ran.status, ran.stdout.as_str()), (0, "1073741824\n"));
    assert_eq!(node.file(param).as_deref(), Some("1073741824\n"));
}
