//! `gpu.driver`: the NVIDIA kernel driver on the node.
//!
//! The loaded module (`/proc/driver/nvidia/version`) and the module installed for the running
//! kernel (`modinfo -F version nvidia`) are compared with the config's version:
//! - installed differs (or none): with `install`, the runfile is downloaded and run with
//!   `--dkms` (so a kernel upgrade rebuilds the module), two write commands the plan shows; the
//!   change is marked as needing a reboot and reported "reboot required". Phoenix never reboots.
//! - installed matches, loaded does not: nothing to run; "reboot required" is reported.
//! - a loaded module that differs from the config is cross-layer drift: a warning naming the
//!   containers with GPUs, whose user-space driver must be exactly the host's.
//! - a loaded module without a module for the running kernel (a kernel upgrade without the DKMS
//!   rebuild) is reported before the next boot leaves the containers without GPUs.

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Cmd, Ctx, Delta, Diagnostic, Disruption, FieldChange, Kind, Resource, ResourceId,
    Scope, Step,
};
use serde::Serialize;

use crate::config::DriverSpec;
use crate::host;

/// The kind: `gpu.driver`.
pub const KIND: &str = "gpu.driver";

/// Where the runfile is downloaded to.
pub const CACHE_DIR: &str = "/var/cache/phoenix/nvidia";

/// The capability the driver provides, which GPU work on the node requires.
pub const CAPABILITY: &str = "nvidia-driver";

/// The node's NVIDIA driver.
#[derive(Debug, Clone)]
pub struct Driver {
    spec: DriverSpec,
    node: Scope,
    /// Containers with GPUs, for the drift warning.
    containers: Vec<u32>,
    /// What must be in place before the runfile runs (the `nouveau` blacklist).
    depends_on: Vec<ResourceId>,
}

/// What the node runs and has installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverState {
    /// The loaded module's version.
    pub loaded: Option<String>,
    /// The module installed for the running kernel.
    pub installed: Option<String>,
}

impl Driver {
    /// The driver of `spec` on `node`; `containers` have GPUs assigned.
    pub fn new(node: &Scope, spec: DriverSpec, containers: Vec<u32>) -> Driver {
        host::observe_node(node);
        Driver {
            spec,
            node: node.clone(),
            containers,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the `nouveau` blacklist, which the runfile needs in place).
    pub fn depends_on(mut self, id: ResourceId) -> Driver {
        self.depends_on.push(id);
        self
    }

    /// The id: `gpu.driver[nvidia]`.
    pub fn id_for() -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), "nvidia")
    }

    /// The runfile's path on the node.
    fn runfile_path(url: &str) -> String {
        let file = url.rsplit('/').next().unwrap_or("nvidia.run");
        format!("{CACHE_DIR}/{file}")
    }

    /// Download and run the runfile: silent, with DKMS.
    pub fn install_steps(url: &str) -> Vec<Step> {
        let path = Driver::runfile_path(url);
        vec![
            Step::run(Cmd::write(
                "curl",
                ["-fsSL", "--create-dirs", "-o", path.as_str(), url],
            )),
            Step::run(Cmd::write("sh", [path.as_str(), "--silent", "--dkms"])),
        ]
    }

    fn containers(&self) -> String {
        let ids: Vec<String> = self.containers.iter().map(u32::to_string).collect();
        ids.join(", ")
    }
}

/// "580.76.05", or "none".
fn shown(version: Option<&str>) -> String {
    version.unwrap_or("none").to_owned()
}

#[async_trait]
impl Resource for Driver {
    type State = DriverState;

