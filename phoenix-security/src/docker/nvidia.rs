//! `docker.nvidia`: Docker's access to the GPUs in a container whose effective features list both
//! `docker` and `nvidia`: the NVIDIA Container Toolkit from NVIDIA's libnvidia-container
//! repository, `no-cgroups = true` in `/etc/nvidia-container-runtime/config.toml` (an
//! unprivileged container cannot attach device cgroup programs; Proxmox's passthrough lines
//! already allow the devices), and Docker's `nvidia` runtime in `/etc/docker/daemon.json`, with
//! Docker restarted only when that runtime was added.
//!
//! The docker feature owns this (not the nvidia feature's provider): `daemon.json` has one
//! owner, and the order against the nvidia feature's user space is kept with its capability
//! (`feature:ct:N:nvidia`), not a crate dependency (see `docker.rs`).
//!
//! Inspected through the container's probe (the package, `config.toml`, `daemon.json`), so a
//! converged container costs no command of its own. Changes use NVIDIA's own tool, as NVIDIA's
//! install guide does: `nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true`
//! and `nvidia-ctk runtime configure --runtime=docker` (which keeps `daemon.json`'s other keys).
//! The install is guarded: apply asks `dpkg-query` once more before it (a clone made in the run
//! has its parent's toolkit).

use async_trait::async_trait;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId, Scope, Step,
};
use serde::Serialize;
use serde_json::Value;

use super::engine::DAEMON_JSON;

/// The kind: `docker.nvidia`.
pub const KIND: &str = "docker.nvidia";

/// The package.
pub const PACKAGE: &str = "nvidia-container-toolkit";

/// NVIDIA's flat repository of the toolkit; apt expands `$(ARCH)`.
pub const REPOSITORY: &str = "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)";

/// The repository's ASCII-armoured signing key.
pub const KEY_URL: &str = "https://nvidia.github.io/libnvidia-container/gpgkey";

/// Where the key goes (apt reads an armoured `.asc` keyring).
pub const KEYRING: &str = "/etc/apt/keyrings/nvidia-container-toolkit.asc";

/// The repository's list.
pub const SOURCES_LIST: &str = "/etc/apt/sources.list.d/nvidia-container-toolkit.list";

/// The container probe's query of the package (not the scope's package inventory, whose
/// missing packages core installs together from the archive, before this repository exists).
const QUERY: &str = "nvidia-container-toolkit";

/// The toolkit's configuration.
pub const RUNTIME_CONFIG: &str = "/etc/nvidia-container-runtime/config.toml";

/// The list's one line.
pub fn sources_line() -> String {
    format!("deb [signed-by={KEYRING}] {REPOSITORY} /\n")
}

/// `nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true`.
pub const NO_CGROUPS_ARGV: [&str; 5] = [
    "nvidia-ctk",
    "config",
    "--in-place",
    "--set",
    "nvidia-container-cli.no-cgroups=true",
];

/// `nvidia-ctk runtime configure --runtime=docker`.
pub const RUNTIME_ARGV: [&str; 4] = ["nvidia-ctk", "runtime", "configure", "--runtime=docker"];

/// Whether `config.toml` sets `no-cgroups = true` in its `[nvidia-container-cli]` table: the
/// one reading of the file (the emulator's `nvidia-ctk` uses it too). Comments and blank lines
/// are skipped; a key counts in the table whose header came last.
pub fn no_cgroups(config: &str) -> bool {
    let mut table = "";
    for line in config.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = header.trim();
        } else if let Some((key, value)) = line.split_once('=')
            && table == "nvidia-container-cli"
            && key.trim() == "no-cgroups"
        {
            return value.trim() == "true";
        }
    }
    false
}

/// Whether `daemon.json` has Docker's `nvidia` runtime.
pub fn has_runtime(daemon_json: Option<&str>) -> bool {
    daemon_json
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .is_some_and(|config| config["runtimes"]["nvidia"]["path"].is_string())
}

