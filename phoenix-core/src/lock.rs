//! `RunLock`: one Phoenix run per target at a time.
//!
//! A run (`plan`, `apply`, `status`, `reconfigure`) holds the lock of its target from before it
//! reads the host until it has finished writing: an advisory `flock` on a lock file. On this
//! machine that file is [`LOCK_FILE`], for an SSH target the same path on the remote host (held by
//! a remote `flock` that lives as long as the run's ssh session keeps its standard input open),
//! and for a simulated node a lock file beside its state file ([`RunLock::beside`]).
//!
//! The holder writes who it is ([`Holder`]: pid, host, start time, command) into the lock file,
//! so that a refused run can name it. `flock` locks die with their process, so the lock of a run
//! that was killed (even with `kill -9`) is free at once and the next run takes it over; the file
//! itself stays, and its stale holder line is simply overwritten.

use std::fmt;
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::cmd::Cmd;
use crate::host::{HostError, Running, SshHost};

/// The lock file of a real host (this machine or an SSH target).
pub const LOCK_FILE: &str = "/run/phoenix/run.lock";

/// Who holds a run lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Holder {
    /// The process id of the Phoenix run.
    pub pid: u32,
    /// The machine it runs on.
    pub host: String,
    /// When it took the lock, in seconds since the Unix epoch.
    pub started: u64,
    /// What it runs, such as `phoenix apply --config lab --target sim:state.json`.
    pub command: String,
}

impl Holder {
    /// This process, now, running `command`.
    pub fn this_process(command: impl Into<String>) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
            command: command.into(),
        }
    }

    /// The one line written into the lock file.
    fn to_line(&self) -> String {
        serde_json::to_string(self).expect("invariant: a Holder serialises to JSON")
    }

    /// Reads the holder line of a lock file; `None` when it is empty or garbled (a holder that is
    /// just writing it, or a file from another program).
    fn parse(text: &str) -> Option<Holder> {
        serde_json::from_str(text.lines().next()?).ok()
    }
}

impl fmt::Display for Holder {
    /// `pid 4242 on pve, started 2026-12-05 15:20:11 UTC: phoenix apply ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {}, started {}: {}",
            self.pid,
            self.host,
            utc(self.started),
            self.command
        )
    }
}

/// Why the run lock could not be taken or released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunLockError {
    /// Another run holds the lock.
    #[error(
        "another phoenix run holds the run lock {lock} ({}); nothing was done: try again when it has finished",
        holder.as_ref().map_or_else(|| "holder unknown".to_owned(), ToString::to_string)
    )]
    Held {
        /// The lock file.
        lock: String,
        /// Who holds it, when the lock file says so.
        holder: Option<Holder>,
    },
    /// The lock file could not be created, opened or locked.
    #[error("take the run lock {}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The remote lock command could not run or did not answer as expected.
    #[error("take the run lock {lock} on {target}: {reason}")]
    Remote {
        /// The SSH target.
        target: String,
        /// The remote lock file.
        lock: String,
        /// What went wrong: the remote command's error output, or what it printed instead.
        reason: String,
    },
    /// The connection to the remote lock command failed.
    #[error("take the run lock on {target}")]
    Host {
        /// The SSH target.
        target: String,
        /// The transport's reason.
        #[source]
        source: HostError,
    },
}

/// A held run lock; released by [`RunLock::release`], or when dropped (or when the process
/// dies).
#[derive(Debug)]
pub struct RunLock {
    held: Held,
}

#[derive(Debug)]
enum Held {
    File(std::fs::File),
    Remote {
        running: Box<Running>,
        target: String,
    },
}

