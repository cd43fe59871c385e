//! `apparmor.profile`: an AppArmor profile loaded in the node's kernel.
//!
//! A profile Phoenix ships is loaded with `apparmor_parser -r` when the kernel lacks it, and
//! reloaded when its file or the tunable it includes changed in this run (a trigger, like a
//! service's reload: the plan shows it with its cause, apply runs it once, after both files,
//! and only when one of them was really written). A profile a container names but Phoenix does
//! not ship must already be loaded: otherwise the plan fails for it, and the containers that need
//! it are not touched.
//!
//! What is loaded comes from `aa-status --json`, a query of the node's one probe, so a no-op plan
//! runs no command of its own. The mode a profile is loaded in is shown, not managed: an operator
//! who put it in complain mode (`aa-complain`) keeps it so.

use async_trait::async_trait;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Capability, Change, Cmd, Ctx, Delta, Diagnostic, FieldChange, Kind, Resource,
    ResourceId, Scope, Step, Unsupported,
};
use serde::{Deserialize, Serialize};

use super::policy;
use super::status::{QUERY, QUERY_ARGV, Status, parse_status};

/// The kind: `apparmor.profile`.
pub const KIND: &str = "apparmor.profile";

/// The capability class a profile provides and a container using it requires:
/// `apparmor-profile:<name>`.
pub const CAPABILITY: &str = "apparmor-profile";

/// The package that ships `apparmor_parser` and `aa-status`.
pub const PACKAGE: &str = "apparmor";

/// A profile that must be loaded.
#[derive(Debug, Clone)]
pub struct Profile {
    name: String,
    node: Scope,
    source: Source,
}

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// Phoenix writes it: its file and the files that trigger a reload (the file itself and the
    /// tunable it includes), and where upstream's setup copied it.
    Shipped {
        path: String,
        files: Vec<ResourceId>,
        depends_on: Vec<ResourceId>,
        upstream_copy: String,
    },
    /// Someone else loads it; the containers that use it, for the message when it is not loaded.
    External { used_by: Vec<u32> },
}

/// A loaded profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileState {
    /// `enforce`, `complain`, ...
    pub mode: String,
    /// Upstream's copy of a shipped profile (`/etc/apparmor.d/<name>`), when the host still has
    /// it: the distro loads it at boot too, so the kernel may end up with either version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_copy: Option<String>,
}

impl Profile {
    /// Shipped profile `name`, written at `path` by the file resources `files` (which trigger a
    /// reload), after `depends_on` (the package).
    pub fn shipped(
        node: &Scope,
        name: &str,
        path: &str,
        files: Vec<ResourceId>,
        depends_on: Vec<ResourceId>,
    ) -> Profile {
        let upstream_copy = policy::upstream_copy_path(name);
        node.observe(|inventory| {
            inventory.paths.insert(upstream_copy.clone());
        });
        Profile::observing(
            node,
            name,
            Source::Shipped {
                path: path.to_owned(),
                files,
                depends_on,
                upstream_copy,
            },
        )
    }

    /// A profile Phoenix does not ship, which containers `used_by` need loaded.
    pub fn external(node: &Scope, name: &str, used_by: Vec<u32>) -> Profile {
        Profile::observing(node, name, Source::External { used_by })
    }

    fn observing(node: &Scope, name: &str, source: Source) -> Profile {
        node.observe(|inventory| {
            inventory.packages.insert(PACKAGE.to_owned());
            inventory
                .query(QUERY, QUERY_ARGV)
                .expect("invariant: the aa-status query is well formed and registered alike");
        });
        Profile {
            name: name.to_owned(),
            node: node.clone(),
            source,
        }
    }

