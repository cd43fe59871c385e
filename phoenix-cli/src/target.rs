//! `--target`: this machine, a remote host over SSH, a fresh simulated node, or one persisted in
//! a state file.

use std::path::PathBuf;
use std::sync::Arc;

use phoenix_core::sim::{Emulator, SimNode};
use phoenix_core::{Holder, Host, HostKeys, LocalHost, RunLock, SshHost, SshOptions, SshTarget};

use crate::args::SshArgs;
use crate::error::CliError;
use crate::io::{Io, emit};

/// A parsed `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This machine.
    Local,
    /// A remote host, through the system ssh client.
    Ssh(SshTarget),
    /// A simulated node; with a file, its state persists there.
    Sim(Option<PathBuf>),
}

impl Target {
    /// Parses `local`, `ssh://[user@]host[:port]`, `sim` or `sim:FILE`.
    pub fn parse(text: &str) -> Result<Target, CliError> {
        let fail = |message: String| CliError::Target {
            target: text.to_owned(),
            message,
        };
        match text {
            "local" => Ok(Target::Local),
            "sim" => Ok(Target::Sim(None)),
            _ if text.starts_with("ssh://") => SshTarget::parse(text)
                .map(Target::Ssh)
                .map_err(|e| fail(phoenix_core::plan::error_chain(&e))),
            _ => match text.strip_prefix("sim:") {
                Some(file) if !file.is_empty() => Ok(Target::Sim(Some(PathBuf::from(file)))),
                _ => Err(fail(
                    "expected local, ssh://[user@]host[:port], sim or sim:FILE".to_owned(),
                )),
            },
        }
    }
}

/// What a run may do to its target, which decides what it saves of a simulated node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `plan` and `status`: only this run's audit entries are added to a simulated node's state
    /// file; the node it read is never written back.
    ReadOnly,
    /// `apply` and `reconfigure`: a simulated node's whole state is saved.
    ReadWrite,
}

/// An opened target: the host to run against, its run lock, and the simulated node or SSH
/// connection when there is one.
///
/// Every run takes the target's run lock before it reads anything and holds it until
/// [`Opened::finish`] (or until it is dropped, or the process dies): one run per target at a
/// time. `plan` takes it too, exclusively, as `terraform plan` locks its state: a plan during an
/// apply would read a half-changed host.
pub struct Opened {
    /// The host.
    pub host: Arc<dyn Host>,
    /// The simulated node, to save afterwards.
    pub sim: Option<Arc<SimNode>>,
    /// The SSH connection, to close afterwards.
    ssh: Option<Arc<SshHost>>,
    /// The run lock; `None` only for a simulated node without a state file.
    lock: std::sync::Mutex<Option<RunLock>>,
    access: Access,
    label: String,
    /// The node's own latency profile, restored before saving when `PHOENIX_SIM_LATENCY`
    /// overrode it for this run.
    saved_latency: Option<String>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Every emulator the built-in providers bring to the simulated node: those of the registry's
/// providers, so registering a provider is all it takes.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    crate::commands::registry().emulators()
}

