//! `LocalHost`: this machine, and the only place in the workspace that spawns a process.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::{FileData, FileWrite, Host, HostError};
use crate::cmd::{Cmd, Output};

/// Runs commands and touches files on the machine Phoenix runs on.
#[derive(Debug, Default, Clone)]
pub struct LocalHost {
    _private: (),
}

impl LocalHost {
    /// A handle on this machine.
    pub fn new() -> LocalHost {
        LocalHost { _private: () }
    }

    /// Starts `cmd` and leaves it running: its standard input stays open (after `cmd.stdin`, if
    /// any) until [`Running::finish`], and its standard output can be read line by line while it
    /// runs. Dropping the handle kills the process. `cmd.timeout` is ignored.
    ///
    /// This is how a process is held for the length of a run, such as the remote `flock` of an
    /// SSH target's run lock.
    pub async fn start(&self, cmd: &Cmd) -> Result<Running, HostError> {
        let mut command = command(cmd, Stdio::piped());
        let spawn_error = |source| HostError::Spawn {
            argv: cmd.to_string(),
            source,
        };
        let input = cmd.stdin_text()?;
        let mut child = command.spawn().map_err(spawn_error)?;
        let mut stdin = child.stdin.take();
        if let (Some(input), Some(pipe)) = (input, stdin.as_mut()) {
            pipe.write_all(input.as_bytes())
                .await
                .map_err(spawn_error)?;
        }
        // Standard error is drained as it comes, so a chatty process never blocks on a full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            tokio::spawn(async move {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes).await;
                String::from_utf8_lossy(&bytes).into_owned()
            })
        });
        let stdout = child.stdout.take().map(BufReader::new);
        tracing::debug!(argv = %cmd, pid = ?child.id(), "started");
        Ok(Running {
            argv: cmd.to_string(),
            child,
            stdin,
            stdout,
            stderr,
        })
    }
}

/// A process started by [`LocalHost::start`] that is still running (or has not been waited for).
#[derive(Debug)]
pub struct Running {
    argv: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<tokio::task::JoinHandle<String>>,
}

impl Running {
    /// The process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The next line of standard output without its newline; `None` at its end.
    pub async fn read_line(&mut self) -> Result<Option<String>, HostError> {
        let Some(stdout) = self.stdout.as_mut() else {
            return Ok(None);
        };
        let mut line = String::new();
        let n = stdout
            .read_line(&mut line)
            .await
            .map_err(|source| self.spawn_error(source))?;
        if n == 0 {
            return Ok(None);
        }
        if line.ends_with('\n') {
            line.pop();
        }
        Ok(Some(line))
    }

    /// Sends `SIGKILL` to the process (a no-op when it has exited).
    pub fn kill(&mut self) -> Result<(), HostError> {
        match self.child.start_kill() {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
            Err(source) => Err(self.spawn_error(source)),
        }
    }

    /// Closes standard input, waits for the process to exit, and returns the rest of its
    /// standard output, its standard error and its exit status (`None` for a signal).
    pub async fn finish(mut self) -> Result<Output, HostError> {
        drop(self.stdin.take());
        let mut stdout = String::new();
        if let Some(mut pipe) = self.stdout.take() {
            pipe.read_to_string(&mut stdout)
                .await
                .map_err(|source| self.spawn_error(source))?;
        }
        let status = self
            .child
            .wait()
            .await
            .map_err(|source| self.spawn_error(source))?;
        let stderr = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        tracing::debug!(argv = %self.argv, status = ?status.code(), "finished");
        Ok(Output::new(status.code(), stdout, stderr))
    }

    fn spawn_error(&self, source: std::io::Error) -> HostError {
        HostError::Spawn {
            argv: self.argv.clone(),
            source,
        }
    }
}

