//! Phoenix's probe script, run for real with `LocalHost` (dash and bash), must print exactly
//! what the emulator answers for a container in the same state.

use phoenix_core::host::Host;
use phoenix_core::sim::{SimFile, SimNode};
use phoenix_core::{Cmd, LocalHost};
use phoenix_lxc::parse::{
    PROBE_SCRIPT, ProbeRequest, parse_probe_all_output, parse_probe_output, probe_all_argv,
};
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

    // The one host command that probes every running container answers the same for 100, and
    // for 101 (which does not run) prints lxc-attach's refusal in its own block.
    let mut stdin: String = args.iter().map(|arg| format!("100 {arg}\n")).collect();
    stdin.push_str("101 cmd:sh\n");
    let all = run_cmd(&node, probe_all_cmd(2, stdin)).await;
    assert_eq!(all.status, 0, "{all:?}");
    let blocks = parse_probe_all_output(&all.stdout).expect("the emulated output parses");
    assert_eq!(blocks[&100].stdout, real);
    assert_eq!(blocks[&100].status, Some(0));
    assert_eq!(blocks[&101].status, Some(1));
    assert!(
        blocks[&101].stderr.contains("Failed to get init pid"),
        "{:?}",
        blocks[&101]
    );
}

/// The host command `phoenix_lxc::parse::probe_all_argv` with `stdin`.
fn probe_all_cmd(n_containers: usize, stdin: String) -> Cmd {
    let argv = probe_all_argv(n_containers);
    Cmd::read(&argv[0], argv[1..].iter().cloned()).stdin(stdin)
}

/// A stand-in for `lxc-attach -n ID -- CMD...` on a machine without LXC: container 1 runs the
/// probe right here, 2 hangs, 3 has stopped (LXC 5's message), 4 is hostile: it prints fake
/// frame markers, bytes that are not UTF-8 and a flood of output.
const FAKE_LXC_ATTACH: &str = r#"#!/bin/sh
id=$2
shift 3
case $id in
1) exec "$@" ;;
2) exec sleep 60 ;;
3) echo "lxc-attach: 3: ../src/lxc/attach.c: get_attach_context: 406 Connection refused - Failed to get init pid" >&2; exit 1 ;;
4) printf 'phoenix-probe 1 0\n 41\nphoenix-probe-end\n\377\n'; yes phoenix-probe-end | head -c 3000000; exit 0 ;;
esac
exit 9
"#;

/// Installs [`FAKE_LXC_ATTACH`] as `lxc-attach` in `dir/bin`; the `PATH` that finds it first.
async fn with_fake_lxc_attach(host: &LocalHost, dir: &std::path::Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let attach = bin.join("lxc-attach");
    std::fs::write(&attach, FAKE_LXC_ATTACH).expect("write the stand-in");
    let chmod = Cmd::read("chmod", ["755", attach.to_str().expect("utf-8 path")]);
    assert_eq!(host.run(&chmod).await.expect("chmod runs").status, Some(0));
    format!("{}:{PATH}", bin.to_str().expect("utf-8 path"))
}

