//! Phoenix's probe script, run for real with `LocalHost` (dash and bash), must print exactly
//! what the emulator answers for a container in the same state.

use phoenix_core::host::Host;
use phoenix_core::sim::{SimFile, SimNode};
use phoenix_core::{Cmd, LocalHost};
use phoenix_lxc::parse::{PROBE_SCRIPT, ProbeRequest, parse_probe_output};
use serde_json::json;

use crate::support::{node_with, ok, run_cmd};

/// `PATH` as `pct exec` passes it on a Proxmox host.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[tokio::test]
async fn the_real_script_and_the_emulator_agree() {
    let host = LocalHost::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir_path = dir.path().to_str().expect("utf-8 temp path").to_owned();
    let file_path = format!("{dir_path}/probe me.txt");
    std::fs::write(&file_path, "probe me\n").expect("write temp file");
    let version = host
        .run(&Cmd::read("dpkg-query", ["-W", "-f=${Version}", "dpkg"]))
        .await
        .expect("dpkg-query runs");
    assert_eq!(
        version.status,
        Some(0),
        "this test needs a Debian host: {version:?}"
    );
    let dpkg_version = version.stdout.trim().to_owned();
    let args = vec![
        "cmd:sh".to_owned(),
        "cmd:cd".to_owned(),
        "cmd:no-such-thing".to_owned(),
        format!("file:{file_path}"),
        format!("file:{dir_path}"),
        "file:/nonexistent".to_owned(),
        "pkg:no-such-pkg".to_owned(),
        "pkg:dpkg".to_owned(),
    ];

    let mut real_outputs = Vec::new();
    for shell in ["sh", "bash"] {
        let mut cmd = Cmd::read(shell, ["-c", PROBE_SCRIPT, "phoenix-probe"]).env("PATH", PATH);
        for arg in &args {
            cmd = cmd.arg(arg.clone());
        }
        let output = host.run(&cmd).await.expect("the probe runs");
        assert_eq!(output.status, Some(0), "{shell}: {output:?}");
        assert_eq!(output.stderr, "", "{shell}");
        real_outputs.push(output.stdout);
    }
    assert_eq!(real_outputs[0], real_outputs[1], "dash and bash agree");
    let real = real_outputs.remove(0);
    let answers = parse_probe_output(&real).expect("the real output parses");
    assert_eq!(
        answers[&ProbeRequest::Command("sh".to_owned())].detail(),
        Some("/usr/bin/sh")
    );
    assert!(answers[&ProbeRequest::File(file_path.clone())].is_yes());
    assert!(!answers[&ProbeRequest::Package("no-such-pkg".to_owned())].is_yes());

    // The same state in a simulated container: sh, dpkg at the host's version, the directory
    // and the file (pushed from the node).
    let node = node_with(json!({"templates": {"probe.tar.zst": {
    "packages": {
        "dash": {"version": "0.5.12-2", "commands": ["sh", "dash"]},
        "dpkg": {"version": dpkg_version, "commands": ["dpkg", "dpkg-query"]},
        "coreutils": {"version": "9.1-1", "commands": ["mkdir", "sha256sum"]}
    }}}}));
    let mut state = node.state();
    state.files.insert(
        "/var/lib/vz/template/cache/probe.tar.zst".to_owned(),
        SimFile::text("(archive)"),
    );
    state
        .files
        .insert("/root/probe-source".to_owned(), SimFile::text("probe me\n"));
    let node = SimNode::from_state(state, phoenix_lxc::sim::emulators()).expect("node");
    ok(
        &node,
        &[
            "pct",
            "create",
            "100",
            "/var/lib/vz/template/cache/probe.tar.zst",
            "--storage",
            "local-zfs",
        ],
    )
    .await;
    ok(&node, &["pct", "start", "100"]).await;
    ok(
        &node,
        &["pct", "exec", "100", "--", "mkdir", "-p", &dir_path],
    )
    .await;
    ok(
        &node,
        &["pct", "push", "100", "/root/probe-source", &file_path],
    )
    .await;
    let mut cmd = Cmd::read(
        "pct",
        [
            "exec",
            "100",
            "--",
            "sh",
            "-c",
            PROBE_SCRIPT,
            "phoenix-probe",
        ],
    );
    for arg in &args {
        cmd = cmd.arg(arg.clone());
    }
    let emulated = run_cmd(&node, cmd).await;
    assert_eq!(emulated.status, 0, "{emulated:?}");
    assert_eq!(emulated.stdout, real);
}
