//! The `package` primitive: a Debian package installed in a scope (the node or a guest).
//!
//! Every package of a scope is observed by the scope's one probe (`dpkg-query` inside it), and
//! every missing one is installed by one `apt-get update` and one `apt-get install` per scope and
//! run: each package's change shows those commands, and the first to apply runs them for all.

use async_trait::async_trait;
use serde::Serialize;

use crate::change::{Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::probe::{ScopeFacts, observe};
use crate::resource::{Capability, Ctx, Resource, run_steps};
use crate::scope::Scope;

/// The argv of a probe query that asks dpkg for one package's status and version, for a resource
/// that installs its package itself (from a repository it configures first) and so must not put
/// it in the scope's package inventory, whose missing packages core's [`Package`]s install
/// together: `dpkg-query -W -f=${db:Status-Abbrev}${Version} NAME`.
pub fn status_query(name: &str) -> [String; 4] {
    [
        "dpkg-query".to_owned(),
        "-W".to_owned(),
        "-f=${db:Status-Abbrev}${Version}".to_owned(),
        name.to_owned(),
    ]
}

/// The installed version a [`status_query`] reports (`ii 12.8.1-1`); `None` when the package is
/// not installed (`dpkg-query: no packages found matching ...`, or a status other than `ii`).
pub fn installed_from_query(query: Option<&crate::probe::QueryFact>) -> Option<String> {
    let query = query.filter(|query| query.success())?;
    let rest = query.output.trim_start().strip_prefix("ii")?;
    Some(rest.trim().to_owned())
}

/// The kind of [`Package`]: `package`.
pub const KIND: &str = "package";

/// A package that must be installed in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    scope: Scope,
    name: String,
    depends_on: Vec<ResourceId>,
}

/// A package as observed, with what else the scope lacks (they are installed together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageState {
    /// Whether dpkg has it installed (`ii`).
    pub installed: bool,
    /// The installed version, empty when not installed.
    pub version: String,
    /// Every package of the scope's inventory that is not installed, sorted.
    pub missing_in_scope: Vec<String>,
}

