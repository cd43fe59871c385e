//! `gpu.userspace`: a container's user-space NVIDIA driver, exactly the host's loaded version,
//! installed from NVIDIA's runfile with `--no-kernel-module` (the container shares the host's
//! kernel module, so the two must match exactly or NVML refuses with "Driver/library version
//! mismatch").
//!
//! Inspected through the container's probe: `nvidia-smi --query-gpu=driver_version
//! --format=csv,noheader` inside the container (a query, no command of its own) and the node's
//! driver from the node's probe. Decisions (pure, `diff_userspace`):
//! - the node has no driver loaded, or a different one installed and waiting for a reboot (or the
//!   config installs another): deferred, with a warning that says why; nothing runs;
//! - the container reports the loaded version: nothing to do (a clone whose parent had it);
//! - otherwise (none, another version, or NVML's refusal): the plan shows the install, a version
//!   that differs is reported as cross-layer drift. The steps wait for the device nodes
//!   (`test -e`, polled for at most `DEVICE_WAIT`; the error names the missing node), download
//!   the runfile into the container, run it and remove it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use phoenix_core::probe::{QueryFact, observe};
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource, ResourceId, Scope,
    Step,
};
use serde::Serialize;

use crate::host;

/// The kind: `gpu.userspace`.
pub const KIND: &str = "gpu.userspace";

/// The field a change shows.
const FIELD: &str = "user-space driver";

/// The container probe's query name.
pub const QUERY: &str = "nvidia-userspace";

/// Where the runfile is downloaded to inside the container (removed after the install).
pub const RUNFILE: &str = "/var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64.run";

/// The runfile's options: silent, user space only (the container has no kernel of its own).
pub const INSTALL_OPTIONS: [&str; 5] = [
    "--silent",
    "--no-kernel-module",
    "--no-x-check",
    "--no-nouveau-check",
    "--no-nvidia-modprobe",
];

/// How long apply waits for a device node to appear in the container.
pub const DEVICE_WAIT: Duration = Duration::from_secs(30);

/// How often apply looks for it.
const DEVICE_POLL: Duration = Duration::from_secs(1);

/// NVIDIA's download URL of the runfile of driver `version`.
pub fn runfile_url(version: &str) -> String {
    format!(
        "https://us.download.nvidia.com/XFree86/Linux-x86_64/{version}/NVIDIA-Linux-x86_64-{version}.run"
    )
}

/// The argv of the container's query.
pub fn query_argv() -> [&'static str; 3] {
    [
        "nvidia-smi",
        "--query-gpu=driver_version",
        "--format=csv,noheader",
    ]
}

/// One container's user-space driver.
#[derive(Debug, Clone)]
pub struct Userspace {
    node: Scope,
    scope: Scope,
    vmid: u32,
    gpus: Vec<u32>,
    /// The config's driver (`nvidia_driver`): version and runfile URL, when it is installed by
    /// Phoenix.
    config: Option<(String, Option<String>)>,
    device_wait: Duration,
}

/// What the node runs and the container has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserspaceState {
    /// The node's loaded module.
    pub host_loaded: Option<String>,
    /// The node's module for the running kernel.
    pub host_installed: Option<String>,
    /// The version the container's `nvidia-smi` reports.
    pub container: Option<String>,
    /// Why the container's `nvidia-smi` reports none, when it is installed but fails.
    pub container_error: Option<String>,
    /// Whether a downloaded runfile is left (an install interrupted before its removal).
    pub runfile_left: bool,
}

impl Userspace {
    /// The user space of container `vmid` (scope `scope`), whose GPUs are `gpus`; `config` is
    /// the config's driver version and runfile URL when `nvidia_driver.install` is true.
    pub fn new(
        node: &Scope,
        scope: &Scope,
        vmid: u32,
        gpus: Vec<u32>,
        config: Option<(String, Option<String>)>,
    ) -> Userspace {
        host::observe_node(node);
        scope.observe(|inventory| {
            inventory
                .query(QUERY, query_argv())
                .expect("invariant: the user-space query is well formed and registered alike");
            inventory.paths.insert(RUNFILE.to_owned());
        });
        Userspace {
            node: node.clone(),
            scope: scope.clone(),
            vmid,
            gpus,
            config,
            device_wait: DEVICE_WAIT,
        }
    }

    /// The same with another device wait (tests).
    pub fn with_device_wait(mut self, wait: Duration) -> Userspace {
        self.device_wait = wait;
        self
    }

