//! `SshHost`: a remote machine reached with the system OpenSSH client, spawned through
//! [`LocalHost`] (the one spawn site).
//!
//! Why the system client rather than an SSH library: it is on every machine Phoenix runs on, it
//! honours the operator's `~/.ssh/config`, agent and known_hosts exactly as their own `ssh` does,
//! and its ControlMaster gives one multiplexed connection per run without a new dependency.
//!
//! A run opens one master connection ([`SshHost::connect`]) and closes it ([`SshHost::close`]);
//! every command is a session on it. Each `Cmd` becomes one remote shell command string with
//! every argv element single-quoted (see `remote`), so the remote shell interprets nothing.

mod remote;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::{FileData, FileWrite, Host, HostError, LocalHost, Running};
use crate::cmd::{Cmd, Output};

/// ssh's own exit status for its failures (connection, authentication, host key).
const SSH_FAILED: i32 = 255;

/// Where to connect: `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SshTarget {
    /// The remote user; `None` leaves it to ssh (its config, or the local user name).
    pub user: Option<String>,
    /// The host name or address (an IPv6 address without brackets).
    pub host: String,
    /// The port; `None` leaves it to ssh.
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]` (IPv6 addresses in brackets: `ssh://root@[::1]:22`).
    pub fn parse(url: &str) -> Result<SshTarget, HostError> {
        let bad = |reason: &str| HostError::BadTarget {
            target: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| bad("expected ssh://[user@]host[:port]"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, rest),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("expected :port after ]"))?,
                ),
            };
            (host, port)
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number from 1 to 65535"))
            })
            .transpose()?;
        if port == Some(0) {
            return Err(bad("the port is not a number from 1 to 65535"));
        }
        let word_ok = |w: &str| {
            !w.is_empty()
                && !w.starts_with('-')
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:%".contains(&b))
        };
        if !word_ok(host) {
            return Err(bad(
                "the host is empty or has characters ssh would not take",
            ));
        }
        if let Some(user) = user
            && !word_ok(user)
        {
            return Err(bad(
                "the user is empty or has characters ssh would not take",
            ));
        }
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ssh://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// How the remote host's key is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostKeys {
    /// `StrictHostKeyChecking=yes` against the user's known_hosts, or this file.
    Strict {
        /// A known_hosts file to use instead of the user's.
        known_hosts: Option<PathBuf>,
    },
    /// `StrictHostKeyChecking=accept-new` with a fresh, temporary known_hosts: any key is
    /// accepted. Only for throwaway hosts, and only when the operator asks for it.
    AcceptAnyForThisRun,
}

/// How to reach the host.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SshOptions {
    /// The private key (`ssh -i`); `None` leaves it to ssh (agent, config, defaults).
    pub identity: Option<PathBuf>,
    /// Host-key checking.
    pub host_keys: HostKeys,
    /// `ConnectTimeout`.
    pub connect_timeout: Duration,
    /// How many commands may run at once on the connection; keep it below the server's
    /// `MaxSessions` (10 by default).
    pub max_sessions: usize,
    /// The ssh program (a stand-in in tests).
    pub program: String,
}

impl Default for SshOptions {
    fn default() -> SshOptions {
        SshOptions {
            identity: None,
            host_keys: HostKeys::Strict { known_hosts: None },
            connect_timeout: Duration::from_secs(10),
            max_sessions: 8,
            program: "ssh".to_owned(),
        }
    }
}

impl SshOptions {
    /// Sets the private key.
    pub fn identity(mut self, path: impl Into<PathBuf>) -> SshOptions {
        self.identity = Some(path.into());
        self
    }

    /// Sets host-key checking.
    pub fn host_keys(mut self, host_keys: HostKeys) -> SshOptions {
        self.host_keys = host_keys;
        self
    }

    /// Sets the ssh program.
    pub fn program(mut self, program: impl Into<String>) -> SshOptions {
        self.program = program.into();
        self
    }
}

/// A host reached over SSH. Open it with [`SshHost::connect`]; [`SshHost::close`] it at the end
/// of the run (until then its master connection stays up; it exits by itself 60 s after the last
/// command if `close` is never called).
#[derive(Debug)]
pub struct SshHost {
    target: SshTarget,
    options: SshOptions,
    local: LocalHost,
    /// Holds the control socket and, with [`HostKeys::AcceptAnyForThisRun`], the known_hosts.
    dir: tempfile::TempDir,
    sessions: Semaphore,
}

