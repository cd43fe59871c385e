//! `gpu.cuda`: a container's CUDA toolkit, the version the config names
//! (`nvidia_driver.cuda_version`), from NVIDIA's CUDA repository (`nvidia_repo_url`), as
//! upstream installed it (`cuda-toolkit-12-8`, `../shared/spec/upstream-behavior.md` §5.3).
//!
//! Inspected through the container's probe: `dpkg-query` of the package
//! `cuda-toolkit-MAJOR-MINOR` is one of its queries, so a no-op costs no command of its own. Toolkits
//! of CUDA versions install side by side (`/usr/local/cuda-12.8`, `/usr/local/cuda-12.9`, and
//! `/usr/local/cuda` the newest): another version installed is no obstacle, the named one is
//! installed next to it.
//!
//! The install is guarded: apply asks `dpkg-query` once more (a clone created in this run has
//! its parent's toolkit), then configures the repository (its ASCII-armoured key, which apt reads
//! as an `.asc` keyring, and a `deb [signed-by=...] URL /` list), runs `apt-get update` and
//! installs the one package without recommends.

use async_trait::async_trait;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId, Scope, Step,
};
use serde::Serialize;

use crate::config::CudaSpec;

/// The kind: `gpu.cuda`.
pub const KIND: &str = "gpu.cuda";

/// The container probe's query of the toolkit's package (not the scope's package inventory,
/// whose missing packages core installs together from the archive, before this repository is
/// configured).
const QUERY: &str = "cuda-toolkit";

/// The field a change shows.
const FIELD: &str = "CUDA toolkit";

/// The repository's signing key, as NVIDIA names it in every CUDA repository.
pub const KEY_FILE: &str = "3bf863cc.pub";

/// Where the key goes: apt reads an ASCII-armoured key from a `.asc` file named by `signed-by`.
pub const KEYRING: &str = "/etc/apt/keyrings/cuda-archive-keyring.asc";

/// The repository's list.
pub const SOURCES_LIST: &str = "/etc/apt/sources.list.d/cuda.list";

/// The list's one line for repository `url`.
pub fn sources_line(url: &str) -> String {
    format!("deb [signed-by={KEYRING}] {url} /\n")
}

/// One container's CUDA toolkit.
#[derive(Debug, Clone)]
pub struct Toolkit {
    scope: Scope,
    vmid: u32,
    spec: CudaSpec,
    depends_on: Vec<ResourceId>,
}

/// What the container has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolkitState {
    /// The installed version of the named toolkit's package (`12.8.1-1`), if installed.
    pub installed: Option<String>,
}

impl Toolkit {
    /// The toolkit `spec` in container `vmid` (scope `scope`); its package is one the scope's
    /// probe asks for.
    pub fn new(scope: &Scope, vmid: u32, spec: CudaSpec) -> Toolkit {
        let package = spec.package();
        scope.observe(|inventory| {
            inventory
                .query(QUERY, phoenix_core::package::status_query(&package))
                .expect("invariant: the toolkit's query is well formed and registered alike");
        });
        Toolkit {
            scope: scope.clone(),
            vmid,
            spec,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the container's user-space driver).
    pub fn depends_on(mut self, id: ResourceId) -> Toolkit {
        self.depends_on.push(id);
        self
    }

    /// The query apply asks before installing: the package's status.
    fn status_cmd(&self) -> Cmd {
        let package = self.spec.package();
        self.scope.command(Cmd::read(
            "dpkg-query",
            ["-W", "-f=${db:Status-Abbrev}", package.as_str()],
        ))
    }

    /// The install: key, list, `apt-get update`, the package.
    fn install_steps(&self) -> Vec<Step> {
        let scoped = |cmd: Cmd| Step::run(self.scope.command(cmd));
        let key_url = format!("{}{KEY_FILE}", self.spec.repo_url);
        vec![
            scoped(Cmd::write(
                "curl",
                ["-fsSL", "--create-dirs", "-o", KEYRING, key_url.as_str()],
            )),
            scoped(
                Cmd::write(
                    "sh",
                    ["-c", phoenix_core::file::STAGE_SCRIPT, "sh", SOURCES_LIST],
                )
                .stdin(sources_line(&self.spec.repo_url)),
            ),
            scoped(Cmd::write("chmod", ["0644", SOURCES_LIST])),
            scoped(Cmd::write("apt-get", ["update"])),
            scoped(Cmd::write(
                "apt-get",
                [
                    "install",
                    "-y",
                    "--no-install-recommends",
                    self.spec.package().as_str(),
                ],
            )),
        ]
    }
}

#[async_trait]
impl Resource for Toolkit {
    type State = ToolkitState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), format!("ct:{}", self.vmid))
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
        Ok(Some(ToolkitState {
            installed: phoenix_core::package::installed_from_query(facts.queries.get(QUERY)),
        }))
    }

    fn diff(&self, observed: Option<&ToolkitState>) -> Delta {
        diff_toolkit(self, &observed.cloned().unwrap_or_default())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        // A clone made in this run has its parent's toolkit: one query, only when an install
        // was planned.
        let status = cx.host().run(&self.status_cmd()).await?;
        if status.success() && status.stdout.trim() == "ii" {
            return Ok(());
        }
        phoenix_core::resource::run_steps(&change.steps, cx).await
    }
}

/// Installed: nothing to do; otherwise the install, pure.
fn diff_toolkit(toolkit: &Toolkit, state: &ToolkitState) -> Delta {
    if state.installed.is_some() {
        return Delta::none();
    }
    let package = toolkit.spec.package();
    let mut delta = Delta::none().field(
        FieldChange::new(
            FIELD,
            None,
            Some(format!("{} ({package})", toolkit.spec.version).into()),
        )
        .note(format!("from {}", toolkit.spec.repo_url)),
    );
    for step in toolkit.install_steps() {
        delta = delta.step(step);
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_REPO_URL;

    fn toolkit(version: &str) -> Toolkit {
        let scopes = phoenix_core::Scopes::new([]);
        Toolkit {
            scope: scopes.node(),
            vmid: 901,
            spec: CudaSpec {
                version: version.into(),
                repo_url: DEFAULT_REPO_URL.into(),
            },
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn issue_11_decisions() {
        // (config's version, installed version of its package, steps)
        let cases: [(&str, Option<&str>, usize); 3] = [
            ("12.8", Some("12.8.1-1"), 0),
            ("12.8", None, 5),
            // Another version installed is not the named one's package: installed beside it.
            ("12.9", None, 5),
        ];
        for (version, installed, steps) in cases {
            let state = ToolkitState {
                installed: installed.map(Into::into),
            };
            let delta = diff_toolkit(&toolkit(version), &state);
            assert_eq!(
                delta.steps.len(),
                steps,
                "{version} {installed:?}: {delta:?}"
            );
            assert_eq!(delta.is_empty(), steps == 0);
        }
        let delta = diff_toolkit(&toolkit("12.9"), &ToolkitState::default());
        let shown: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown[0],
            "curl -fsSL --create-dirs -o /etc/apt/keyrings/cuda-archive-keyring.asc https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/3bf863cc.pub"
        );
        assert_eq!(
            shown[3..],
            [
                "apt-get update",
                "apt-get install -y --no-install-recommends cuda-toolkit-12-9"
            ]
        );
        assert_eq!(
            sources_line(DEFAULT_REPO_URL),
            "deb [signed-by=/etc/apt/keyrings/cuda-archive-keyring.asc] https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /\n"
        );
        let text = format!("{delta:?}");
        assert!(text.contains("12.9 (cuda-toolkit-12-9)"), "{text}");
    }
}