/// The toolkit in one container.
#[derive(Debug, Clone)]
pub struct Toolkit {
    scope: Scope,
    vmid: u32,
    depends_on: Vec<ResourceId>,
}

/// What the container has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolkitState {
    /// Whether dpkg has the toolkit installed.
    pub installed: bool,
    /// Whether `config.toml` sets `no-cgroups = true`.
    pub no_cgroups: bool,
    /// Whether `daemon.json` has the `nvidia` runtime.
    pub runtime: bool,
}

impl Toolkit {
    /// The toolkit of container `vmid` (scope `scope`); the scope's probe learns of its package
    /// and files.
    pub fn new(scope: &Scope, vmid: u32) -> Toolkit {
        scope.observe(|inventory| {
            inventory
                .query(QUERY, phoenix_core::package::status_query(PACKAGE))
                .expect("invariant: the toolkit's query is well formed and registered alike");
            inventory.paths.insert(RUNTIME_CONFIG.to_owned());
            inventory.paths.insert(DAEMON_JSON.to_owned());
        });
        Toolkit {
            scope: scope.clone(),
            vmid,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (Docker's engine: it writes `daemon.json` first).
    pub fn depends_on(mut self, id: ResourceId) -> Toolkit {
        self.depends_on.push(id);
        self
    }

    /// The id of the toolkit of container `vmid`.
    pub fn id_for(vmid: u32) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), format!("ct:{vmid}"))
    }

    fn scoped(&self, cmd: Cmd) -> Step {
        Step::run(self.scope.command(cmd))
    }

    /// Key, list, `apt-get update`, the package.
    fn install_steps(&self) -> Vec<Step> {
        vec![
            self.scoped(Cmd::write(
                "curl",
                ["-fsSL", "--create-dirs", "-o", KEYRING, KEY_URL],
            )),
            self.scoped(
                Cmd::write(
                    "sh",
                    ["-c", phoenix_core::file::STAGE_SCRIPT, "sh", SOURCES_LIST],
                )
                .stdin(sources_line()),
            ),
            self.scoped(Cmd::write("chmod", ["0644", SOURCES_LIST])),
            self.scoped(Cmd::write("apt-get", ["update"])),
            self.scoped(Cmd::write(
                "apt-get",
                ["install", "-y", "--no-install-recommends", PACKAGE],
            )),
        ]
    }

    fn status_cmd(&self) -> Cmd {
        self.scope.command(Cmd::read(
            "dpkg-query",
            ["-W", "-f=${db:Status-Abbrev}", PACKAGE],
        ))
    }
}

#[async_trait]
impl Resource for Toolkit {
    type State = ToolkitState;

