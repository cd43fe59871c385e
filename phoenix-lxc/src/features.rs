//! `lxc.features`: the container's feature list, run in order inside the container. A running
//! container is probed once, in the one host command that probes every running container with
//! features (`facts::ProbeAll`); a stopped one whose provisioning snapshot records the current
//! spec digest needs no probe at all; anything else is provisioned (started if needed, stopped again if it does not start at boot).
//!
//! Features implemented here: `base_setup` (what the upstream tool installed: curl, wget, vim,
//! htop, jq, git, rsync, s-tui, gnupg and locales, and an en_US.UTF-8 locale).

use std::sync::Arc;

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId, Step,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::ContainerSpec;
use crate::container::{Container, lock};
use crate::facts::{Containers, ProbeAll, ProbeBook};
use crate::parse::{ProbeAnswer, ProbeRequest};

/// The kind: `lxc.features`.
pub const KIND: &str = "lxc.features";

/// What `base_setup` installs.
pub const BASE_PACKAGES: &[&str] = &[
    "curl", "wget", "vim", "htop", "jq", "git", "rsync", "s-tui", "gnupg", "locales",
];

/// The locale file `update-locale` writes for `base_setup`.
pub const LOCALE_FILE: &str = "/etc/default/locale";

/// Its content.
pub const LOCALE_CONTENT: &str = "LANG=en_US.UTF-8\nLC_ALL=en_US.UTF-8\n";

/// The features of one container.
#[derive(Debug, Clone)]
pub struct Features {
    pub(crate) spec: ContainerSpec,
    pub(crate) digest: String,
    pub(crate) requests: Arc<Vec<ProbeRequest>>,
    /// Every container's requests, shared, so one command probes every running container.
    pub(crate) book: Arc<ProbeBook>,
}

/// What is known of the container's provisioning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FeaturesState {
    /// Running and probed: the packages missing and whether the locale is set.
    Probed {
        /// Packages not installed.
        missing: Vec<String>,
        /// Whether the locale file has the expected content.
        locale_ok: bool,
    },
    /// Stopped; whether its provisioning snapshot records the current spec digest.
    Stopped {
        /// The digest matches.
        provisioned: bool,
    },
}

/// The probe requests of a feature list.
pub(crate) fn requests(features: &[String]) -> Vec<ProbeRequest> {
    let mut out = Vec::new();
    if features.iter().any(|f| f == "base_setup") {
        out.extend(
            BASE_PACKAGES
                .iter()
                .map(|p| ProbeRequest::Package((*p).to_owned())),
        );
        out.push(ProbeRequest::File(LOCALE_FILE.to_owned()));
    }
    out
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Features {
    /// The id of container `id`'s features.
    pub fn id_for(id: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), id.to_string())
    }

    fn exec(&self, argv: &[&str]) -> Cmd {
        let mut cmd = Cmd::write(
            "pct",
            ["exec".to_owned(), self.spec.id.to_string(), "--".to_owned()],
        );
        for arg in argv {
            cmd = cmd.arg(*arg);
        }
        cmd
    }

    fn install_steps(&self, missing: &[String], locale_ok: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        if !missing.is_empty() {
            steps.push(Step::run(self.exec(&["apt-get", "update"])));
            let mut argv = vec![
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "install",
                "-y",
            ];
            argv.extend(missing.iter().map(String::as_str));
            steps.push(Step::run(self.exec(&argv)));
        }
        if !locale_ok {
            steps.push(Step::run(self.exec(&["locale-gen", "en_US.UTF-8"])));
            steps.push(Step::run(self.exec(&[
                "update-locale",
                "LANG=en_US.UTF-8",
                "LC_ALL=en_US.UTF-8",
            ])));
        }
        steps
    }

    fn provision_steps(&self) -> Vec<Step> {
        let id = self.spec.id.to_string();
        let mut steps = vec![Step::run(Cmd::write("pct", ["start", id.as_str()]))];
        if self.spec.features.iter().any(|f| f == "base_setup") {
            let all: Vec<String> = BASE_PACKAGES.iter().map(|p| (*p).to_owned()).collect();
            steps.extend(self.install_steps(&all, false));
        }
        if !self.spec.start_at_boot {
            steps.push(Step::run(Cmd::write("pct", ["shutdown", id.as_str()])));
        }
        steps
    }

    fn answers_to_state(
        &self,
        answers: &std::collections::BTreeMap<ProbeRequest, ProbeAnswer>,
    ) -> FeaturesState {
        let mut missing = Vec::new();
        let mut locale_ok = true;
        for request in self.requests.iter() {
            let answer = answers.get(request);
            match request {
                ProbeRequest::Package(name) if !answer.is_some_and(ProbeAnswer::is_yes) => {
                    missing.push(name.clone());
                }
                ProbeRequest::File(_) => {
                    locale_ok = answer.and_then(ProbeAnswer::detail)
                        == Some(sha256_hex(LOCALE_CONTENT).as_str());
                }
                _ => {}
            }
        }
        FeaturesState::Probed { missing, locale_ok }
    }
}

#[async_trait]
impl Resource for Features {
    type State = FeaturesState;