impl Opened {
    /// Opens `target`. A simulated node takes `PHOENIX_SIM_LATENCY` as its latency profile; an
    /// SSH target opens its one connection for the run (close it with [`Opened::finish`]).
    pub fn open(
        target: &Target,
        label: &str,
        ssh: &SshArgs,
        rt: &tokio::runtime::Runtime,
        io: &Io,
        run: Run<'_>,
    ) -> Result<Opened, CliError> {
        let fail = |message: String| CliError::Target {
            target: label.to_owned(),
            message,
        };
        let holder = Holder::this_process(run.command);
        let opened = |host: Arc<dyn Host>, lock: Option<RunLock>| Opened {
            host,
            sim: None,
            ssh: None,
            lock: std::sync::Mutex::new(lock),
            access: run.access,
            label: label.to_owned(),
            saved_latency: None,
        };
        match target {
            Target::Local => {
                let lock = RunLock::local(&holder)
                    .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                Ok(opened(Arc::new(LocalHost::new()), Some(lock)))
            }
            Target::Ssh(remote) => {
                let host = rt
                    .block_on(SshHost::connect(
                        remote.clone(),
                        ssh_options(remote, ssh, io),
                    ))
                    .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                let lock = match rt.block_on(RunLock::remote(&host, &holder)) {
                    Ok(lock) => lock,
                    Err(err) => {
                        let _ = rt.block_on(host.close());
                        return Err(fail(phoenix_core::plan::error_chain(&err)));
                    }
                };
                let host = Arc::new(host);
                let mut opened = opened(Arc::clone(&host) as Arc<dyn Host>, Some(lock));
                opened.ssh = Some(host);
                Ok(opened)
            }
            Target::Sim(file) => {
                // The lock comes first: the state is read only once no other run can write it.
                let lock = file
                    .as_deref()
                    .map(|path| RunLock::beside(path, &holder))
                    .transpose()
                    .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                let node = match file {
                    Some(path) => SimNode::open(path, emulators()),
                    None => SimNode::new(emulators()),
                }
                .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                let mut saved_latency = None;
                if let Some(profile) = std::env::var("PHOENIX_SIM_LATENCY")
                    .ok()
                    .filter(|p| !p.is_empty())
                {
                    saved_latency = Some(node.state().latency);
                    node.set_latency(&profile)
                        .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                }
                node.begin_run();
                let node = Arc::new(node);
                let mut opened = opened(Arc::clone(&node) as Arc<dyn Host>, lock);
                opened.sim = Some(node);
                opened.saved_latency = saved_latency;
                Ok(opened)
            }
        }
    }

    /// Ends the run on the target: saves a simulated node's state (or, read-only, only this
    /// run's audit entries), releases the run lock, closes an SSH connection.
    pub fn finish(&self, rt: &tokio::runtime::Runtime) -> Result<(), CliError> {
        let saved = self.save();
        let lock = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let released = match lock {
            Some(lock) => rt.block_on(lock.release()).map_err(|e| self.fail(&e)),
            None => Ok(()),
        };
        if let Some(ssh) = &self.ssh {
            rt.block_on(ssh.close()).map_err(|e| self.fail(&e))?;
        }
        saved.and(released)
    }

    fn fail(&self, err: &(dyn std::error::Error + 'static)) -> CliError {
        CliError::Target {
            target: self.label.clone(),
            message: phoenix_core::plan::error_chain(err),
        }
    }

    /// Persists a simulated node's state (its file, when it has one).
    fn save(&self) -> Result<(), CliError> {
        let Some(node) = &self.sim else {
            return Ok(());
        };
        match self.access {
            Access::ReadOnly => node.save_records().map_err(|e| self.fail(&e)),
            Access::ReadWrite => {
                if let Some(profile) = &self.saved_latency {
                    node.set_latency(profile).map_err(|e| self.fail(&e))?;
                }
                node.save().map_err(|e| self.fail(&e))
            }
        }
    }
}

/// What a run is, for its run lock and for what it saves.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// What the run may do to the target.
    pub access: Access,
    /// The command line the run lock names, such as `phoenix apply --config lab --target sim:s`.
    pub command: &'a str,
}

/// The ssh options of `--ssh-*`; warns when host keys are not checked.
fn ssh_options(remote: &SshTarget, ssh: &SshArgs, io: &Io) -> SshOptions {
    let mut options = SshOptions::default();
    if let Some(identity) = &ssh.ssh_identity {
        options = options.identity(identity);
    }
    options.host_keys(if ssh.ssh_insecure_accept_new {
        emit(
            &io.stderr,
            &format!(
                "warning: --ssh-insecure-accept-new: the host key of {remote} is not checked \
                 against any known_hosts; use this only for throwaway hosts\n"
            ),
        );
        HostKeys::AcceptAnyForThisRun
    } else {
        HostKeys::Strict {
            known_hosts: ssh.ssh_known_hosts.clone(),
        }
    })
}
