//! The container lifecycle on the simulated node: create, list, config, set, start, snapshot,
//! clone, rollback, resize, destroy, and the config files they leave, in Proxmox's format.

use phoenix_lxc::parse::{parse_grep_confs, parse_listsnapshot, parse_pct_list, parse_pct_status};
use phoenix_pve::parse_conf;
use serde_json::json;

use crate::support::{TEMPLATE, create, file, node, node_with, ok, run, sample};

/// The config `pct create` writes for `support::create`.
const CREATED_951: &str = "arch: amd64
cores: 2
hostname: vllm-embed
memory: 2048
net0: name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:09:51,ip=10.0.0.51/24,type=veth
ostype: ubuntu
rootfs: local-zfs:subvol-951-disk-0,size=8G
swap: 512
unprivileged: 1
";

#[tokio::test]
async fn create_prints_the_task_log_and_writes_the_writer_format() {
    let node = node();
    assert_eq!(
        ok(&node, &["pct", "list"]).await,
        "",
        "no containers: nothing at all"
    );
    let out = create(&node, "951", "vllm-embed").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("extracting archive '{TEMPLATE}'"));
    assert_eq!(lines[1], "Total bytes read: 492830720 (470MiB, 150MiB/s)");
    assert_eq!(lines[2], "Detected container architecture: amd64");
    assert_eq!(
        lines[3],
        "Creating SSH host key 'ssh_host_rsa_key' - this may take some time ..."
    );
    assert!(lines[4].starts_with("done: SHA256:") && lines[4].ends_with(" root@vllm-embed"));
    assert_eq!(lines.len(), 9);
    assert_eq!(file(&node, "/etc/pve/lxc/951.conf"), CREATED_951);
    let list = ok(&node, &["pct", "list"]).await;
    assert_eq!(
        list,
        "VMID       Status     Lock         Name                \n951        stopped                 vllm-embed          \n"
    );
    assert_eq!(parse_pct_list(&list).expect("parses")[0].name, "vllm-embed");
    // `pct config` prints the same keys (and no description).
    assert_eq!(ok(&node, &["pct", "config", "951"]).await, CREATED_951);
}

#[tokio::test]
async fn the_zfs_create_sample_line_by_line() {
    // pct-create.zfs.1.txt: `pct create 150 zfs-dir:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst
    // --storage zfs-main` on an older PVE that still made DSA keys.
    let node = node_with(
        json!({"templates": {"debian-12-standard_12.2-1_amd64.tar.zst": {
        "ostype": "debian", "size": 519987200, "rate": 91,
        "files": {"/etc/ssh/sshd_config": "", "/etc/os-release": "ID=debian\n"},
        "ssh_keys": ["rsa", "dsa", "ecdsa", "ed25519"]}}}),
    );
    let mut state = node.state();
    let storage = state
        .files
        .get_mut("/etc/pve/storage.cfg")
        .expect("storage.cfg");
    storage.content.push_str(
        "\ndir: zfs-dir\n\tpath /zfs/backups\n\tcontent vztmpl,iso\n\nzfspool: zfs-main\n\tpool zfs/main\n\tcontent rootdir,images\n",
    );
    state.files.insert(
        "/zfs/backups/template/cache/debian-12-standard_12.2-1_amd64.tar.zst".to_owned(),
        phoenix_core::sim::SimFile::text("(archive)"),
    );
    let node =
        phoenix_core::sim::SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    let out = ok(
        &node,
        &[
            "pct",
            "create",
            "150",
            "zfs-dir:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst",
            "--storage",
            "zfs-main",
        ],
    )
    .await;
    let real = sample("pct-create.zfs.1.txt");
    let fingerprint_free = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| match line.strip_prefix("done: SHA256:") {
                Some(rest) => format!(
                    "done: SHA256:<{}> {}",
                    rest.len(),
                    rest.split(' ').nth(1).unwrap_or_default()
                ),
                None => line.to_owned(),
            })
            .collect()
    };
    assert_eq!(fingerprint_free(&out), fingerprint_free(&real));
    let conf = file(&node, "/etc/pve/lxc/150.conf");
    assert_eq!(
        conf,
        "arch: amd64\nhostname: CT150\nmemory: 512\nostype: debian\nrootfs: zfs-main:subvol-150-disk-0,size=4G\nswap: 512\nunprivileged: 1\n"
    );
    // pct-list.3.txt shows this container as `CT150`.
    assert!(
        ok(&node, &["pct", "list"])
            .await
            .contains("150        stopped                 CT150")
    );
}