    /// The device nodes the container needs: the control device, the unified memory device and
    /// one per GPU.
    pub fn devices(&self) -> Vec<String> {
        let mut devices = vec!["/dev/nvidiactl".to_owned(), "/dev/nvidia-uvm".to_owned()];
        devices.extend(self.gpus.iter().map(|gpu| format!("/dev/nvidia{gpu}")));
        devices
    }

    /// The steps that install `version`: wait for each device node, download, run, remove.
    fn install_steps(&self, version: &str) -> Vec<Step> {
        let url = match &self.config {
            Some((want, Some(url))) if want == version => url.clone(),
            _ => runfile_url(version),
        };
        let mut steps: Vec<Step> = self
            .devices()
            .iter()
            .map(|device| {
                Step::run(
                    self.scope
                        .command(Cmd::read("test", ["-e", device.as_str()])),
                )
            })
            .collect();
        steps.push(Step::run(self.scope.command(Cmd::write(
            "curl",
            ["-fsSL", "--create-dirs", "-o", RUNFILE, url.as_str()],
        ))));
        let mut run = vec![RUNFILE];
        run.extend(INSTALL_OPTIONS);
        steps.push(Step::run(self.scope.command(Cmd::write("sh", run))));
        steps.push(Step::run(
            self.scope.command(Cmd::write("rm", ["-f", RUNFILE])),
        ));
        steps
    }

    /// Polls `cmd` (`test -e DEVICE` in the container) until it succeeds or the wait is over.
    async fn wait_for(&self, cx: &Ctx<'_>, cmd: &Cmd, device: &str) -> Result<(), BoxError> {
        let start = Instant::now();
        loop {
            let output = cx.host().run(cmd).await?;
            if output.success() {
                return Ok(());
            }
            if output.status != Some(1) || !output.stderr.trim().is_empty() {
                // Not `test`'s "missing" (the container does not run, say): no use waiting.
                return Err(phoenix_core::HostError::CommandFailed {
                    argv: cmd.to_string(),
                    status: output.status,
                    stderr: output.stderr.trim_end().to_owned(),
                }
                .into());
            }
            if start.elapsed() + DEVICE_POLL > self.device_wait {
                return Err(format!(
                    "wait for the NVIDIA device nodes in container {}: {device} did not appear within {} s (is the GPU passed through, and did the node's device-node unit run?)",
                    self.vmid,
                    self.device_wait.as_secs()
                )
                .into());
            }
            tokio::time::sleep(DEVICE_POLL).await;
        }
    }
}

/// The container's version, or why it has none, from its query.
fn container_driver(query: Option<&QueryFact>) -> (Option<String>, Option<String>) {
    let Some(query) = query else {
        return (None, None);
    };
    if query.is_missing_program() {
        return (None, None);
    }
    let lines: Vec<&str> = query
        .output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if query.success() {
        return (lines.first().map(|line| (*line).to_owned()), None);
    }
    let why = lines
        .iter()
        .find(|line| line.starts_with("Failed") || line.starts_with("NVIDIA-SMI"))
        .or(lines.first())
        .map_or_else(
            || format!("nvidia-smi exited {}", query.status),
            |line| (*line).to_owned(),
        );
    (None, Some(why))
}