    fn id(&self) -> ResourceId {
        Toolkit::id_for(self.vmid)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn requires(&self) -> Vec<phoenix_core::Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn provides(&self) -> Vec<phoenix_core::Capability> {
        self.scope.settled().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ToolkitState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let content = |path: &str| facts.paths.get(path).and_then(|path| path.content.clone());
        Ok(Some(ToolkitState {
            installed: phoenix_core::package::installed_from_query(facts.queries.get(QUERY))
                .is_some(),
            no_cgroups: content(RUNTIME_CONFIG).is_some_and(|text| no_cgroups(&text)),
            runtime: has_runtime(content(DAEMON_JSON).as_deref()),
        }))
    }

    fn diff(&self, observed: Option<&ToolkitState>) -> Delta {
        diff_toolkit(self, &observed.cloned().unwrap_or_default())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let install = self.install_steps();
        let planned_install = change.steps.iter().any(|step| install.contains(step));
        let installed = planned_install && {
            let status = cx.host().run(&self.status_cmd()).await?;
            status.success() && status.stdout.trim() == "ii"
        };
        for step in &change.steps {
            if installed && install.contains(step) {
                continue; // A clone made in this run has its parent's toolkit.
            }
            phoenix_core::resource::run_steps(std::slice::from_ref(step), cx).await?;
        }
        Ok(())
    }
}

/// The decisions, pure: the package, `no-cgroups`, the runtime (and Docker's restart with it).
fn diff_toolkit(toolkit: &Toolkit, state: &ToolkitState) -> Delta {
    let mut delta = Delta::none();
    if !state.installed {
        delta = delta.field(
            FieldChange::new(PACKAGE, None, Some("installed".into()))
                .note(format!("from {}", REPOSITORY.replace("/$(ARCH)", ""))),
        );
        for step in toolkit.install_steps() {
            delta = delta.step(step);
        }
    }
    if !state.installed || !state.no_cgroups {
        delta = delta
            .field(
                FieldChange::new("no-cgroups", Some(false.into()), Some(true.into())).note(
                    format!(
                        "{RUNTIME_CONFIG}: an unprivileged container cannot set device cgroups"
                    ),
                ),
            )
            .step(toolkit.scoped(Cmd::write(
                NO_CGROUPS_ARGV[0],
                NO_CGROUPS_ARGV[1..].iter().copied(),
            )));
    }
    if !state.runtime {
        delta = delta
            .field(FieldChange::new(
                "docker runtime nvidia",
                None,
                Some("nvidia-container-runtime".into()),
            ))
            .step(toolkit.scoped(Cmd::write(
                RUNTIME_ARGV[0],
                RUNTIME_ARGV[1..].iter().copied(),
            )))
            .step(toolkit.scoped(Cmd::write("systemctl", ["restart", "docker.service"])))
            .disrupts(phoenix_core::Disruption::Restart {
                of: format!("docker.service in container {}", toolkit.vmid),
            });
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolkit() -> Toolkit {
        Toolkit {
            scope: phoenix_core::Scopes::new([]).node(),
            vmid: 957,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn issue_11_no_cgroups_is_read_in_its_table_only() {
        let cases: [(&str, bool); 6] = [
            ("[nvidia-container-cli]\nno-cgroups = true\n", true),
            ("[nvidia-container-cli]\n#no-cgroups = false\n", false),
            ("[nvidia-container-cli]\nno-cgroups = false\n", false),
            ("no-cgroups = true\n[nvidia-container-cli]\n", false),
            (
                "[nvidia-container-runtime]\nno-cgroups = true\n[nvidia-container-cli]\nload-kmods = true\n",
                false,
            ),
            (
                "[ nvidia-container-cli ]\n  no-cgroups=true # unprivileged\n",
                true,
            ),
        ];
        for (text, expect) in cases {
            assert_eq!(no_cgroups(text), expect, "{text}");
        }
        assert!(has_runtime(Some(
            "{\"runtimes\": {\"nvidia\": {\"args\": [], \"path\": \"nvidia-container-runtime\"}}}"
        )));
        assert!(!has_runtime(Some("{\"storage-driver\": \"overlay2\"}")));
        assert!(!has_runtime(None));
    }

    #[test]
    fn issue_11_decisions() {
        // (installed, no-cgroups, runtime, steps, restarts)
        let cases: [(bool, bool, bool, usize, bool); 4] = [
            (true, true, true, 0, false),
            (false, false, false, 5 + 1 + 2, true),
            (true, false, true, 1, false),
            (true, true, false, 2, true),
        ];
        for (installed, no_cgroups, runtime, steps, restarts) in cases {
            let state = ToolkitState {
                installed,
                no_cgroups,
                runtime,
            };
            let delta = diff_toolkit(&toolkit(), &state);
            assert_eq!(delta.steps.len(), steps, "{state:?}: {delta:?}");
            assert_eq!(
                delta.disruption != phoenix_core::Disruption::Hot,
                restarts,
                "{state:?}"
            );
            assert_eq!(delta.is_empty(), steps == 0);
        }
        let shown: Vec<String> = diff_toolkit(&toolkit(), &ToolkitState::default())
            .steps
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown[4..],
            [
                "apt-get install -y --no-install-recommends nvidia-container-toolkit",
                "nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true",
                "nvidia-ctk runtime configure --runtime=docker",
                "systemctl restart docker.service",
            ]
        );
    }
}
