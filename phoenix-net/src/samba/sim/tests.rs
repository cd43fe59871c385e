//! The emulators against the real tools' output: each case puts the input the real tool read at
//! the path it read it from, runs the command of the capture's first line, and compares
//! standard error then standard output (the capture's `2>&1` order) and the exit status.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use phoenix_core::sim::{SimFile, SimNode, SimState, read_fixture};
use phoenix_core::{Cmd, Host};
use serde_json::json;

use super::SambaEmulator;

fn fixture(name: &str) -> PathBuf {
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/samba/fixtures")
        .join(name);
    if own.exists() {
        own
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/host")
            .join(name)
    }
}

/// The capture's command line, exit status and output.
fn capture(name: &str) -> (String, i32, String) {
    let text = std::fs::read_to_string(fixture(name)).expect("the sample");
    let (command, rest) = text.split_once('\n').expect("a header");
    let (exit, _) = rest.split_once('\n').expect("an exit line");
    let status = exit
        .trim_start_matches("# exit=")
        .parse()
        .expect("a status");
    let output = read_fixture(&fixture(name)).expect("the sample");
    (command.trim_start_matches("$ ").to_owned(), status, output)
}

fn node(files: &[(&str, &str)], samba: serde_json::Value, smbd_active: bool) -> SimNode {
    let mut state = SimState::new();
    for (path, content) in files {
        state.files.insert(
            (*path).to_owned(),
            SimFile::new(*content, 0o644, "root:root"),
        );
    }
    state.tools.insert("samba".into(), samba);
    state.tools.insert(
        "systemd".into(),
        json!({"units": {"smbd.service": {"unit_file_state": "enabled", "active": smbd_active}}}),
    );
    SimNode::from_state(state, vec![Arc::new(SambaEmulator)]).expect("a node")
}

/// Runs `command` (`[printf '...' |] program args`) on `node` and renders it as the capture does.
async fn run(node: &SimNode, command: &str) -> (i32, String) {
    let (stdin, command) = match command.split_once(" | ") {
        Some((printf, rest)) => {
            let quoted = printf.trim_start_matches("printf '").trim_end_matches('\'');
            (Some(quoted.replace("\\n", "\n")), rest)
        }
        None => (None, command),
    };
    let argv = shell_words(command);
    let mut cmd = Cmd::read(&argv[0], argv[1..].iter().cloned());
    if argv[0] == "smbpasswd" || argv[0] == "smbcontrol" {
        cmd = Cmd::write(&argv[0], argv[1..].iter().cloned());
    }
    if let Some(stdin) = stdin {
        cmd = cmd.stdin(stdin);
    }
    let output = node.run(&cmd).await.expect("the command runs");
    // The capture script prints `$(cmd 2>&1)` with one newline: trailing ones become one.
    let printed = format!("{}{}", output.stderr, output.stdout);
    (
        output.status.unwrap_or(-1),
        format!("{}\n", printed.trim_end_matches('\n')),
    )
}

/// Splits a capture's command line on blanks (the captures quote nothing else).
fn shell_words(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_owned).collect()
}

/// The input files the captures read, from `capture-testbed.sh` and the local captures.
const SHARE: &str = "[shared-prod-data]\n\tpath = /quickOS/shared-prod-data\n\tbrowseable = yes\n\twritable = yes\n\tvalid users = heads\n";

#[tokio::test]
async fn issue_9_testparm_prints_what_the_real_one_printed() {
    let debian = read_fixture(&fixture("smb.conf.debian-12")).expect("smb.conf");
    let files = [
        ("/etc/samba/smb.conf", debian.as_str()),
        ("/tmp/bad-smb.conf", "[broken\n path = /x\n"),
        (
            "/tmp/smb2.conf",
            "[shared-prod-data]\n path = /quickOS/shared-prod-data\n browseable = yes\n writable = yes\n valid users = heads\n bogus option = 1\n",
        ),
        ("/tmp/sp/a.conf", SHARE),
        ("/tmp/sp/b.conf", "[s]\n\tpath = /x\n\tbrowseable = maybe\n"),
        ("/tmp/sp/c.conf", "[s]\n\tpath = /x\n\tworkgroup = FOO\n"),
        ("/tmp/sp/d.conf", "[s]\n\tpath = /x\n\tcreate mask = 99z\n"),
    ];
    let node = node(&files, json!({}), true);
    for name in [
        "testparm-s.txt",
        "testparm-s.bad.txt",
        "testparm-s.unknown-option.txt",
        "testparm-s.share.txt",
        "testparm-s.bad-bool.txt",
        "testparm-s.global-in-share.txt",
        "testparm-s.bad-octal.txt",
    ] {
        let (command, status, output) = capture(name);
        assert_eq!(
            run(&node, &command).await,
            (status, output),
            "{name}: {command}"
        );
    }
}

#[tokio::test]
async fn issue_9_the_passdb_tools_print_what_the_real_ones_printed() {
    let passwd = "root:x:0:0:root:/root:/bin/bash\nheads:x:4244:4244::/home/heads:/bin/sh\n";
    let node = node(&[("/etc/passwd", passwd)], json!({}), false);
    for name in [
        "pdbedit-L.empty.txt",
        "smbpasswd-s-a.txt",
        "pdbedit-L.txt",
        "smbpasswd-s-a.mismatch.txt",
        "smbpasswd-s-a.no-unix-user.txt",
        "smbpasswd-s-a.existing.txt",
        "smbcontrol-reload-config.not-running.txt",
    ] {
        let (command, status, output) = capture(name);
        assert_eq!(
            run(&node, &command).await,
            (status, output),
            "{name}: {command}"
        );
    }
    let state: super::SambaState =
        serde_json::from_value(node.state().tools["samba"].clone()).expect("the namespace");
    assert_eq!(state.users["heads"].password_sets, 2);
    assert!(
        !serde_json::to_string(&node.state().tools)
            .expect("json")
            .contains("pw1"),
        "no password is kept"
    );
}

#[tokio::test]
async fn issue_9_smbcontrol_reloads_a_running_smbd_and_counts_it() {
    let node = node(&[], json!({}), true);
    assert_eq!(
        run(&node, "smbcontrol smbd reload-config").await,
        (0, "\n".to_owned())
    );
    assert_eq!(node.state().tools["samba"]["reloads"], 1);
}

#[tokio::test]
async fn issue_9_testparm_follows_the_include_line_in_place() {
    let files = [
        (
            "/etc/samba/smb.conf",
            "[global]\n\tworkgroup = LAB\ninclude = /etc/samba/phoenix-shares.conf\n",
        ),
        ("/etc/samba/phoenix-shares.conf", SHARE),
    ];
    let node = node(&files, json!({}), true);
    let (status, output) = run(&node, "testparm -s").await;
    assert_eq!(status, 0);
    insta::assert_snapshot!(output, @r"
    Load smb config files from /etc/samba/smb.conf
    Loaded services file OK.
    Weak crypto is allowed by GnuTLS (e.g. NTLM as a compatibility fallback)

    Server role: ROLE_STANDALONE

    # Global parameters
    [global]
    	workgroup = LAB
    	idmap config * : backend = tdb
    	include = /etc/samba/phoenix-shares.conf


    [shared-prod-data]
    	path = /quickOS/shared-prod-data
    	read only = No
    	valid users = heads
    ");
}