impl Package {
    /// Package `name` in `scope`; the scope's probe learns of it.
    pub fn new(scope: &Scope, name: impl Into<String>) -> Package {
        let name = name.into();
        scope.observe(|inventory| {
            inventory.packages.insert(name.clone());
        });
        Package {
            scope: scope.clone(),
            name,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> Package {
        self.depends_on.push(id);
        self
    }

    /// The id of package `name` in `scope`.
    pub fn id_for(scope: &Scope, name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify(name))
    }

    /// What the package looks like in a probe of its scope.
    pub fn state_in(&self, facts: &ScopeFacts) -> PackageState {
        let installed = |name: &str| facts.packages.get(name).is_some_and(|p| p.is_installed());
        PackageState {
            installed: installed(&self.name),
            version: facts
                .packages
                .get(&self.name)
                .filter(|p| p.is_installed())
                .map(|p| p.version.clone())
                .unwrap_or_default(),
            missing_in_scope: self
                .scope
                .inventory()
                .packages
                .into_iter()
                .filter(|name| !installed(name))
                .collect(),
        }
    }
}

/// The package lists are refreshed before installing: a fresh container has none, and a node's
/// may be stale. A converged scope runs neither command.
pub fn update_command(scope: &Scope) -> Cmd {
    scope.command(Cmd::write("apt-get", ["update"]).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The one command that installs `names` in `scope`.
pub fn install_command(scope: &Scope, names: &[String]) -> Cmd {
    let mut cmd = Cmd::write("apt-get", ["install", "-y", "--no-install-recommends"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    for name in names {
        cmd = cmd.arg(name.clone());
    }
    scope.command(cmd)
}

#[async_trait]
impl Resource for Package {
    type State = PackageState;

    fn id(&self) -> ResourceId {
        Package::id_for(&self.scope, &self.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![Capability::named(KIND, &self.scope.qualify(&self.name))];
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn locks(&self) -> Vec<String> {
        vec![self.scope.package_lock()]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PackageState>, BoxError> {
        Ok(Some(self.state_in(&*observe(cx, &self.scope).await?)))
    }

    fn diff(&self, observed: Option<&PackageState>) -> Delta {
        if observed.is_some_and(|s| s.installed) {
            return Delta::none();
        }
        let mut missing = observed
            .map(|s| s.missing_in_scope.clone())
            .unwrap_or_default();
        if !missing.contains(&self.name) {
            missing.push(self.name.clone());
            missing.sort();
        }
        Delta::none()
            .field(FieldChange::new(
                "installed",
                Some(false.into()),
                Some(true.into()),
            ))
            .step(Step::run(update_command(&self.scope)))
            .step(Step::run(install_command(&self.scope, &missing)))
    }

    async fn apply(&self, change: &crate::change::Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let key = format!("install packages in {}", self.scope);
        cx.once(&key, run_steps(&change.steps, cx)).await
    }
}

#[cfg(test)]
mod status_query_tests {
    use super::*;
    use crate::probe::QueryFact;

    #[test]
    fn issue_11_a_status_query_reads_installed_or_not() {
        let fact = |status: i32, output: &str| QueryFact {
            status,
            output: output.to_owned(),
        };
        let cases = [
            (Some(fact(0, "ii 12.8.1-1")), Some("12.8.1-1")),
            (
                Some(fact(
                    1,
                    "dpkg-query: no packages found matching cuda-toolkit-12-8\n",
                )),
                None,
            ),
            (Some(fact(0, "rc 1.17.8-1")), None),
            (Some(fact(0, "un ")), None),
            (None, None),
        ];
        for (query, expect) in cases {
            assert_eq!(
                installed_from_query(query.as_ref()).as_deref(),
                expect,
                "{query:?}"
            );
        }
        assert_eq!(
            status_query("x").join(" "),
            "dpkg-query -W -f=${db:Status-Abbrev}${Version} x"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::testing::{render_delta, scopes};

    fn check(package: &Package, observed: Option<&PackageState>) -> String {
        render_delta(&Resource::diff(package, observed))
    }

    fn state(installed: bool, missing: &[&str]) -> PackageState {
        PackageState {
            installed,
            version: if installed {
                "1.0".into()
            } else {
                String::new()
            },
            missing_in_scope: missing.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn missing_packages_of_a_scope_install_in_one_command() {
        let scopes = scopes();
        let node = scopes.node();
        let nginx = Package::new(&node, "nginx");
        insta::assert_snapshot!(check(&nginx, Some(&state(true, &[]))), @"");
        insta::assert_snapshot!(check(&nginx, Some(&state(false, &["nginx", "samba"]))), @r"
        installed: Some(Bool(false)) -> Some(Bool(true))
        DEBIAN_FRONTEND=<redacted> apt-get update
        DEBIAN_FRONTEND=<redacted> apt-get install -y --no-install-recommends nginx samba
        ");
        let guest = Package::new(&scopes.get("ct:101").expect("guest"), "nginx");
        insta::assert_snapshot!(check(&guest, Some(&state(false, &["nginx"]))), @r"
        installed: Some(Bool(false)) -> Some(Bool(true))
        DEBIAN_FRONTEND=<redacted> guest-exec 101 -- apt-get update
        DEBIAN_FRONTEND=<redacted> guest-exec 101 -- apt-get install -y --no-install-recommends nginx
        ");
        assert_eq!(Resource::id(&guest).to_string(), "package[ct:101:nginx]");
    }

    #[test]
    fn the_state_lists_every_missing_package_of_the_scope() {
        let scope = scopes().node();
        let nginx = Package::new(&scope, "nginx");
        let _samba = Package::new(&scope, "samba");
        let _curl = Package::new(&scope, "curl");
        let facts = crate::probe::parse_probe(
            "@packages\ncurl\tii \t7.88\nsamba\trc \t\n@units\n@paths\n@queries\n",
        )
        .expect("parses");
        assert_eq!(nginx.state_in(&facts), state(false, &["nginx", "samba"]));
    }
}