impl SshHost {
    /// Opens the master connection: authenticates once, checks the host key, and leaves the
    /// connection up for this run's commands.
    pub async fn connect(target: SshTarget, options: SshOptions) -> Result<SshHost, HostError> {
        let dir = tempfile::Builder::new()
            .prefix("phoenix-ssh-")
            .tempdir()
            .map_err(|source| HostError::File {
                op: "create",
                path: std::env::temp_dir().display().to_string(),
                source,
            })?;
        let host = SshHost {
            sessions: Semaphore::new(options.max_sessions.max(1)),
            target,
            options,
            local: LocalHost::new(),
            dir,
        };
        let open = host
            .ssh(&["-o", "ControlMaster=yes", "-o", "ControlPersist=60"])
            .arg("true")
            .timeout(host.options.connect_timeout + Duration::from_secs(20));
        let output = host.local.run(&open).await?;
        if !output.success() {
            return Err(HostError::Ssh {
                destination: host.target.to_string(),
                argv: "true".to_owned(),
                status: output.status,
                stderr: output.stderr.trim_end().to_owned(),
            });
        }
        tracing::debug!(target = %host.target, "ssh master connection open");
        Ok(host)
    }

    /// Closes the master connection (`ssh -O exit`). Closing a connection that is already gone
    /// is not an error.
    pub async fn close(&self) -> Result<(), HostError> {
        if !self.control_path().exists() {
            return Ok(());
        }
        let exit = self.ssh(&["-O", "exit"]).timeout(Duration::from_secs(10));
        let output = self.local.run(&exit).await?;
        if output.success() || !self.control_path().exists() {
            tracing::debug!(target = %self.target, "ssh master connection closed");
            Ok(())
        } else {
            Err(HostError::Ssh {
                destination: self.target.to_string(),
                argv: "-O exit".to_owned(),
                status: output.status,
                stderr: output.stderr.trim_end().to_owned(),
            })
        }
    }

    /// The target this host connects to.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    fn control_path(&self) -> PathBuf {
        self.dir.path().join("master")
    }

    /// `ssh` with the common options, `extra`, and the destination; the caller appends the
    /// remote command.
    fn ssh(&self, extra: &[&str]) -> Cmd {
        let mut args: Vec<String> = Vec::new();
        let mut option = |value: String| {
            args.push("-o".to_owned());
            args.push(value);
        };
        option("BatchMode=yes".to_owned());
        option(format!(
            "ConnectTimeout={}",
            self.options.connect_timeout.as_secs().max(1)
        ));
        option("ServerAliveInterval=15".to_owned());
        option("ServerAliveCountMax=3".to_owned());
        option(format!("ControlPath={}", self.control_path().display()));
        option("LogLevel=ERROR".to_owned());
        match &self.options.host_keys {
            HostKeys::Strict { known_hosts } => {
                option("StrictHostKeyChecking=yes".to_owned());
                if let Some(file) = known_hosts {
                    option(format!("UserKnownHostsFile={}", file.display()));
                }
            }
            HostKeys::AcceptAnyForThisRun => {
                option("StrictHostKeyChecking=accept-new".to_owned());
                option(format!(
                    "UserKnownHostsFile={}",
                    self.dir.path().join("known_hosts").display()
                ));
                option("GlobalKnownHostsFile=/dev/null".to_owned());
            }
        }
        if let Some(identity) = &self.options.identity {
            option("IdentitiesOnly=yes".to_owned());
            args.push("-i".to_owned());
            args.push(identity.display().to_string());
        }
        if let Some(port) = self.target.port {
            args.push("-p".to_owned());
            args.push(port.to_string());
        }
        if let Some(user) = &self.target.user {
            args.push("-l".to_owned());
            args.push(user.clone());
        }
        args.push("-T".to_owned());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push("--".to_owned());
        args.push(self.target.host.clone());
        Cmd::read(&self.options.program, args)
    }

    /// Runs `cmd` on the remote host and returns its output, or a transport error.
    async fn run_remote(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let remote = remote::remote(cmd)?;
        let mut ssh = self.ssh(&["-o", "ControlMaster=no"]).arg(remote.command);
        ssh.effect = cmd.effect;
        if let Some(stdin) = remote.stdin {
            // Environment values travel here: then the whole stdin is sensitive.
            let sensitive = !cmd.env.is_empty()
                || cmd
                    .stdin
                    .as_ref()
                    .is_some_and(crate::sensitive::Content::is_sensitive);
            ssh = ssh.stdin(crate::sensitive::Content::new(stdin, sensitive));
        }
        if let Some(limit) = cmd.timeout {
            ssh = ssh.timeout(remote::local_grace(limit));
        }
        let _permit = self
            .sessions
            .acquire()
            .await
            .map_err(|_| HostError::Other("the ssh host was closed".to_owned()))?;
        let started = Instant::now();
        let output = match self.local.run(&ssh).await {
            Ok(output) => output,
            Err(HostError::Timeout { .. }) => {
                return Err(HostError::Timeout {
                    argv: cmd.to_string(),
                    seconds: cmd.timeout.unwrap_or_default().as_secs_f64(),
                });
            }
            Err(err) => return Err(err),
        };
        match remote::split_status(&output.stderr) {
            Some((status, stderr)) => {
                if let Some(limit) = cmd.timeout
                    && remote::timed_out(status)
                    && started.elapsed() >= limit
                {
                    return Err(HostError::Timeout {
                        argv: cmd.to_string(),
                        seconds: limit.as_secs_f64(),
                    });
                }
                Ok(Output::new(Some(status), output.stdout, stderr))
            }
            None if output.status == Some(SSH_FAILED) || output.status.is_none() => {
                Err(HostError::Ssh {
                    destination: self.target.to_string(),
                    argv: cmd.to_string(),
                    status: output.status,
                    stderr: output.stderr.trim_end().to_owned(),
                })
            }
            // The remote shell itself ended without the trailer (killed): report what ssh saw.
            None => Ok(output),
        }
    }

    /// Starts `cmd` on the remote host and leaves it running as long as the returned
    /// [`Running`] keeps ssh's standard input open: closing it (or the death of this process,
    /// which closes the pipe) ends the remote command. Used to hold the run lock.
    pub(crate) async fn start(&self, cmd: &Cmd) -> Result<Running, HostError> {
        let remote = remote::remote(cmd)?;
        let mut ssh = self.ssh(&["-o", "ControlMaster=no"]).arg(remote.command);
        if let Some(stdin) = remote.stdin {
            ssh = ssh.stdin(stdin);
        }
        self.local.start(&ssh).await
    }

    fn file_error(op: &'static str, path: &Path, cmd: &Cmd, output: &Output) -> HostError {
        // The scripts are long and constant: name them instead of quoting them in full.
        let argv = match cmd.args.as_slice() {
            [dash_c, _script, rest @ ..] if dash_c == "-c" => {
                let rest: Vec<String> = rest.iter().map(|a| crate::cmd::shell_quote(a)).collect();
                format!("sh -c <phoenix {op} script> {}", rest.join(" "))
            }
            _ => cmd.to_string(),
        };
        HostError::RemoteFile {
            op,
            path: path.display().to_string(),
            argv,
            status: output.status,
            stderr: output.stderr.trim_end().to_owned(),
        }
    }
}