    fn id(&self) -> ResourceId {
        Features::id_for(self.spec.id)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = vec![Container::id_for(self.spec.id)];
        // Provisioning starts the container with its GPUs in place.
        if self.spec.gpus.is_some() {
            deps.push(crate::gpu::Passthrough::id_for(self.spec.id));
        }
        deps
    }

    /// Provisioning starts the container: scoped resources in `ct:<id>` come after it.
    fn provides(&self) -> Vec<phoenix_core::Capability> {
        vec![crate::guest::ready(self.spec.id)]
    }

    fn locks(&self) -> Vec<String> {
        vec![lock(self.spec.id)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<FeaturesState>, BoxError> {
        // Both reads at once: the probe does not wait for `pct list`.
        let probe = ProbeAll::new(&self.book);
        let (all, probed) = futures::join!(cx.fact(&Containers), cx.fact(&probe));
        let all = all?;
        // A failed probe command is an error even for a stopped container: it would otherwise
        // go unreported when no container runs.
        let probed = probed?;
        let Some(found) = all.get(&self.spec.id) else {
            return Ok(None);
        };
        if found.status == "running" {
            let answers = match probed.get(&self.spec.id) {
                Some(Ok(answers)) => answers,
                Some(Err(reason)) => return Err(reason.clone().into()),
                // Nothing to ask (a clone provisioned only by its parent's features): not probed.
                None if self.requests.is_empty() => {
                    return Ok(Some(self.answers_to_state(&Default::default())));
                }
                None => return Err(format!("container {} was not probed", self.spec.id).into()),
            };
            return Ok(Some(self.answers_to_state(answers)));
        }
        let wanted = crate::snapshot::effective_digest(&self.digest, &self.spec, cx);
        let provisioned = found
            .conf
            .snapshots
            .get(&self.spec.snapshot)
            .and_then(|s| s.description.as_deref())
            .and_then(crate::snapshot::recorded_digest)
            == Some(wanted.as_str());
        Ok(Some(FeaturesState::Stopped { provisioned }))
    }

    fn diff(&self, observed: Option<&FeaturesState>) -> Delta {
        let steps = match observed {
            None | Some(FeaturesState::Stopped { provisioned: false }) => self.provision_steps(),
            // A provisioned container that starts at boot but is stopped (rolled back, or
            // stopped by hand) is started here, before the resources of its scope, which run
            // in it; `lxc.start` then finds it running.
            Some(FeaturesState::Stopped { provisioned: true }) if self.spec.start_at_boot => {
                let id = self.spec.id.to_string();
                vec![Step::run(Cmd::write("pct", ["start", id.as_str()]))]
            }
            Some(FeaturesState::Stopped { provisioned: true }) => Vec::new(),
            Some(FeaturesState::Probed { missing, locale_ok }) => {
                self.install_steps(missing, *locale_ok)
            }
        };
        if steps.is_empty() {
            return Delta::none();
        }
        let mut delta = Delta::none();
        match observed {
            Some(FeaturesState::Probed { missing, locale_ok }) => {
                if !missing.is_empty() {
                    delta = delta.field(FieldChange::new(
                        "packages",
                        Some(format!("missing {}", missing.join(" ")).into()),
                        Some("installed".into()),
                    ));
                }
                if !locale_ok {
                    delta =
                        delta.field(FieldChange::new("locale", None, Some("en_US.UTF-8".into())));
                }
            }
            Some(FeaturesState::Stopped { provisioned: true }) => {
                delta = delta.field(FieldChange::new(
                    "status",
                    Some("stopped".into()),
                    Some("running".into()),
                ));
            }
            _ => {
                delta = delta.field(FieldChange::new(
                    "features",
                    None,
                    Some(if self.spec.features.is_empty() {
                        "(inherited from its clone parent)".into()
                    } else {
                        self.spec.features.join(", ").into()
                    }),
                ));
            }
        }
        for step in steps {
            delta = delta.step(step);
        }
        delta
    }

    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // Earlier resources of this run created or restarted the container: work from its live
        // state. Start it if needed, probe, install what is missing, and stop it again if it
        // does not run at boot.
        let id = self.spec.id.to_string();
        let started = !crate::facts::is_running(cx.host(), self.spec.id).await?;
        if started {
            cx.run(&Cmd::write("pct", ["start", id.as_str()])).await?;
        }
        let probe = crate::facts::probe_cmd(self.spec.id, &self.requests);
        let output = cx.run(&probe).await?;
        let answers = crate::parse::parse_probe_output(&output.stdout)
            .map_err(|e| format!("read the probe of container {id}: {e}"))?;
        if let FeaturesState::Probed { missing, locale_ok } = self.answers_to_state(&answers) {
            phoenix_core::resource::run_steps(&self.install_steps(&missing, locale_ok), cx).await?;
        }
        // Resources of other providers in the container's scope run next, in the running
        // container; `lxc.start` stops it after them.
        let scoped = cx
            .guest_fingerprint(&format!("{}:{id}", crate::guest::CLASS))
            .is_some();
        if started && !self.spec.start_at_boot && !scoped {
            cx.run(&Cmd::write("pct", ["shutdown", id.as_str()]))
                .await?;
        }
        Ok(())
    }
}