    /// The id of profile `name`.
    pub fn id_for(name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), name)
    }

    /// The capability a container using profile `name` requires.
    pub fn capability(name: &str) -> Capability {
        Capability::named(CAPABILITY, name)
    }

    /// `apparmor_parser -r PATH`: replace (or add) the profiles of the file in the kernel.
    fn load(path: &str) -> Step {
        Step::run(Cmd::write("apparmor_parser", ["-r", path]))
    }

    /// What is loaded, from the probe's `aa-status --json`. A node without `aa-status` that is
    /// about to get the `apparmor` package has nothing loaded yet.
    async fn status(&self, cx: &Ctx<'_>) -> Result<Status, BoxError> {
        let facts = observe(cx, &self.node).await?;
        let query = facts
            .queries
            .get(QUERY)
            .ok_or("invariant: the probe answers the aa-status query")?;
        if query.is_missing_program() {
            let installed = facts
                .packages
                .get(PACKAGE)
                .is_some_and(|package| package.is_installed());
            if !installed && matches!(self.source, Source::Shipped { .. }) {
                return Ok(Status::default());
            }
            return Err(Box::new(Unsupported::missing_tool(
                "aa-status",
                "aa-status is not installed, so the loaded AppArmor profiles cannot be read",
            )));
        }
        Ok(parse_status(query.status, &query.output)?)
    }
}

#[async_trait]
impl Resource for Profile {
    type State = ProfileState;