#[tokio::test]
async fn set_is_hot_or_pending_and_start_applies_pending() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(
        &node,
        &[
            "pct",
            "set",
            "951",
            "--memory",
            "4096",
            "--onboot",
            "yes",
            "--startup",
            "order=3,up=30",
        ],
    )
    .await;
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/951.conf")).expect("conf");
    assert_eq!(conf.main.get("memory"), Some("4096"));
    assert_eq!(conf.main.get("onboot"), Some("1"));
    assert_eq!(conf.main.get("startup"), Some("order=3,up=30"));
    assert!(conf.pending.is_none());

    ok(&node, &["pct", "start", "951"]).await;
    assert_eq!(
        ok(&node, &["pct", "status", "951"]).await,
        "status: running\n"
    );
    // A running container takes memory at once; features wait for the next start.
    ok(
        &node,
        &[
            "pct",
            "set",
            "951",
            "--memory",
            "8192",
            "--features",
            "nesting=1,keyctl=1",
        ],
    )
    .await;
    let text = file(&node, "/etc/pve/lxc/951.conf");
    assert!(
        text.ends_with("\n[pve:pending]\nfeatures: nesting=1,keyctl=1\n"),
        "{text}"
    );
    let conf = parse_conf(&text).expect("conf");
    assert_eq!(conf.main.get("memory"), Some("8192"));
    assert!(
        ok(&node, &["pct", "config", "951"])
            .await
            .contains("features: nesting=1,keyctl=1\n")
    );
    assert!(
        !ok(&node, &["pct", "config", "951", "--current"])
            .await
            .contains("features")
    );
    // Setting the same values again changes nothing (and reports no mutation).
    let before = node.state().files;
    ok(&node, &["pct", "set", "951", "--memory", "8192"]).await;
    assert_eq!(node.state().files, before);
    assert!(!node.audit().last().expect("audited").is_mutation());

    ok(&node, &["pct", "stop", "951"]).await;
    ok(&node, &["pct", "start", "951"]).await;
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/951.conf")).expect("conf");
    assert_eq!(conf.main.get("features"), Some("nesting=1,keyctl=1"));
    assert!(conf.pending.is_none());

    // A deleted key, an unknown key to delete (a warning), and the description.
    let ran = run(
        &node,
        &[
            "pct",
            "set",
            "951",
            "--delete",
            "startup,tags",
            "--description",
            "vLLM: embeddings",
        ],
    )
    .await;
    assert_eq!(ran.status, 0);
    assert_eq!(
        ran.stderr,
        "cannot delete 'tags' - not set in current configuration!\n"
    );
    let text = file(&node, "/etc/pve/lxc/951.conf");
    assert!(
        text.starts_with("#vLLM%3A embeddings\narch: amd64\n"),
        "{text}"
    );
    assert!(!text.contains("startup"));
}

#[tokio::test]
async fn mount_points_new_volumes_bind_mounts_and_unused() {
    let node = node();
    create(&node, "952", "qdrant").await;
    ok(
        &node,
        &[
            "pct",
            "set",
            "952",
            "--mp0",
            "local-zfs:16,mp=/qdrant/storage,backup=1",
        ],
    )
    .await;
    ok(
        &node,
        &[
            "pct",
            "set",
            "952",
            "--mp1",
            "/fastData/shared/models,mp=/models,ro=1",
        ],
    )
    .await;
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/952.conf")).expect("conf");
    assert_eq!(
        conf.main.get("mp0"),
        Some("local-zfs:subvol-952-disk-1,mp=/qdrant/storage,backup=1,size=16G")
    );
    assert_eq!(
        conf.main.get("mp1"),
        Some("/fastData/shared/models,mp=/models,ro=1")
    );
    ok(&node, &["pct", "set", "952", "--delete", "mp0"]).await;
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/952.conf")).expect("conf");
    assert_eq!(conf.main.get("mp0"), None);
    assert_eq!(
        conf.main.get("unused0"),
        Some("local-zfs:subvol-952-disk-1")
    );
}

