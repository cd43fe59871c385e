//! What `SshHost` sends to the remote side: one POSIX shell command string per `Cmd` (every argv
//! element single-quoted), the status trailer that tells the remote command's exit status from
//! ssh's own, and the constant scripts for reading and writing files.
//!
//! Everything here is pure, so it is unit-tested by running the strings through a local `sh -c`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cmd::{Cmd, shell_quote};
use crate::host::{FileData, HostError};

/// Printed on stderr after the remote command, with its exit status; its absence means the
/// command never finished on the remote side (ssh failed, or the connection broke).
const STATUS_MARKER: &str = "phoenix-status:";

/// How long the remote `timeout` waits after its TERM before it sends KILL.
const KILL_AFTER_SECS: u64 = 5;

/// The remote command string and the bytes for ssh's stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Remote {
    pub(super) command: String,
    pub(super) stdin: Option<String>,
}

/// Builds the remote command string for `cmd`.
///
/// Environment values never appear in it (they would show in `ps` and in logs): they travel on
/// stdin ahead of the command's own input, as `export NAME='value'` lines that the remote shell
/// reads byte by byte with `dd` (so the command still gets the rest of stdin) and evaluates.
pub(super) fn remote(cmd: &Cmd) -> Result<Remote, HostError> {
    let mut command = String::new();
    let mut stdin = cmd.stdin_text()?.map(str::to_owned);
    if !cmd.env.is_empty() {
        let mut exports = String::new();
        for (name, value) in &cmd.env {
            if !is_env_name(name) {
                return Err(HostError::Other(format!(
                    "environment variable name {name:?} is not a valid shell name"
                )));
            }
            let _ = writeln!(exports, "export {name}={}", shell_quote(value));
        }
        let _ = write!(
            command,
            "eval \"$(dd bs=1 count={} 2>/dev/null)\"; ",
            exports.len()
        );
        exports.push_str(stdin.as_deref().unwrap_or(""));
        stdin = Some(exports);
    }
    if let Some(limit) = cmd.timeout {
        let _ = write!(
            command,
            "timeout -k {KILL_AFTER_SECS} {:.3} ",
            limit.as_secs_f64()
        );
    }
    command.push_str(&shell_quote(&cmd.program));
    for arg in &cmd.args {
        command.push(' ');
        command.push_str(&shell_quote(arg));
    }
    let _ = write!(command, "; printf '\\n{STATUS_MARKER}%d\\n' \"$?\" >&2");
    Ok(Remote { command, stdin })
}

/// How much longer than the command's own timeout the local ssh may take (connection set-up).
pub(super) fn local_grace(limit: Duration) -> Duration {
    limit + Duration::from_secs(KILL_AFTER_SECS + 20)
}

/// Whether the remote `timeout` killed the command: its status 124, or 137 after KILL.
pub(super) fn timed_out(status: i32) -> bool {
    status == 124 || status == 137
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Splits the status trailer off stderr: the remote command's exit status and its own stderr,
/// or `None` when the trailer is missing.
pub(super) fn split_status(stderr: &str) -> Option<(i32, &str)> {
    let body = stderr.strip_suffix('\n')?;
    let at = body.rfind(&format!("\n{STATUS_MARKER}"))?;
    let status = body[at + 1 + STATUS_MARKER.len()..].parse().ok()?;
    Some((status, &stderr[..at]))
}

/// The exit status of [`READ_SCRIPT`] when the file does not exist.
pub(super) const READ_MISSING: i32 = 3;

/// Reads file `$1`: prints `MODE UID GID USER GROUP` on one line, then the content; exits
/// [`READ_MISSING`] when the path does not exist (or is a dangling symlink), and with `stat`'s or
/// `cat`'s error otherwise.
pub(super) const READ_SCRIPT: &str = r#"export LC_ALL=C
if info=$(stat -L -c '%a %u %g %U %G' -- "$1" 2>&1); then
  printf '%s\n' "$info"
  exec cat -- "$1"
fi
case $info in
  *": No such file or directory") exit 3 ;;
esac
printf '%s\n' "$info" >&2
exit 1"#;

/// Writes stdin to file `$1` atomically: a temporary file in the same directory, mode `$2`, owner
/// `$3` when not empty, then `mv -f` over the target. The temporary file never outlives a failure.
pub(super) const WRITE_SCRIPT: &str = r#"set -eu
dir=$(dirname -- "$1")
tmp="$dir/.$(basename -- "$1").phoenix-$$.tmp"
trap 'rm -f -- "$tmp"' EXIT
umask 077
cat > "$tmp"
chmod "$2" -- "$tmp"
if [ -n "$3" ]; then chown -- "$3" "$tmp"; fi
mv -f -- "$tmp" "$1""#;