/// A remote command's own standard error: without the status trailer, trimmed.
pub(crate) fn remote_stderr(stderr: &str) -> String {
    remote::split_status(stderr)
        .map_or(stderr, |(_, own)| own)
        .trim_end()
        .to_owned()
}

fn path_str(path: &Path) -> Result<&str, HostError> {
    path.to_str()
        .ok_or_else(|| HostError::Other(format!("path {} is not valid UTF-8", path.display())))
}

#[async_trait]
impl Host for SshHost {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        self.run_remote(cmd).await
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        let text = path_str(path)?;
        let cmd = Cmd::read("sh", ["-c", remote::READ_SCRIPT, "sh", text]);
        let output = self.run_remote(&cmd).await?;
        match output.status {
            Some(0) => remote::parse_read(text, &output.stdout).map(Some),
            Some(remote::READ_MISSING) => Ok(None),
            _ => Err(SshHost::file_error("read", path, &cmd, &output)),
        }
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        let mode = format!("{:o}", file.mode);
        let owner = file.owner.clone().unwrap_or_default();
        let cmd = Cmd::write(
            "sh",
            [
                "-c",
                remote::WRITE_SCRIPT,
                "sh",
                path_str(path)?,
                &mode,
                &owner,
            ],
        )
        // A file's bytes are never logged, whatever its mode.
        .stdin(crate::sensitive::Content::sensitive(file.content.clone()));
        let output = self.run_remote(&cmd).await?;
        if output.success() {
            Ok(())
        } else {
            Err(SshHost::file_error("write", path, &cmd, &output))
        }
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        let cmd = Cmd::write("rm", ["-f", "--", path_str(path)?]);
        let output = self.run_remote(&cmd).await?;
        if output.success() {
            Ok(())
        } else {
            Err(SshHost::file_error("remove", path, &cmd, &output))
        }
    }

    fn describe(&self) -> String {
        self.target.to_string()
    }
}

#[cfg(test)]
mod tests;