#[tokio::test]
async fn snapshots_are_written_as_proxmox_writes_them() {
    let node = node();
    create(&node, "900", "copy-base").await;
    // Phoenix adds raw lxc lines by editing the main section.
    let mut state = node.state();
    let conf = state.files.get_mut("/etc/pve/lxc/900.conf").expect("conf");
    conf.content.push_str("lxc.apparmor.profile: unconfined\n");
    let node =
        phoenix_core::sim::SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    ok(
        &node,
        &[
            "pct",
            "snapshot",
            "900",
            "final-form",
            "--description",
            "phoenix:digest=abc123",
        ],
    )
    .await;
    let text = file(&node, "/etc/pve/lxc/900.conf");
    let expected_main = CREATED_951
        .replace("hostname: vllm-embed", "hostname: copy-base")
        .replace("951", "900")
        .replace("ostype: ubuntu\n", "ostype: ubuntu\nparent: final-form\n");
    let expected = format!(
        "{expected_main}lxc.apparmor.profile: unconfined\n\n[final-form]\n#phoenix%3Adigest=abc123\n{}lxc.apparmor.profile: unconfined\n",
        CREATED_951
            .replace("hostname: vllm-embed", "hostname: copy-base")
            .replace("951", "900")
            .replace("swap: 512\n", "snaptime: 1767225604\nswap: 512\n")
    );
    assert_eq!(text, expected);
    let conf = parse_conf(&text).expect("conf");
    assert_eq!(
        conf.snapshots["final-form"].description.as_deref(),
        Some("phoenix:digest=abc123\n")
    );
    let tree = ok(&node, &["pct", "listsnapshot", "900"]).await;
    assert_eq!(
        tree,
        format!(
            "`-> {:<27} 2026-01-01 00:00:04     phoenix:digest=abc123\n `-> current{}You are here!\n",
            "final-form",
            " ".repeat(44)
        )
    );
    assert_eq!(parse_listsnapshot(&tree).expect("parses").len(), 2);
    let ran = run(&node, &["pct", "snapshot", "900", "final-form"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "snapshot name 'final-form' already used\n")
    );
    assert_eq!(
        ok(&node, &["pct", "config", "900", "--snapshot", "final-form"]).await,
        "arch: amd64
cores: 2
description: phoenix%3Adigest=abc123%0A
hostname: copy-base
memory: 2048
net0: name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:09:51,ip=10.0.0.51/24,type=veth
ostype: ubuntu
rootfs: local-zfs:subvol-900-disk-0,size=8G
snaptime: 1767225604
swap: 512
unprivileged: 1
lxc.apparmor.profile: unconfined
"
    );
}

#[tokio::test]
async fn bind_mounted_containers_cannot_be_snapshotted_or_cloned() {
    let node = node();
    create(&node, "955", "ollama").await;
    ok(
        &node,
        &[
            "pct",
            "set",
            "955",
            "--mp0",
            "/fastData/shared/models,mp=/models",
        ],
    )
    .await;
    let ran = run(&node, &["pct", "snapshot", "955", "final-form"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "snapshot feature is not available\n")
    );
    let ran = run(&node, &["pct", "clone", "955", "956", "--full"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "unable to clone mountpoint 'mp0' (type bind)\n")
    );
    assert!(!node.state().files.contains_key("/etc/pve/lxc/956.conf"));
}