#[async_trait]
impl Resource for Userspace {
    type State = UserspaceState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), format!("ct:{}", self.vmid))
    }

    fn requires(&self) -> Vec<phoenix_core::Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn provides(&self) -> Vec<phoenix_core::Capability> {
        self.scope.settled().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<UserspaceState>, BoxError> {
        let host = host::read(cx, &self.node).await?;
        let facts = observe(cx, &self.scope).await?;
        let (container, container_error) = container_driver(facts.queries.get(QUERY));
        Ok(Some(UserspaceState {
            host_loaded: host.loaded,
            host_installed: host.installed,
            container,
            container_error,
            runfile_left: facts.paths.contains_key(RUNFILE),
        }))
    }

    fn diff(&self, observed: Option<&UserspaceState>) -> Delta {
        let state = observed.cloned().unwrap_or(UserspaceState {
            host_loaded: None,
            host_installed: None,
            container: None,
            container_error: None,
            runfile_left: false,
        });
        diff_userspace(self, &state)
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // A clone created in this run has its parent's user space already: its own
        // `nvidia-smi` confirms it (one command, only when an install was planned).
        let target = change
            .fields
            .iter()
            .find(|field| field.field == FIELD)
            .and_then(|field| field.after.as_ref())
            .and_then(serde_json::Value::as_str);
        let Some(target) = target else {
            // Only the removal of a runfile an interrupted install left.
            return phoenix_core::resource::run_steps(&change.steps, cx).await;
        };
        let query = self.scope.command(Cmd::read(
            query_argv()[0],
            query_argv()[1..].iter().copied(),
        ));
        let output = cx.host().run(&query).await?;
        // Installed, missing (127), or one of NVML's refusals: anything else is a failure.
        if !matches!(output.status, Some(0 | 6 | 9 | 18 | 127)) {
            return Err(phoenix_core::HostError::CommandFailed {
                argv: query.to_string(),
                status: output.status,
                stderr: output.stderr.trim_end().to_owned(),
            }
            .into());
        }
        let fact = QueryFact {
            status: output.status.unwrap_or(-1),
            output: output.stdout,
        };
        if container_driver(Some(&fact)).0.as_deref() == Some(target) {
            return Ok(());
        }
        let devices = self.devices();
        for (at, step) in change.steps.iter().enumerate() {
            match (step, devices.get(at)) {
                (Step::Run { cmd }, Some(device)) => self.wait_for(cx, cmd, device).await?,
                (step, _) => {
                    phoenix_core::resource::run_steps(std::slice::from_ref(step), cx).await?
                }
            }
        }
        Ok(())
    }
}