/// Parses [`READ_SCRIPT`]'s output.
pub(super) fn parse_read(path: &str, stdout: &str) -> Result<FileData, HostError> {
    let bad = || HostError::Other(format!("unexpected reply reading {path}: {stdout:.80?}"));
    let (header, content) = stdout.split_once('\n').ok_or_else(bad)?;
    let fields: Vec<&str> = header.split(' ').collect();
    let [mode, uid, gid, user, group] = fields.as_slice() else {
        return Err(bad());
    };
    let mode = u32::from_str_radix(mode, 8).map_err(|_| bad())?;
    // stat prints UNKNOWN for an id without a name; LocalHost shows the number then.
    let name = |name: &str, id: &str| {
        if name == "UNKNOWN" {
            id.to_owned()
        } else {
            name.to_owned()
        }
    };
    Ok(FileData::new(
        content,
        mode,
        format!("{}:{}", name(user, uid), name(group, gid)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Host, LocalHost};

    /// Arguments no shell may interpret: spaces, quotes, command substitution, separators,
    /// newlines, globs, a leading dash and an empty one.
    fn hostile() -> Vec<String> {
        [
            "plain",
            "two words",
            "it's",
            "\"double\"",
            "$(touch /tmp/phoenix-pwned)",
            "`id`",
            "a;b && c || d",
            "line1\nline2\n",
            "*",
            "$HOME",
            "-n",
            "",
            "back\\slash",
            "tab\there",
            "ünïcödé",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    /// Runs the remote string through a local `sh -c`, as sshd would through the login shell.
    async fn through_sh(remote: &Remote) -> crate::cmd::Output {
        let mut cmd = Cmd::read("sh", ["-c", remote.command.as_str()]);
        if let Some(stdin) = &remote.stdin {
            cmd = cmd.stdin(stdin.clone());
        }
        LocalHost::new().run(&cmd).await.expect("sh runs")
    }

    #[tokio::test]
    async fn every_argument_arrives_byte_for_byte() {
        let args = hostile();
        let cmd = Cmd::read("printf", ["%s\\0"]).arg("x");
        let cmd = args.iter().fold(cmd, |cmd, arg| cmd.arg(arg.clone()));
        let out = through_sh(&remote(&cmd).expect("builds")).await;
        let (status, stderr) = split_status(&out.stderr).expect("the trailer is there");
        assert_eq!((status, stderr), (0, ""));
        let mut expected = String::from("x\0");
        for arg in &args {
            expected.push_str(arg);
            expected.push('\0');
        }
        assert_eq!(out.stdout, expected);
        assert!(!std::path::Path::new("/tmp/phoenix-pwned").exists());
    }

    #[tokio::test]
    async fn the_remote_status_and_stderr_survive_the_trailer() {
        for (script, status, stderr) in [
            ("exit 0", 0, ""),
            ("echo oops >&2; exit 3", 3, "oops\n"),
            ("printf 'no newline' >&2; exit 255", 255, "no newline"),
        ] {
            let out = through_sh(&remote(&Cmd::read("sh", ["-c", script])).expect("builds")).await;
            assert_eq!(
                split_status(&out.stderr),
                Some((status, stderr)),
                "{script}"
            );
        }
        assert_eq!(
            split_status("ssh: connect to host h port 22: refused\n"),
            None
        );
    }

    #[tokio::test]
    async fn environment_values_travel_on_stdin_not_in_the_command() {
        let cmd = Cmd::read("sh", ["-c", "printf '%s|' \"$TOKEN\" \"$B\"; cat"])
            .env("TOKEN", "s3cr3t 'quoted' $(x)\nline")
            .env("B", "")
            .stdin("the input\n");
        let built = remote(&cmd).expect("builds");
        assert!(!built.command.contains("s3cr3t"), "{}", built.command);
        let out = through_sh(&built).await;
        assert_eq!(out.stdout, "s3cr3t 'quoted' $(x)\nline||the input\n");
        assert_eq!(split_status(&out.stderr), Some((0, "")));
        let bad = Cmd::read("true", Vec::<String>::new()).env("A B", "x");
        let err = remote(&bad).expect_err("a bad name is refused");
        assert!(matches!(err, HostError::Other(_)), "{err:?}");
    }

    #[tokio::test]
    async fn the_remote_timeout_kills_the_command() {
        let cmd = Cmd::read("sleep", ["5"]).timeout(Duration::from_millis(200));
        let out = through_sh(&remote(&cmd).expect("builds")).await;
        let (status, _) = split_status(&out.stderr).expect("the trailer is there");
        assert!(timed_out(status), "status {status}");
    }

    #[tokio::test]
    async fn the_read_script_tells_missing_from_unreadable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f conf");
        std::fs::write(&file, "a\nb").expect("write");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .expect("chmod");
        let path = file.to_str().expect("utf-8");
        let read = |path: &str| Cmd::read("sh", ["-c", READ_SCRIPT, "sh", path]);
        let out = LocalHost::new().run(&read(path)).await.expect("runs");
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let data = parse_read(path, &out.stdout).expect("parses");
        assert_eq!(data.content, "a\nb");
        assert_eq!(data.mode, 0o640);
        let missing = dir.path().join("nope");
        let out = LocalHost::new()
            .run(&read(missing.to_str().expect("utf-8")))
            .await
            .expect("runs");
        assert_eq!(out.status, Some(READ_MISSING));
        let not_dir = file.join("below-a-file");
        let out = LocalHost::new()
            .run(&read(not_dir.to_str().expect("utf-8")))
            .await
            .expect("runs");
        assert_eq!(
            out.status,
            Some(1),
            "a path below a file is an error, not missing"
        );
        assert!(out.stderr.contains("Not a directory"), "{}", out.stderr);
    }

    #[test]
    fn read_replies_parse_with_names_or_numbers() {
        let data = parse_read("/f", "640 0 33 root UNKNOWN\nx\n").expect("parses");
        assert_eq!(
            (data.mode, data.owner.as_str(), data.content.as_str()),
            (0o640, "root:33", "x\n")
        );
        assert!(parse_read("/f", "garbage").is_err());
    }
}
