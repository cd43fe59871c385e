//! `pct` errors and exit codes, byte for byte against the real samples where there is one.

use phoenix_core::sim::{SimFile, SimNode};
use serde_json::json;

use crate::support::{TEMPLATE, create, node, node_with, ok, run, sample};

#[tokio::test]
async fn already_exists_sample() {
    let node = node();
    create(&node, "150", "ct").await;
    let ran = run(
        &node,
        &["pct", "create", "150", TEMPLATE, "--storage", "local-zfs"],
    )
    .await;
    assert_eq!(ran.status, 255);
    assert_eq!(ran.stderr, sample("pct-error.already-exists.1.txt"));
    assert_eq!(ran.stdout, "");
}

#[tokio::test]
async fn config_missing_sample_names_the_node() {
    let mut state = node().state();
    state.files.insert(
        "/etc/hostname".to_owned(),
        SimFile::text("pve1.example.com\n"),
    );
    let node = SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    for words in [
        &["pct", "config", "100"][..],
        &["pct", "start", "100"],
        &["pct", "status", "100"],
        &["pct", "exec", "100", "--", "true"],
    ] {
        let ran = run(&node, words).await;
        assert_eq!(
            (ran.status, ran.stderr.as_str()),
            (255, sample("pct-error.config-missing.1.txt").as_str()),
            "{words:?}"
        );
    }
}

#[tokio::test]
async fn param_verification_sample() {
    // `--storage local` (a dir storage without container content) and no `--rootfs`.
    let node = node();
    let ran = run(
        &node,
        &["pct", "create", "150", TEMPLATE, "--storage", "local"],
    )
    .await;
    assert_eq!(ran.status, 255);
    assert_eq!(ran.stderr, sample("pct-error.param-verification.1.txt"));
    let ran = run(&node, &["pct", "set", "150", "--memory", "lots"]).await;
    assert_eq!(
        ran.stderr,
        "400 Parameter verification failed.\nmemory: type check ('integer') failed - got 'lots'\npct set <vmid> [OPTIONS]\n"
    );
}

#[tokio::test]
async fn lock_timeout_sample() {
    let node =
        node_with(json!({"containers": {"110": {"status": "running", "config_lock_held": true}}}));
    create(&node, "109", "x").await;
    let mut state = node.state();
    state.files.insert(
        "/etc/pve/lxc/110.conf".to_owned(),
        SimFile::text("arch: amd64\nhostname: x\nmemory: 512\nostype: ubuntu\nrootfs: local-zfs:subvol-110-disk-0,size=4G\n"),
    );
    let node = SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    for words in [
        &["pct", "shutdown", "110"][..],
        &["pct", "stop", "110"],
        &["pct", "unlock", "110"],
    ] {
        let ran = run(&node, words).await;
        assert_eq!(
            (ran.status, ran.stderr.as_str()),
            (255, sample("pct-error.lock-timeout.1.txt").as_str()),
            "{words:?}"
        );
    }
}

#[tokio::test]
async fn locks_running_state_and_reserved_names() {
    let node = node();
    create(&node, "951", "vllm-embed").await;
    let ran = run(&node, &["pct", "stop", "951"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "CT 951 not running\n")
    );
    ok(&node, &["pct", "start", "951"]).await;
    let ran = run(&node, &["pct", "start", "951"]).await;
    assert_eq!(ran.stderr, "CT 951 already running\n");
    ok(&node, &["pct", "stop", "951"]).await;
    let ran = run(&node, &["pct", "exec", "951", "--", "true"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (255, "container '951' not running!\n")
    );
    let ran = run(&node, &["pct", "push", "951", "/etc/hostname", "/x"]).await;
    assert_eq!(ran.stderr, "can only push files to a running CT\n");
    let ran = run(&node, &["pct", "snapshot", "951", "current"]).await;
    assert_eq!(
        ran.stderr,
        "unable to use snapshot name 'current' (reserved name)\n"
    );
    let ran = run(&node, &["pct", "snapshot", "951", "1bad"]).await;
    assert_eq!(
        ran.stderr,
        "400 Parameter verification failed.\nsnapname: invalid format - invalid configuration ID '1bad'\npct snapshot <vmid> <snapname> [OPTIONS]\n"
    );
    let ran = run(&node, &["pct", "set", "951", "--unprivileged", "0"]).await;
    assert_eq!(
        ran.stderr,
        "unable to modify read-only option: 'unprivileged'\n"
    );
    let ran = run(&node, &["pct", "set", "951", "--delete", "memory"]).await;
    assert_eq!(ran.stderr, "unable to delete required option 'memory'\n");
    // A lock left in the config refuses changes but not reads.
    let mut state = node.state();
    let conf = state.files.get_mut("/etc/pve/lxc/951.conf").expect("conf");
    conf.content = conf.content.replace("hostname:", "lock: backup\nhostname:");
    let node = SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    let ran = run(&node, &["pct", "start", "951"]).await;
    assert_eq!(ran.stderr, "CT is locked (backup)\n");
    assert!(
        ok(&node, &["pct", "list"])
            .await
            .contains("951        stopped    backup       vllm-embed")
    );
    ok(&node, &["pct", "unlock", "951"]).await;
    ok(&node, &["pct", "start", "951"]).await;
}

#[tokio::test]
async fn failures_change_nothing_and_unknown_forms_are_not_emulated() {
    let node = node();
    let before = node.state();
    let ran = run(
        &node,
        &[
            "pct",
            "create",
            "151",
            "/nowhere/x.tar.zst",
            "--storage",
            "local-zfs",
        ],
    )
    .await;
    assert_eq!(
        ran.stderr,
        "unable to create CT 151 - can't find file '/nowhere/x.tar.zst'\n"
    );
    assert_eq!(node.state().files, before.files);
    assert_eq!(node.state().tools, before.tools);
    let ran = run(&node, &["pct", "migrate", "151", "pve2"]).await;
    assert_eq!(
        (ran.status, ran.stderr.as_str()),
        (2, "phoenix sim: `pct migrate 151 pve2` is not emulated\n")
    );
    let ran = run(
        &node,
        &["pct", "create", "151", TEMPLATE, "--frobnicate", "1"],
    )
    .await;
    assert_eq!(ran.status, 2);
    let ran = run(&node, &["grep", "-r", "x", "/etc"]).await;
    assert_eq!(ran.status, 2);
}