impl RunLock {
    /// Takes the lock on `path` (creating the file, mode 0600, and its directory, mode 0700, when
    /// missing) or fails with [`RunLockError::Held`] naming the holder. Never waits.
    pub fn file(path: &Path, holder: &Holder) -> Result<RunLock, RunLockError> {
        let io = |source| RunLockError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RunLockError::Held {
                    lock: path.display().to_string(),
                    holder: read_holder(&mut file),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        // The lock is ours: replace whatever holder line a dead run left behind. Written before
        // the file is cut to its length, so a reader never finds it empty once it has a line.
        let line = format!("{}\n", holder.to_line());
        file.rewind().map_err(io)?;
        file.write_all(line.as_bytes()).map_err(io)?;
        file.set_len(line.len() as u64).map_err(io)?;
        tracing::debug!(lock = %path.display(), "run lock taken");
        Ok(RunLock {
            held: Held::File(file),
        })
    }

    /// Takes the lock of this machine: [`LOCK_FILE`]. A user who may not create `/run/phoenix`
    /// (not root: such a run cannot change the host anyway) takes
    /// `$XDG_RUNTIME_DIR/phoenix/run.lock` instead, when that is set.
    pub fn local(holder: &Holder) -> Result<RunLock, RunLockError> {
        match RunLock::file(Path::new(LOCK_FILE), holder) {
            Err(RunLockError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied
                    && std::env::var_os("XDG_RUNTIME_DIR").is_some() =>
            {
                let dir = PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR").unwrap_or_default());
                RunLock::file(&dir.join("phoenix/run.lock"), holder)
            }
            other => other,
        }
    }

    /// Takes the lock of a simulated node whose state is in `state_file`: the file
    /// `.NAME.lock` beside it.
    pub fn beside(state_file: &Path, holder: &Holder) -> Result<RunLock, RunLockError> {
        RunLock::file(&lock_beside(state_file), holder)
    }

    /// Takes the lock [`LOCK_FILE`] on the remote host, held by a remote `flock` for as long as
    /// this lock lives; fails with [`RunLockError::Held`] naming the holder. Needs `flock`
    /// (util-linux) on the remote host.
    pub async fn remote(host: &SshHost, holder: &Holder) -> Result<RunLock, RunLockError> {
        let target = host.target().to_string();
        let cmd = lock_cmd(LOCK_FILE, holder);
        let running = host
            .start(&cmd)
            .await
            .map_err(|source| RunLockError::Host {
                target: target.clone(),
                source,
            })?;
        hold(running, &target, LOCK_FILE).await
    }

    /// Releases the lock: unlocks the file, or ends the remote `flock`.
    pub async fn release(self) -> Result<(), RunLockError> {
        match self.held {
            Held::File(file) => {
                drop(file);
                Ok(())
            }
            Held::Remote { running, target } => {
                running
                    .finish()
                    .await
                    .map_err(|source| RunLockError::Host { target, source })?;
                Ok(())
            }
        }
    }
}

/// How long a refused run waits for a holder that has just taken the lock to write its line.
const HOLDER_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Reads the holder line of a lock file held by another run. A run that has just taken the lock
/// writes its line right after, so an empty or partial line is read again for up to
/// [`HOLDER_WAIT`] before the holder is called unknown.
fn read_holder(file: &mut std::fs::File) -> Option<Holder> {
    let deadline = std::time::Instant::now() + HOLDER_WAIT;
    loop {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if let Some(holder) = read.ok().and_then(|_| Holder::parse(&text)) {
            return Some(holder);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The lock file of a simulated node whose state is in `state_file`: `.NAME.lock` beside it.
pub fn lock_beside(state_file: &Path) -> PathBuf {
    let name = state_file
        .file_name()
        .map_or_else(|| "sim-state".into(), |name| name.to_string_lossy());
    state_file.with_file_name(format!(".{name}.lock"))
}

/// Takes an exclusive `flock` on file `$1` (creating it and its directory), writes holder line
/// `$2` into it and prints `locked`, then holds the lock until standard input closes. When the
/// lock is taken, prints `busy` and the holder line instead, and exits.
const LOCK_SCRIPT: &str = r#"umask 077
mkdir -p -- "$(dirname -- "$1")" || exit 1
exec 9>>"$1" || exit 1
if ! flock -n 9; then
  printf 'busy\n'
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$1" ] && break; sleep 0.05; done
  cat -- "$1"
  exit 0
fi
printf '%s\n' "$2" > "$1"
printf 'locked\n'
cat > /dev/null"#;

/// The command that runs [`LOCK_SCRIPT`] on `lock`.
fn lock_cmd(lock: &str, holder: &Holder) -> Cmd {
    Cmd::write("sh", ["-c", LOCK_SCRIPT, "sh", lock, &holder.to_line()])
}

/// Reads the lock script's answer: keeps it running when it holds the lock.
async fn hold(mut running: Running, target: &str, lock: &str) -> Result<RunLock, RunLockError> {
    let host_error = |source| RunLockError::Host {
        target: target.to_owned(),
        source,
    };
    match running.read_line().await.map_err(host_error)?.as_deref() {
        Some("locked") => {
            tracing::debug!(target, lock, "remote run lock taken");
            Ok(RunLock {
                held: Held::Remote {
                    running: Box::new(running),
                    target: target.to_owned(),
                },
            })
        }
        Some("busy") => {
            let output = running.finish().await.map_err(host_error)?;
            Err(RunLockError::Held {
                lock: format!("{target}:{lock}"),
                holder: Holder::parse(&output.stdout),
            })
        }
        other => {
            let output = running.finish().await.map_err(host_error)?;
            let stderr = crate::host::remote_stderr(&output.stderr);
            Err(RunLockError::Remote {
                target: target.to_owned(),
                lock: lock.to_owned(),
                reason: if stderr.is_empty() {
                    format!("unexpected answer {:?}", other.unwrap_or_default())
                } else {
                    stderr
                },
            })
        }
    }
}

/// This machine's name, or `localhost` when it cannot be read.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    format!(
        "{} UTC",
        crate::utc::format_utc(i64::try_from(secs).unwrap_or(i64::MAX))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::LocalHost;

    fn holder(command: &str) -> Holder {
        Holder {
            pid: 4242,
            host: "pve".to_owned(),
            started: 1_764_948_011,
            command: command.to_owned(),
        }
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_764_948_011), "2025-12-05 15:20:11 UTC");
    }

    #[test]
    fn issue_8_a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run/run.lock");
        let first = RunLock::file(&path, &holder("phoenix apply --target local")).expect("free");
        let err = RunLock::file(&path, &holder("phoenix plan")).expect_err("held");
        assert_eq!(
            err.to_string(),
            format!(
                "another phoenix run holds the run lock {} (pid 4242 on pve, started 2025-12-05 15:20:11 UTC: phoenix apply --target local); nothing was done: try again when it has finished",
                path.display()
            )
        );
        let mode = |p: &Path| {
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(p).expect("exists").permissions(),
            ) & 0o777
        };
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        drop(first);
        RunLock::file(&path, &holder("phoenix plan")).expect("free again once released");
    }

