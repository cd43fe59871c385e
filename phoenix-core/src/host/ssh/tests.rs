//! `SshHost` against stand-ins for the ssh client: one that runs the remote command with a local
//! `sh -c` (as sshd runs it with the login shell), and one that fails as ssh does (exit 255).
//! The live tests run the same checks against the real testbed VM.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// Writes an executable script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write the stand-in");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod the stand-in");
    path
}

/// A stand-in for ssh: skips the options and the destination, logs its argv, then runs the
/// remote command string with `sh -c`.
const LOOPBACK_SSH: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$(dirname "$0")/argv.log"
while [ $# -gt 0 ]; do
  case $1 in
    -O) exit 0 ;;
    -o|-p|-l|-i) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift
exec sh -c "$1"
"#;

/// A stand-in for ssh that cannot connect.
const REFUSED_SSH: &str = r#"#!/bin/sh
echo "ssh: connect to host example port 22: Connection refused" >&2
exit 255
"#;

struct Loopback {
    dir: tempfile::TempDir,
    host: SshHost,
}

async fn loopback() -> Loopback {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = script(dir.path(), "ssh", LOOPBACK_SSH);
    let target = SshTarget::parse("ssh://root@example:2222").expect("parses");
    let options = SshOptions::default()
        .identity("/keys/id_ed25519")
        .program(program.display().to_string());
    let host = SshHost::connect(target, options).await.expect("connects");
    Loopback { dir, host }
}

#[tokio::test]
async fn commands_run_with_their_status_stdout_stderr_and_stdin() {
    let lo = loopback().await;
    let out = lo
        .host
        .run(&Cmd::read("sh", ["-c", "cat; echo err >&2; exit 7"]).stdin("in put"))
        .await
        .expect("runs");
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(7), "in put", "err\n")
    );
    let out = lo
        .host
        .run(&Cmd::read("sh", ["-c", "exit 255"]))
        .await
        .expect("the remote command's own 255 is its status, not an ssh failure");
    assert_eq!(out.status, Some(255));
    let out = lo
        .host
        .run(&Cmd::read("phoenix-no-such-program", ["x"]))
        .await
        .expect("runs");
    assert_eq!(out.status, Some(127));
}

#[tokio::test]
async fn one_master_connection_is_opened_and_every_command_uses_it() {
    let lo = loopback().await;
    lo.host
        .run(&Cmd::read("true", Vec::<String>::new()))
        .await
        .expect("runs");
    lo.host.close().await.expect("closes");
    let log = std::fs::read_to_string(lo.dir.path().join("argv.log")).expect("argv log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for needle in [
        "ControlMaster=yes",
        "ControlPersist=60",
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        "-i /keys/id_ed25519",
        "-p 2222 -l root",
    ] {
        assert!(
            lines[0].contains(needle),
            "master lacks {needle}: {}",
            lines[0]
        );
    }
    assert!(lines[1].contains("ControlMaster=no"), "{}", lines[1]);
    assert!(lines[1].contains("-- example true;"), "{}", lines[1]);
}

#[tokio::test]
async fn files_are_read_written_atomically_and_removed() {
    let lo = loopback().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a file's name");
    assert_eq!(lo.host.read_file(&path).await.expect("reads"), None);
    let content = "line 1\n$(not run) 'quoted'\n";
    lo.host
        .write_file(&path, &FileWrite::new(content, 0o640))
        .await
        .expect("writes");
    let data = lo
        .host
        .read_file(&path)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!((data.content.as_str(), data.mode), (content, 0o640));
    let local = LocalHost::new()
        .read_file(&path)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(
        data.owner, local.owner,
        "owner names as LocalHost shows them"
    );
    let entries = std::fs::read_dir(dir.path()).expect("ls").count();
    assert_eq!(entries, 1, "no temporary file is left behind");
    lo.host.remove_file(&path).await.expect("removes");
    lo.host
        .remove_file(&path)
        .await
        .expect("removing a missing file is fine");
    assert_eq!(lo.host.read_file(&path).await.expect("reads"), None);
}

#[tokio::test]
async fn file_errors_carry_the_remote_stderr() {
    let lo = loopback().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let below_a_file = dir.path().join("missing-dir").join("f");
    let err = lo
        .host
        .write_file(&below_a_file, &FileWrite::new("x", 0o644))
        .await
        .expect_err("the directory does not exist");
    assert!(
        matches!(&err, HostError::RemoteFile { op: "write", stderr, argv, .. }
            if stderr.contains("missing-dir") && argv.starts_with("sh -c <phoenix write script> ")),
        "{err:?}"
    );
    let leftovers = std::fs::read_dir(dir.path()).expect("ls").count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn ssh_failures_are_errors_distinct_from_the_remote_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = script(dir.path(), "ssh", REFUSED_SSH);
    let target = SshTarget::parse("ssh://example").expect("parses");
    let err = SshHost::connect(
        target,
        SshOptions::default().program(program.display().to_string()),
    )
    .await
    .expect_err("cannot connect");
    match err {
        HostError::Ssh { status, stderr, .. } => {
            assert_eq!(status, Some(255));
            assert!(stderr.contains("Connection refused"), "{stderr}");
        }
        other => panic!("expected HostError::Ssh, got {other:?}"),
    }
}

#[tokio::test]
async fn timeouts_stop_the_remote_command() {
    let lo = loopback().await;
    let err = lo
        .host
        .run(&Cmd::read("sleep", ["10"]).timeout(Duration::from_millis(300)))
        .await
        .expect_err("times out");
    assert!(matches!(err, HostError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn accept_new_uses_a_throwaway_known_hosts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = script(dir.path(), "ssh", LOOPBACK_SSH);
    let host = SshHost::connect(
        SshTarget::parse("ssh://h").expect("parses"),
        SshOptions::default()
            .host_keys(HostKeys::AcceptAnyForThisRun)
            .program(program.display().to_string()),
    )
    .await
    .expect("connects");
    let log = std::fs::read_to_string(dir.path().join("argv.log")).expect("argv log");
    assert!(log.contains("StrictHostKeyChecking=accept-new"), "{log}");
    assert!(log.contains("GlobalKnownHostsFile=/dev/null"), "{log}");
    assert!(!log.contains(".ssh/known_hosts"), "{log}");
    host.close().await.expect("closes");
}

#[test]
fn targets_parse_and_print_back() {
    for (text, user, host, port) in [
        (
            "ssh://root@127.0.0.1:2222",
            Some("root"),
            "127.0.0.1",
            Some(2222),
        ),
        ("ssh://pve.lab", None, "pve.lab", None),
        ("ssh://admin@[::1]:22", Some("admin"), "::1", Some(22)),
    ] {
        let target = SshTarget::parse(text).expect(text);
        assert_eq!(
            (target.user.as_deref(), target.host.as_str(), target.port),
            (user, host, port)
        );
        assert_eq!(target.to_string(), text);
    }
    for bad in [
        "root@host",
        "ssh://",
        "ssh://root@host:99999",
        "ssh://root@host:0",
        "ssh://-oProxyCommand=x",
        "ssh://a b@host",
        "ssh://root@[::1",
    ] {
        assert!(
            matches!(SshTarget::parse(bad), Err(HostError::BadTarget { .. })),
            "{bad} should not parse"
        );
    }
}