    fn id(&self) -> ResourceId {
        Driver::id_for()
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<phoenix_core::Capability> {
        vec![phoenix_core::Capability::named(CAPABILITY, "node")]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<DriverState>, BoxError> {
        let host = host::read(cx, &self.node).await?;
        Ok(Some(DriverState {
            loaded: host.loaded,
            installed: host.installed,
        }))
    }

    fn diff(&self, observed: Option<&DriverState>) -> Delta {
        let state = observed.cloned().unwrap_or(DriverState {
            loaded: None,
            installed: None,
        });
        diff_driver(self, &state)
    }
}

/// The decision table of the module's description, pure.
fn diff_driver(driver: &Driver, state: &DriverState) -> Delta {
    let want = driver.spec.version.as_str();
    let loaded = state.loaded.as_deref();
    let installed = state.installed.as_deref();
    let mut delta = Delta::none();
    if let Some(loaded) = loaded
        && loaded != want
        && !driver.containers.is_empty()
    {
        delta = delta.diagnostic(Diagnostic::warning(format!(
            "cross-layer drift: the node's loaded NVIDIA driver is {loaded}, the config's is {want}; containers {} get GPUs, and their user-space driver must be exactly the host's",
            driver.containers()
        )));
    }
    if loaded.is_some() && installed.is_none() {
        delta = delta.diagnostic(Diagnostic::warning(format!(
            "the NVIDIA driver {} is loaded but the running kernel has no nvidia module (a kernel upgrade without a DKMS rebuild?): after the next boot the GPUs are gone",
            shown(loaded)
        )));
    }
    if installed == Some(want) {
        if loaded != Some(want) {
            delta = delta.diagnostic(Diagnostic::warning(format!(
                "reboot required: NVIDIA driver {want} is installed but {} is loaded; Phoenix never reboots, and GPU work waits for the reboot",
                shown(loaded)
            )));
        }
        return delta;
    }
    if !driver.spec.install {
        return delta.diagnostic(Diagnostic::warning(format!(
            "the node's NVIDIA driver is {} (installed) and {} (loaded), the config's is {want}; nvidia_driver.install is not true, so Phoenix does not install it",
            shown(installed),
            shown(loaded)
        )));
    }
    let Some(url) = &driver.spec.runfile_url else {
        return delta.diagnostic(
            Diagnostic::error(format!(
                "NVIDIA driver {want} is to be installed but the config names no runfile (nvidia_driver.runfile_url)"
            ))
            .at(driver.spec.at.clone()),
        );
    };
    let mut delta = delta
        .field(
            FieldChange::new(
                "installed",
                Some(shown(installed).into()),
                Some(want.to_owned().into()),
            )
            .note("runfile with --dkms"),
        )
        .disrupts(Disruption::Restart {
            of: "the node (reboot required; Phoenix never reboots)".into(),
        })
        .diagnostic(Diagnostic::warning(format!(
            "reboot required: installing NVIDIA driver {want} takes effect at the next boot; Phoenix never reboots, and GPU work waits for the reboot"
        )));
    for step in Driver::install_steps(url) {
        delta = delta.step(step);
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::Location;

    fn driver(install: bool, containers: Vec<u32>) -> Driver {
        Driver {
            spec: DriverSpec {
                install,
                version: "580.76.05".into(),
                runfile_url: Some("https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run".into()),
                at: Location::new("lxc.json", "x"),
            },
            node: Scope::node(),
            containers,
            depends_on: Vec::new(),
        }
    }

    fn state(loaded: Option<&str>, installed: Option<&str>) -> DriverState {
        DriverState {
            loaded: loaded.map(Into::into),
            installed: installed.map(Into::into),
        }
    }

    /// (install, loaded, installed, steps, messages that must appear)
    type Case<'a> = (bool, Option<&'a str>, Option<&'a str>, usize, &'a [&'a str]);

    #[test]
    fn decisions() {
        let want = Some("580.76.05");
        let old = Some("570.1.2");
        let cases: &[Case<'_>] = &[
            (true, want, want, 0, &[]),
            (true, None, None, 2, &["reboot required: installing"]),
            (
                true,
                old,
                old,
                2,
                &["cross-layer drift", "reboot required: installing"],
            ),
            (
                true,
                old,
                want,
                0,
                &[
                    "cross-layer drift",
                    "reboot required: NVIDIA driver 580.76.05 is installed but 570.1.2",
                ],
            ),
            (true, want, None, 2, &["no nvidia module"]),
            (
                false,
                old,
                old,
                0,
                &["cross-layer drift", "does not install"],
            ),
        ];
        for (install, loaded, installed, steps, messages) in cases {
            let delta = diff_driver(&driver(*install, vec![901]), &state(*loaded, *installed));
            let text = format!("{delta:?}");
            assert_eq!(
                delta.steps.len(),
                *steps,
                "{install} {loaded:?} {installed:?}: {text}"
            );
            for message in *messages {
                assert!(text.contains(message), "{message}: {text}");
            }
            if *steps == 0 && messages.is_empty() {
                assert!(delta.is_empty(), "{text}");
            }
        }
    }
}