/// The decision table of the module's description, pure.
fn diff_userspace(userspace: &Userspace, state: &UserspaceState) -> Delta {
    let vmid = userspace.vmid;
    let Some(loaded) = state.host_loaded.as_deref() else {
        return Delta::none().diagnostic(Diagnostic::warning(format!(
            "container {vmid}: the nvidia feature is deferred: the node has no NVIDIA driver loaded (its user space must match the host's driver; install the driver, reboot, and run again)"
        )));
    };
    let pending = match (&state.host_installed, &userspace.config) {
        (Some(installed), _) if installed != loaded => Some(installed.clone()),
        (_, Some((want, _))) if want != loaded => Some(want.clone()),
        _ => None,
    };
    if let Some(pending) = pending {
        return Delta::none().diagnostic(Diagnostic::warning(format!(
            "container {vmid}: the nvidia feature is deferred: the node runs NVIDIA driver {loaded} and {pending} takes over at the next boot (reboot required; Phoenix never reboots)"
        )));
    }
    if state.container.as_deref() == Some(loaded) {
        if state.runfile_left {
            return Delta::none()
                .field(FieldChange::new("runfile", Some(RUNFILE.into()), None))
                .step(Step::run(
                    userspace.scope.command(Cmd::write("rm", ["-f", RUNFILE])),
                ));
        }
        return Delta::none();
    }
    let before = state
        .container
        .clone()
        .or_else(|| state.container_error.clone())
        .unwrap_or_else(|| "none".to_owned());
    let mut delta = Delta::none().field(
        FieldChange::new(
            "user-space driver",
            Some(before.into()),
            Some(loaded.to_owned().into()),
        )
        .note("runfile --no-kernel-module"),
    );
    if let Some(other) = &state.container {
        delta = delta.diagnostic(Diagnostic::warning(format!(
            "cross-layer drift: container {vmid}'s user-space NVIDIA driver is {other}, the node's is {loaded}; it is reinstalled"
        )));
    } else if let Some(error) = &state.container_error {
        delta = delta.diagnostic(Diagnostic::warning(format!(
            "cross-layer drift: container {vmid}'s nvidia-smi fails against the node's NVIDIA driver {loaded} ({error}); its user space is reinstalled"
        )));
    }
    for step in userspace.install_steps(loaded) {
        delta = delta.step(step);
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn userspace(config: Option<&str>) -> Userspace {
        let scopes = phoenix_core::Scopes::new([]);
        let node = scopes.node();
        Userspace {
            scope: node.clone(),
            node,
            vmid: 901,
            gpus: vec![0, 1],
            config: config.map(|version| (version.to_owned(), None)),
            device_wait: DEVICE_WAIT,
        }
    }

    fn state(
        loaded: Option<&str>,
        installed: Option<&str>,
        container: Option<&str>,
    ) -> UserspaceState {
        UserspaceState {
            host_loaded: loaded.map(Into::into),
            host_installed: installed.map(Into::into),
            container: container.map(Into::into),
            container_error: None,
            runfile_left: false,
        }
    }

    /// (config, loaded, installed, container, steps, messages that must appear)
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        usize,
        &'a [&'a str],
    );

    #[test]
    fn issue_11_decisions() {
        let v = Some("580.76.05");
        let new = Some("580.95.05");
        // 4 waits (nvidiactl, uvm, two GPUs), download, run, remove.
        let install = 7;
        let cases: &[Case<'_>] = &[
            (None, v, v, v, 0, &[]),
            (None, v, v, None, install, &[]),
            (
                None,
                new,
                new,
                v,
                install,
                &["cross-layer drift", "is 580.76.05, the node's is 580.95.05"],
            ),
            (
                None,
                None,
                None,
                None,
                0,
                &["deferred: the node has no NVIDIA driver loaded"],
            ),
            (
                None,
                v,
                new,
                v,
                0,
                &["deferred", "580.95.05 takes over at the next boot"],
            ),
            (new, v, v, v, 0, &["deferred"]),
            (v, v, v, v, 0, &[]),
        ];
        for (config, loaded, installed, container, steps, messages) in cases {
            let delta =
                diff_userspace(&userspace(*config), &state(*loaded, *installed, *container));
            let text = format!("{delta:?}");
            assert_eq!(delta.steps.len(), *steps, "{text}");
            for message in *messages {
                assert!(text.contains(message), "{message}: {text}");
            }
            if *steps == 0 && messages.is_empty() {
                assert!(delta.is_empty(), "{text}");
            }
        }
        let delta = diff_userspace(&userspace(None), &state(v, v, None));
        let shown: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown[4..],
            [
                "curl -fsSL --create-dirs -o /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64.run https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run",
                "sh /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64.run --silent --no-kernel-module --no-x-check --no-nouveau-check --no-nvidia-modprobe",
                "rm -f /var/cache/phoenix/nvidia/NVIDIA-Linux-x86_64.run",
            ]
        );
        assert_eq!(shown[3], "test -e /dev/nvidia1");
    }

    #[tokio::test]
    async fn issue_11_a_device_node_that_does_not_appear_fails_naming_it() {
        use phoenix_core::Output;
        use phoenix_core::sim::FakeHost;

        let host = FakeHost::new()
            .reply(
                [
                    "nvidia-smi",
                    "--query-gpu=driver_version",
                    "--format=csv,noheader",
                ],
                Output::new(Some(127), "", "sh: 1: nvidia-smi: not found\n"),
            )
            .reply(
                ["test", "-e", "/dev/nvidiactl"],
                Output::new(Some(0), "", ""),
            )
            .reply(
                ["test", "-e", "/dev/nvidia-uvm"],
                Output::new(Some(1), "", ""),
            );
        let userspace = userspace(None).with_device_wait(Duration::ZERO);
        let delta = diff_userspace(&userspace, &state(Some("580.76.05"), None, None));
        let change = Change::decide(userspace.id(), phoenix_core::Ensure::Present, true, delta);
        let cx = Ctx::new(&host);
        let err = userspace
            .apply(&change, &cx)
            .await
            .expect_err("uvm is missing");
        assert_eq!(
            err.to_string(),
            "wait for the NVIDIA device nodes in container 901: /dev/nvidia-uvm did not appear within 0 s (is the GPU passed through, and did the node's device-node unit run?)"
        );
        let calls = host.calls();
        assert!(
            !calls.iter().any(|argv| argv[0] == "curl"),
            "nothing is downloaded: {calls:?}"
        );
    }

    #[test]
    fn issue_11_the_container_query_reads_a_version_or_why_not() {
        let fact = |status: i32, output: &str| QueryFact {
            status,
            output: output.to_owned(),
        };
        assert_eq!(container_driver(None), (None, None));
        assert_eq!(
            container_driver(Some(&fact(127, "sh: 1: nvidia-smi: not found\n"))),
            (None, None)
        );
        assert_eq!(
            container_driver(Some(&fact(0, "580.76.05\n580.76.05\n"))),
            (Some("580.76.05".into()), None)
        );
        assert_eq!(
            container_driver(Some(&fact(
                18,
                "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95\n"
            ))),
            (
                None,
                Some("Failed to initialize NVML: Driver/library version mismatch".into())
            )
        );
    }
}
