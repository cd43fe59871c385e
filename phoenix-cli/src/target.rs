//! `--target`: this machine, a fresh simulated node, or one persisted in a state file.

use std::path::PathBuf;
use std::sync::Arc;

use phoenix_core::sim::{Emulator, SimNode};
use phoenix_core::{Host, LocalHost};

use crate::error::CliError;

/// A parsed `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This machine.
    Local,
    /// A simulated node; with a file, its state persists there.
    Sim(Option<PathBuf>),
}

impl Target {
    /// Parses `local`, `sim` or `sim:FILE`.
    pub fn parse(text: &str) -> Result<Target, CliError> {
        match text {
            "local" => Ok(Target::Local),
            "sim" => Ok(Target::Sim(None)),
            _ => match text.strip_prefix("sim:") {
                Some(file) if !file.is_empty() => Ok(Target::Sim(Some(PathBuf::from(file)))),
                _ => Err(CliError::Target {
                    target: text.to_owned(),
                    message: "expected local, sim or sim:FILE".to_owned(),
                }),
            },
        }
    }
}

/// An opened target: the host to run against, and the simulated node when there is one.
pub struct Opened {
    /// The host.
    pub host: Arc<dyn Host>,
    /// The simulated node, to save afterwards.
    pub sim: Option<Arc<SimNode>>,
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

/// Every emulator the built-in providers contribute to the simulated node.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    let mut all: Vec<Arc<dyn Emulator>> = Vec::new();
    all.extend(phoenix_zfs::emulators());
    all.extend(phoenix_lxc::emulators());
    all.extend(phoenix_net::emulators());
    all.extend(phoenix_gpu::emulators());
    all.extend(phoenix_security::emulators());
    all
}

impl Opened {
    /// Opens `target`. A simulated node takes `PHOENIX_SIM_LATENCY` as its latency profile.
    pub fn open(target: &Target, label: &str) -> Result<Opened, CliError> {
        let fail = |message: String| CliError::Target {
            target: label.to_owned(),
            message,
        };
        match target {
            Target::Local => Ok(Opened {
                host: Arc::new(LocalHost::new()),
                sim: None,
                label: label.to_owned(),
                saved_latency: None,
            }),
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
                    label: label.to_owned(),
                    saved_latency,
                })
            }
        }
    }

    /// Persists a simulated node's state (its file, when it has one).
    pub fn save(&self) -> Result<(), CliError> {
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
