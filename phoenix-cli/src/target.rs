//! `--target`: this machine, a remote host over SSH, a fresh simulated node, or one persisted in
//! a state file.

use std::path::PathBuf;
use std::sync::Arc;

use phoenix_core::sim::{Emulator, SimNode};
use phoenix_core::{Host, HostKeys, LocalHost, SshHost, SshOptions, SshTarget};

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

/// An opened target: the host to run against, and the simulated node or SSH connection when
/// there is one.
pub struct Opened {
    /// The host.
    pub host: Arc<dyn Host>,
    /// The simulated node, to save afterwards.
    pub sim: Option<Arc<SimNode>>,
    /// The SSH connection, to close afterwards.
    ssh: Option<Arc<SshHost>>,
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
    ) -> Result<Opened, CliError> {
        let fail = |message: String| CliError::Target {
            target: label.to_owned(),
            message,
        };
        match target {
            Target::Local => Ok(Opened {
                host: Arc::new(LocalHost::new()),
                sim: None,
                ssh: None,
                label: label.to_owned(),
                saved_latency: None,
            }),
            Target::Ssh(remote) => {
                let mut options = SshOptions::default();
                if let Some(identity) = &ssh.ssh_identity {
                    options = options.identity(identity);
                }
                options = options.host_keys(if ssh.ssh_insecure_accept_new {
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
                });
                let host = rt
                    .block_on(SshHost::connect(remote.clone(), options))
                    .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
                let host = Arc::new(host);
                Ok(Opened {
                    host: Arc::clone(&host) as Arc<dyn Host>,
                    sim: None,
                    ssh: Some(host),
                    label: label.to_owned(),
                    saved_latency: None,
                })
            }
            Target::Sim(file) => {
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
                Ok(Opened {
                    host: Arc::clone(&node) as Arc<dyn Host>,
                    sim: Some(node),
                    ssh: None,
                    label: label.to_owned(),
                    saved_latency,
                })
            }
        }
    }

    /// Ends the run on the target: saves a simulated node's state, closes an SSH connection.
    pub fn finish(&self, rt: &tokio::runtime::Runtime) -> Result<(), CliError> {
        let saved = self.save();
        if let Some(ssh) = &self.ssh {
            rt.block_on(ssh.close()).map_err(|e| CliError::Target {
                target: self.label.clone(),
                message: phoenix_core::plan::error_chain(&e),
            })?;
        }
        saved
    }

    /// Persists a simulated node's state (its file, when it has one).
    fn save(&self) -> Result<(), CliError> {
        if let Some(node) = &self.sim {
            if let Some(profile) = &self.saved_latency {
                node.set_latency(profile).map_err(|e| CliError::Target {
                    target: self.label.clone(),
                    message: phoenix_core::plan::error_chain(&e),
                })?;
            }
            node.save().map_err(|e| CliError::Target {
                target: self.label.clone(),
                message: phoenix_core::plan::error_chain(&e),
            })?;
        }
        Ok(())
    }
}