    #[test]
    fn issue_8_a_run_refused_while_the_holder_writes_its_line_still_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.lock");
        // The holder has the lock but has not written its line yet (CI saw "holder unknown").
        let held = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("open");
        held.lock().expect("lock");
        let writer = std::thread::spawn({
            let path = path.clone();
            move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                std::fs::write(&path, format!("{}\n", holder("phoenix apply").to_line()))
                    .expect("write");
            }
        });
        let err = RunLock::file(&path, &holder("phoenix plan")).expect_err("held");
        writer.join().expect("writer");
        assert!(
            matches!(&err, RunLockError::Held { holder: Some(h), .. } if h.command == "phoenix apply"),
            "{err}"
        );
        drop(held);
    }

    #[test]
    fn issue_8_a_stale_holder_line_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state.json");
        let path = lock_beside(&state);
        assert_eq!(path, dir.path().join(".state.json.lock"));
        // A run killed with -9 leaves its holder line, but no lock: the kernel dropped it.
        let dead = Holder {
            pid: u32::MAX,
            ..holder("phoenix apply (killed) with a much longer command line than ours")
        };
        std::fs::write(&path, format!("{}\n", dead.to_line())).expect("write");
        let lock = RunLock::beside(&state, &holder("phoenix apply")).expect("taken over");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(Holder::parse(&text), Some(holder("phoenix apply")));
        assert_eq!(text.lines().count(), 1, "{text}");
        drop(lock);
    }

    #[tokio::test]
    async fn issue_8_the_remote_lock_script_holds_until_stdin_closes() {
        // The script is what runs on an SSH target; here it runs through a local sh.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("phoenix/run.lock");
        let lock = path.to_str().expect("utf-8");
        let local = LocalHost::new();
        let first = local
            .start(&lock_cmd(lock, &holder("phoenix apply")))
            .await
            .expect("starts");
        let first = hold(first, "ssh://pve", lock).await.expect("free");
        let second = local
            .start(&lock_cmd(lock, &holder("phoenix plan")))
            .await
            .expect("starts");
        let err = hold(second, "ssh://pve", lock).await.expect_err("held");
        let RunLockError::Held { holder: found, .. } = &err else {
            panic!("expected Held, got {err:?}");
        };
        assert_eq!(found.as_ref(), Some(&holder("phoenix apply")));
        assert!(
            err.to_string()
                .contains(&format!("lock ssh://pve:{lock} (pid 4242 on pve")),
            "{err}"
        );
        first.release().await.expect("released");
        let third = local
            .start(&lock_cmd(lock, &holder("phoenix plan")))
            .await
            .expect("starts");
        hold(third, "ssh://pve", lock)
            .await
            .expect("free once the first session ended")
            .release()
            .await
            .expect("released");
    }

    #[tokio::test]
    async fn the_remote_lock_reports_what_went_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("write");
        let below = file.join("run.lock");
        let running = LocalHost::new()
            .start(&lock_cmd(below.to_str().expect("utf-8"), &holder("x")))
            .await
            .expect("starts");
        let err = hold(running, "ssh://pve", "/x").await.expect_err("fails");
        assert!(matches!(err, RunLockError::Remote { .. }), "{err:?}");
        assert!(err.to_string().contains("mkdir"), "{err}");
    }
}