#[tokio::test]
async fn clone_copies_the_snapshot_state_with_new_macs() {
    let node = node();
    create(&node, "900", "copy-base").await;
    ok(&node, &["pct", "start", "900"]).await;
    ok(
        &node,
        &["pct", "exec", "900", "--", "mkdir", "-p", "/opt/phoenix"],
    )
    .await;
    ok(
        &node,
        &[
            "pct",
            "snapshot",
            "900",
            "final-form",
            "--description",
            "base",
        ],
    )
    .await;
    // A change after the snapshot is not in the clone.
    ok(
        &node,
        &["pct", "exec", "900", "--", "mkdir", "-p", "/opt/later"],
    )
    .await;
    let out = ok(
        &node,
        &[
            "pct",
            "clone",
            "900",
            "951",
            "--snapname",
            "final-form",
            "--hostname",
            "vllm-embed",
            "--storage",
            "fastData",
            "--full",
        ],
    )
    .await;
    assert!(out.starts_with("create full clone of mountpoint rootfs (local-zfs:subvol-900-disk-0)\n\nNumber of files: "), "{out}");
    assert!(out.contains("\nsent ") && out.contains(" bytes/sec\ntotal size is "));
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/951.conf")).expect("conf");
    assert_eq!(conf.main.get("hostname"), Some("vllm-embed"));
    assert_eq!(
        conf.main.get("rootfs"),
        Some("fastData:subvol-951-disk-0,size=8G")
    );
    assert_eq!(conf.main.get("parent"), None);
    assert!(conf.snapshots.is_empty());
    assert_eq!(conf.main.description.as_deref(), Some("base\n"));
    let net = conf.main.get("net0").expect("net0");
    assert!(!net.contains("hwaddr=BC:24:11:00:09:51"), "new MAC: {net}");
    assert!(net.starts_with("name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:"));
    ok(&node, &["pct", "start", "951"]).await;
    assert_eq!(
        run(
            &node,
            &["pct", "exec", "951", "--", "test", "-d", "/opt/phoenix"]
        )
        .await
        .status,
        0
    );
    assert_eq!(
        run(
            &node,
            &["pct", "exec", "951", "--", "test", "-d", "/opt/later"]
        )
        .await
        .status,
        1
    );
    // A running source needs a snapshot for a full clone.
    let ran = run(&node, &["pct", "clone", "900", "952", "--full"]).await;
    assert_eq!(
        ran.stderr,
        "Cannot do full clones on a running container without snapshots\n"
    );
    let ran = run(
        &node,
        &[
            "pct",
            "clone",
            "900",
            "952",
            "--full",
            "0",
            "--storage",
            "fastData",
        ],
    )
    .await;
    assert_eq!(
        ran.stderr,
        "parameter 'storage' not allowed for linked clones\n"
    );
}

#[tokio::test]
async fn rollback_restores_files_and_settings() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(&node, &["pct", "start", "951"]).await;
    ok(&node, &["pct", "snapshot", "951", "first"]).await;
    ok(&node, &["pct", "exec", "951", "--", "mkdir", "/srv/x"]).await;
    ok(&node, &["pct", "set", "951", "--memory", "1024"]).await;
    ok(&node, &["pct", "snapshot", "951", "second"]).await;
    let ran = run(&node, &["pct", "rollback", "951", "first"]).await;
    assert_eq!(
        ran.stderr,
        "can't rollback, 'first' is not most recent snapshot on 'local-zfs:subvol-951-disk-0'\n"
    );
    ok(&node, &["pct", "delsnapshot", "951", "second"]).await;
    ok(&node, &["pct", "rollback", "951", "first", "--start", "1"]).await;
    let conf = parse_conf(&file(&node, "/etc/pve/lxc/951.conf")).expect("conf");
    assert_eq!(conf.main.get("memory"), Some("2048"));
    assert_eq!(conf.main.get("parent"), Some("first"));
    assert_eq!(
        ok(&node, &["pct", "status", "951"]).await,
        "status: running\n"
    );
    assert_eq!(
        run(&node, &["pct", "exec", "951", "--", "test", "-e", "/srv/x"])
            .await
            .status,
        1
    );
    let ran = run(&node, &["pct", "rollback", "951", "second"]).await;
    assert_eq!(ran.stderr, "snapshot 'second' does not exist\n");
}

#[tokio::test]
async fn resize_grows_only() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(&node, &["pct", "resize", "951", "rootfs", "16G"]).await;
    assert!(
        file(&node, "/etc/pve/lxc/951.conf")
            .contains("rootfs: local-zfs:subvol-951-disk-0,size=16G\n")
    );
    ok(&node, &["pct", "resize", "951", "rootfs", "+512M"]).await;
    assert!(file(&node, "/etc/pve/lxc/951.conf").contains("size=16896M\n"));
    let ran = run(&node, &["pct", "resize", "951", "rootfs", "8G"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "unable to shrink disk size\n")
    );
    let ran = run(&node, &["pct", "resize", "951", "rootfs", "16896M"]).await;
    assert_eq!(ran.stderr, "disk is already at specified size\n");
}