    fn id(&self) -> ResourceId {
        Profile::id_for(&self.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        match &self.source {
            Source::Shipped {
                files, depends_on, ..
            } => files.iter().chain(depends_on).cloned().collect(),
            Source::External { .. } => Vec::new(),
        }
    }

    fn provides(&self) -> Vec<Capability> {
        vec![Profile::capability(&self.name)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<ProfileState>, BoxError> {
        let status = self.status(cx).await?;
        let upstream_copy = match &self.source {
            Source::Shipped { upstream_copy, .. } => {
                let facts = observe(cx, &self.node).await?;
                facts
                    .paths
                    .contains_key(upstream_copy)
                    .then(|| upstream_copy.clone())
            }
            Source::External { .. } => None,
        };
        let loaded = status.mode_of(&self.name).map(|mode| ProfileState {
            mode: mode.to_owned(),
            upstream_copy,
        });
        match (&self.source, loaded) {
            (Source::External { used_by }, None) => Err(not_loaded(&self.name, used_by).into()),
            (_, loaded) => Ok(loaded),
        }
    }

    fn diff(&self, observed: Option<&ProfileState>) -> Delta {
        match (&self.source, observed) {
            (Source::Shipped { path, .. }, None) => Delta::none()
                .field(FieldChange::new("loaded", None, Some("enforce".into())))
                .step(Profile::load(path)),
            (Source::Shipped { path, .. }, Some(state)) => match &state.upstream_copy {
                Some(copy) => Delta::none().diagnostic(Diagnostic::warning(format!(
                    "{copy} (upstream's copy of the profile) is still on the host and is loaded at boot as well as {path}, so the kernel may end up with either version; remove {copy} (Phoenix never deletes a file it does not manage)"
                ))),
                None => Delta::none(),
            },
            _ => Delta::none(),
        }
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        match &self.source {
            Source::Shipped { files, .. } => files.clone(),
            Source::External { .. } => Vec::new(),
        }
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let Source::Shipped { path, .. } = &self.source else {
            return Delta::none();
        };
        let causes: Vec<String> = by.iter().map(ToString::to_string).collect();
        Delta::none()
            .field(
                FieldChange::new("reload", None, Some(true.into()))
                    .note(format!("when changed: {}", causes.join(", "))),
            )
            .step(Profile::load(path))
    }

    /// Loads the profile once: when the kernel lacks it, or when one of its files was written in
    /// this run (a file whose validation failed stops this resource before it runs).
    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let Source::Shipped { path, files, .. } = &self.source else {
            return Ok(());
        };
        let missing = change.fields.iter().any(|field| field.field == "loaded");
        if missing || files.iter().any(|file| cx.changed(file)) {
            phoenix_core::resource::run_steps(&[Profile::load(path)], cx).await?;
        }
        Ok(())
    }
}

/// The plan error for a profile that is neither loaded nor shipped.
fn not_loaded(name: &str, used_by: &[u32]) -> String {
    let containers: Vec<String> = used_by.iter().map(u32::to_string).collect();
    format!(
        "AppArmor profile \"{name}\" (apparmor_profile of container {}) is not loaded on the node (aa-status --json) and no resource of this run provides it; Phoenix ships {}, and \"{}\" runs a container unconfined",
        containers.join(", "),
        policy::SHIPPED.join(", "),
        policy::UNCONFINED
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(delta: &Delta) -> String {
        let mut out: Vec<String> = delta
            .fields
            .iter()
            .map(|f| format!("{}: {:?} -> {:?}", f.field, f.before, f.after))
            .collect();
        out.extend(delta.steps.iter().map(ToString::to_string));
        out.join("\n")
    }

    #[test]
    fn issue_9_a_shipped_profile_loads_only_when_the_kernel_lacks_it() {
        let node = Scope::node();
        let file = ResourceId::parse("file[/etc/apparmor.d/lxc/lxc-phoenix-v2]").expect("id");
        let shipped = Profile::shipped(
            &node,
            "lxc-phoenix-v2",
            "/etc/apparmor.d/lxc/lxc-phoenix-v2",
            vec![file.clone()],
            Vec::new(),
        );
        let enforce = ProfileState {
            mode: "enforce".into(),
            upstream_copy: None,
        };
        let cases: [(&Profile, Option<&ProfileState>, &str); 3] = [
            (
                &shipped,
                None,
                "loaded: None -> Some(String(\"enforce\"))\napparmor_parser -r /etc/apparmor.d/lxc/lxc-phoenix-v2",
            ),
            (&shipped, Some(&enforce), ""),
            (
                &Profile::external(&node, "lxc-container-default", vec![101]),
                Some(&enforce),
                "",
            ),
        ];
        for (profile, observed, expect) in cases {
            assert_eq!(render(&Resource::diff(profile, observed)), expect);
        }
        // Upstream's copy beside it is a warning, and changes nothing.
        let with_copy = ProfileState {
            mode: "enforce".into(),
            upstream_copy: Some("/etc/apparmor.d/lxc-phoenix-v2".into()),
        };
        let delta = Resource::diff(&shipped, Some(&with_copy));
        assert_eq!(render(&delta), "");
        assert!(
            delta.diagnostics[0]
                .message
                .starts_with("/etc/apparmor.d/lxc-phoenix-v2 (upstream's copy of the profile) is still on the host"),
            "{:?}",
            delta.diagnostics
        );
        assert!(
            node.inventory()
                .paths
                .contains("/etc/apparmor.d/lxc-phoenix-v2")
        );
        let reload = Resource::when_triggered(&shipped, &[file]);
        assert_eq!(
            reload.fields[0].note.as_deref(),
            Some("when changed: file[/etc/apparmor.d/lxc/lxc-phoenix-v2]")
        );
        assert_eq!(
            render(&Delta::none().step(reload.steps[0].clone())),
            "apparmor_parser -r /etc/apparmor.d/lxc/lxc-phoenix-v2"
        );
        let inventory = node.inventory();
        assert_eq!(
            inventory.queries.get(QUERY).map(Vec::len),
            Some(2),
            "one query for every profile"
        );
        assert!(inventory.packages.contains(PACKAGE));
    }

    #[test]
    fn issue_9_a_profile_neither_loaded_nor_shipped_names_its_containers() {
        let message = not_loaded("lxc-nosuch", &[101, 102]);
        assert!(
            message.starts_with("AppArmor profile \"lxc-nosuch\" (apparmor_profile of container 101, 102) is not loaded on the node"),
            "{message}"
        );
        assert!(message.contains("Phoenix ships lxc-phoenix-v2"));
    }
}