#[async_trait]
impl Host for LocalHost {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let started = Instant::now();
        let stdin = if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut command = command(cmd, stdin);
        let spawn_error = |source| HostError::Spawn {
            argv: cmd.to_string(),
            source,
        };
        let stdin = cmd.stdin_text()?;
        let mut child = command.spawn().map_err(spawn_error)?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .await
                .map_err(spawn_error)?;
            drop(pipe);
        }
        let waited = child.wait_with_output();
        let output = match cmd.timeout {
            Some(limit) => {
                tokio::time::timeout(limit, waited)
                    .await
                    .map_err(|_| HostError::Timeout {
                        argv: cmd.to_string(),
                        seconds: limit.as_secs_f64(),
                    })?
            }
            None => waited.await,
        }
        .map_err(spawn_error)?;
        let output = Output::new(
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        tracing::debug!(argv = %cmd, status = ?output.status, elapsed_ms = started.elapsed().as_millis() as u64, "ran");
        if !output.stderr.is_empty() {
            tracing::trace!(argv = %cmd, stderr = %output.stderr, "stderr");
        }
        Ok(output)
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        let file_error = |source| HostError::File {
            op: "read",
            path: path.display().to_string(),
            source,
        };
        let content = match tokio::fs::read(path).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(file_error(err)),
        };
        let meta = tokio::fs::metadata(path).await.map_err(file_error)?;
        let user = name_of(Path::new("/etc/passwd"), meta.uid()).await;
        let group = name_of(Path::new("/etc/group"), meta.gid()).await;
        Ok(Some(FileData::new(
            content,
            meta.mode() & 0o7777,
            format!("{user}:{group}"),
        )))
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        let file_error = |source| HostError::File {
            op: "write",
            path: path.display().to_string(),
            source,
        };
        let temp = temp_path(path);
        let result = async {
            tokio::fs::write(&temp, file.content.as_bytes()).await?;
            tokio::fs::set_permissions(&temp, std::fs::Permissions::from_mode(file.mode)).await?;
            if let Some(owner) = &file.owner {
                let (uid, gid) = ids_of(owner).await?;
                std::os::unix::fs::chown(&temp, Some(uid), Some(gid))?;
            }
            tokio::fs::rename(&temp, path).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        result.map_err(file_error)
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(HostError::File {
                op: "remove",
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn describe(&self) -> String {
        "local".to_owned()
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.phoenix-{}.tmp", std::process::id()))
}

/// Looks a numeric id up in a passwd-format file, falling back to the number itself.
async fn name_of(db: &Path, id: u32) -> String {
    let text = tokio::fs::read_to_string(db).await.unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let number = fields.nth(1)?.parse::<u32>().ok()?;
            (number == id).then(|| name.to_owned())
        })
        .next()
        .unwrap_or_else(|| id.to_string())
}

/// Resolves `user:group` (names or numbers) to numeric ids.
async fn ids_of(owner: &str) -> std::io::Result<(u32, u32)> {
    let (user, group) = owner.split_once(':').unwrap_or((owner, owner));
    let uid = id_of(Path::new("/etc/passwd"), user).await?;
    let gid = id_of(Path::new("/etc/group"), group).await?;
    Ok((uid, gid))
}

async fn id_of(db: &Path, name: &str) -> std::io::Result<u32> {
    if let Ok(number) = name.parse::<u32>() {
        return Ok(number);
    }
    let text = tokio::fs::read_to_string(db).await?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let entry = fields.next()?;
            let number = fields.nth(1)?.parse::<u32>().ok()?;
            (entry == name).then_some(number)
        })
        .next()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no such user or group {name:?}"),
            )
        })
}

/// The process builder for `cmd`: its argv and environment, the given stdin, piped output, and
/// killed when dropped.
fn command(cmd: &Cmd, stdin: Stdio) -> tokio::process::Command {
    #[expect(
        clippy::disallowed_methods,
        reason = "LocalHost is the one place in the workspace that spawns a process"
    )]
    let mut command = tokio::process::Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .envs(&cmd.env)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_argv_without_a_shell() {
        let host = LocalHost::new();
        let out = host
            .run(&Cmd::read("echo", ["$(id)", "a;b"]))
            .await
            .expect("echo runs");
        assert_eq!(out.stdout, "$(id) a;b\n");
        assert!(out.success());
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let host = LocalHost::new();
        let err = host
            .run(&Cmd::read("phoenix-no-such-program", ["x"]))
            .await
            .expect_err("no such program");
        assert!(matches!(err, HostError::Spawn { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn timeouts_kill_the_command() {
        let host = LocalHost::new();
        let cmd = Cmd::read("sleep", ["5"]).timeout(std::time::Duration::from_millis(50));
        let err = host.run(&cmd).await.expect_err("times out");
        assert!(matches!(err, HostError::Timeout { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn stdin_reaches_the_command() {
        let host = LocalHost::new();
        let out = host
            .run(&Cmd::read("cat", Vec::<String>::new()).stdin("hello"))
            .await
            .expect("cat runs");
        assert_eq!(out.stdout, "hello");
    }

    #[tokio::test]
    async fn a_started_command_runs_until_its_stdin_closes() {
        let host = LocalHost::new();
        let mut running = host
            .start(&Cmd::read("sh", ["-c", "echo ready; cat; echo done >&2"]).stdin("early\n"))
            .await
            .expect("sh starts");
        assert!(running.id().is_some());
        assert_eq!(
            running.read_line().await.expect("reads"),
            Some("ready".to_owned())
        );
        assert_eq!(
            running.read_line().await.expect("reads"),
            Some("early".to_owned())
        );
        let output = running.finish().await.expect("exits once stdin closes");
        assert_eq!(output, Output::new(Some(0), "", "done\n"));
    }

    #[tokio::test]
    async fn a_started_command_can_be_killed() {
        let host = LocalHost::new();
        let mut running = host
            .start(&Cmd::read("sleep", ["30"]))
            .await
            .expect("sleep starts");
        running.kill().expect("kill");
        let output = running.finish().await.expect("waits");
        assert_eq!(output.status, None, "killed by a signal");
    }

    #[tokio::test]
    async fn writes_are_atomic_and_keep_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.conf");
        let host = LocalHost::new();
        host.write_file(&path, &FileWrite::new("a\n", 0o640))
            .await
            .expect("write");
        let read = host.read_file(&path).await.expect("read").expect("exists");
        assert_eq!(read.content, "a\n");
        assert_eq!(read.mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        host.remove_file(&path).await.expect("remove");
        assert_eq!(host.read_file(&path).await.expect("read"), None);
        host.remove_file(&path)
            .await
            .expect("removing a missing file is fine");
    }
}