#[tokio::test]
async fn status_verbose_has_the_keys_of_the_samples() {
    let node = node();
    create(&node, "117", "nhy").await;
    let stopped =
        parse_pct_status(&ok(&node, &["pct", "status", "117", "--verbose"]).await).expect("ok");
    let sample_stopped = parse_pct_status(&sample("pct-status.verbose.stopped.1.txt")).expect("ok");
    assert_eq!(
        stopped.fields.keys().collect::<Vec<_>>(),
        sample_stopped.fields.keys().collect::<Vec<_>>()
    );
    assert_eq!(stopped.get("maxmem"), Some("2147483648"));
    assert_eq!(stopped.get("maxdisk"), Some("8589934592"));
    ok(&node, &["pct", "start", "117"]).await;
    ok(&node, &["pct", "set", "117", "--tags", "ml;GPU"]).await;
    let running =
        parse_pct_status(&ok(&node, &["pct", "status", "117", "--verbose"]).await).expect("ok");
    let sample_running =
        parse_pct_status(&sample("pct-status.verbose.running.pve9.reconstructed.txt")).expect("ok");
    let mut keys: Vec<&String> = sample_running
        .fields
        .keys()
        .filter(|key| *key != "lock")
        .collect();
    keys.sort();
    assert_eq!(running.fields.keys().collect::<Vec<_>>(), keys);
    assert_eq!(running.get("tags"), Some("gpu;ml"));
}

#[tokio::test]
async fn grep_reads_every_config_in_one_command() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    create(&node, "952", "qdrant").await;
    ok(&node, &["pct", "snapshot", "952", "final-form"]).await;
    let paths = [
        "/etc/pve/lxc/951.conf",
        "/etc/pve/lxc/952.conf",
        "/etc/pve/lxc/953.conf",
    ];
    let mut words = vec!["grep", "-H", "", "--"];
    words.extend(paths);
    let ran = run(&node, &words).await;
    assert_eq!(ran.status, 2);
    assert_eq!(
        ran.stderr,
        "grep: /etc/pve/lxc/953.conf: No such file or directory\n"
    );
    let confs = parse_grep_confs(&ran.stdout, &paths).expect("parses");
    assert_eq!(confs.len(), 2);
    assert_eq!(
        confs[&951],
        parse_conf(&file(&node, paths[0])).expect("conf")
    );
    assert!(confs[&952].snapshots.contains_key("final-form"));
    assert_eq!(
        run(&node, &["grep", "-H", "", "--", paths[0]]).await.status,
        0
    );
}

#[tokio::test]
async fn destroy_removes_the_config_and_volumes_only_when_stopped() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(
        &node,
        &["pct", "set", "951", "--mp0", "local-zfs:4,mp=/data"],
    )
    .await;
    ok(&node, &["pct", "start", "951"]).await;
    let ran = run(&node, &["pct", "destroy", "951"]).await;
    assert_eq!(
        ran.stderr,
        "unable to destroy CT 951 - container is running\n"
    );
    ok(&node, &["pct", "stop", "951"]).await;
    assert_eq!(
        ok(&node, &["pct", "destroy", "951", "--purge"]).await,
        "purging CT 951 from related configurations..\n"
    );
    let state = node.state();
    assert!(!state.files.contains_key("/etc/pve/lxc/951.conf"));
    assert!(
        state
            .tools
            .get("pct")
            .is_none_or(|pct| pct.get("volumes").is_none()),
        "{:?}",
        state.tools.get("pct")
    );
}

#[tokio::test]
async fn the_conf_files_written_round_trip_through_the_parser() {
    // Whatever the emulator writes, the parser reads back and the writer reproduces.
    let node = node();
    create(&node, "951", "vllm-embed").await;
    ok(
        &node,
        &["pct", "set", "951", "--description", "line one\nline: two"],
    )
    .await;
    ok(&node, &["pct", "snapshot", "951", "aa"]).await;
    ok(&node, &["pct", "start", "951"]).await;
    ok(&node, &["pct", "set", "951", "--features", "nesting=1"]).await;
    let text = file(&node, "/etc/pve/lxc/951.conf");
    assert!(text.starts_with("#line one\n#line%3A two\n"), "{text}");
    assert_eq!(
        phoenix_pve::format_conf(&parse_conf(&text).expect("conf")),
        text
    );
}