/// Issue 10: the real host script, under dash and bash, frames each container's probe in its
/// own block: a hang is cut by the per-container limit, a stopped container and a hostile one
/// are reported on their own, and the others read as usual.
#[tokio::test]
async fn issue_10_the_real_host_script_reports_each_container_on_its_own() {
    let host = LocalHost::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = with_fake_lxc_attach(&host, dir.path()).await;
    let mut stdin = String::new();
    for id in 1..=4 {
        stdin.push_str(&format!("{id} cmd:sh\n{id} file:/nonexistent dir/x y\n"));
    }
    for shell in ["sh", "bash"] {
        let mut argv = probe_all_argv(4);
        argv[4] = shell.to_owned();
        // One second per container, so the hung one is cut quickly.
        argv[8] = "1".to_owned();
        let cmd = Cmd::read(&argv[0], argv[1..].iter().cloned())
            .stdin(stdin.clone())
            .env("PATH", path.clone());
        let output = host.run(&cmd).await.expect("the host script runs");
        assert_eq!(output.status, Some(0), "{shell}: {output:?}");
        let blocks = parse_probe_all_output(&output.stdout).expect("the framing holds");
        assert_eq!(blocks.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(
            blocks[&1].stdout, "cmd:sh yes /usr/bin/sh\nfile:/nonexistent dir/x y no\n",
            "{shell}"
        );
        let answers = parse_probe_output(&blocks[&1].stdout).expect("answers parse");
        assert!(answers[&ProbeRequest::Command("sh".to_owned())].is_yes());
        assert!(blocks[&2].timed_out(), "{shell}: {:?}", blocks[&2]);
        assert_eq!(blocks[&3].status, Some(1), "{shell}");
        assert!(blocks[&3].stderr.contains("Failed to get init pid"));
        assert_eq!(blocks[&4].status, Some(0), "{shell}");
        // Cut at 1 MiB; its one byte that is not UTF-8 reads as U+FFFD (3 bytes).
        assert_eq!(blocks[&4].stdout.len(), 1_048_576 + 2, "{shell}");
        assert!(blocks[&4].stdout.contains('\u{fffd}'));
        assert!(blocks[&4].stdout.starts_with("phoenix-probe 1 0\n 41\n"));
        assert!(parse_probe_output(&blocks[&4].stdout).is_err());
        // The temporary directory is gone.
        assert!(
            !output.stderr.contains("phoenix-probe"),
            "{shell}: {output:?}"
        );
    }
}

/// Issue 10: core's scope probe rides the same real host script through `PctExec::batch`: the
/// guests' blocks read back as what the script prints when run directly, queries included, and
/// a stopped container is reported on its own.
#[tokio::test]
async fn issue_10_the_real_host_script_carries_the_scope_probe_of_every_container() {
    use phoenix_core::GuestTransport as _;
    use phoenix_core::probe::{PROBE_NAME, PROBE_SCRIPT as SCOPE_PROBE, parse_probe, probe_args};

    let host = LocalHost::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = with_fake_lxc_attach(&host, dir.path()).await;
    let file = dir.path().join("a file");
    std::fs::write(&file, "x\n@path y\n").expect("write");

    let scope = phoenix_core::Scope::node();
    scope.observe(|inventory| {
        inventory.packages.insert("dpkg".to_owned());
        inventory
            .paths
            .insert(file.to_str().expect("utf-8").to_owned());
        inventory
            .query("echo", ["printf", r"one\ntwo"])
            .expect("valid");
    });
    let args = probe_args(&scope.inventory());
    let direct = {
        let mut cmd = Cmd::read("sh", ["-c", SCOPE_PROBE, PROBE_NAME]).env("PATH", PATH);
        for arg in &args {
            cmd = cmd.arg(arg.clone());
        }
        host.run(&cmd).await.expect("runs").stdout
    };
    let transport = phoenix_lxc::PctExec;
    let cmd = transport
        .batch(
            SCOPE_PROBE,
            PROBE_NAME,
            &[("1".to_owned(), args.clone()), ("3".to_owned(), args)],
        )
        .expect("pct exec batches")
        .env("PATH", path);
    let output = host.run(&cmd).await.expect("the host script runs");
    assert_eq!(output.status, Some(0), "{output:?}");
    let blocks = transport.split_batch(&output).expect("the framing holds");
    let one = blocks["1"].as_deref().expect("container 1 ran");
    assert_eq!(one, direct);
    let facts = parse_probe(one).expect("parses");
    assert!(facts.packages["dpkg"].is_installed());
    assert_eq!(
        facts.paths[file.to_str().expect("utf-8")]
            .content
            .as_deref(),
        Some("x\n@path y\n")
    );
    assert_eq!(facts.queries["echo"].output, "one\ntwo");
    assert_eq!(
        blocks["3"].as_ref().expect_err("container 3 does not run"),
        "container 3 is not running (lxc-attach: Failed to get init pid)"
    );
}
