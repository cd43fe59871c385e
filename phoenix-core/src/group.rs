//! The `group` primitive: a Unix group (name, optional gid, system flag) in a scope.
//!
//! Observed by a query of the scope's one probe (`getent group NAME`, which also serves every
//! user of the scope that should be a member); created with `groupadd`. A group that exists with
//! another gid is reported, never renumbered (files owned by the old gid would change hands).

use async_trait::async_trait;
use serde::Serialize;

use crate::account::{GroupEntry, parse_group_line, parse_lines};
use crate::change::{Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::diag::Diagnostic;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::probe::{ScopeFacts, observe};
use crate::resource::{Capability, Ctx, Resource};
use crate::scope::Scope;

/// The kind of [`Group`]: `group`.
pub const KIND: &str = "group";

/// A group that must exist in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    scope: Scope,
    name: String,
    gid: Option<u32>,
    system: bool,
    depends_on: Vec<ResourceId>,
}

/// A group as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    /// The group id.
    pub gid: u32,
    /// Its supplementary members.
    pub members: Vec<String>,
}

/// The name of the probe query that reads group `name` (`getent group NAME`).
pub fn query_name(name: &str) -> String {
    format!("getent.group.{name}")
}

/// Registers the query of group `name` with the scope's probe (any primitive that needs the
/// group's entry shares it).
pub fn observe_group(scope: &Scope, name: &str) {
    // A name the query rules refuse is not registered; inspect then says the probe did not
    // run it (the config's names are checked at decode).
    scope.observe(|inventory| {
        let _ = inventory.query(&query_name(name), ["getent", "group", name]);
    });
}

/// Group `name` as the scope's probe saw it: `None` when `getent` found none (exit 2) or the
/// scope is still to be made.
pub fn group_in(facts: &ScopeFacts, name: &str) -> Result<Option<GroupEntry>, BoxError> {
    let Some(query) = facts.query_or_absent(&query_name(name), &format!("getent group {name}"))?
    else {
        return Ok(None);
    };
    match query.status {
        0 => Ok(parse_lines(&query.output, parse_group_line)?
            .into_iter()
            .find(|g| g.name == name)),
        2 => Ok(None),
        status => Err(format!(
            "`getent group {name}` exited {status}: {}",
            query.output.trim()
        )
        .into()),
    }
}

impl Group {
    /// Group `name` in `scope`, any gid, not a system group; the scope's probe learns of it.
    pub fn new(scope: &Scope, name: impl Into<String>) -> Group {
        let name = name.into();
        observe_group(scope, &name);
        Group {
            scope: scope.clone(),
            name,
            gid: None,
            system: false,
            depends_on: Vec::new(),
        }
    }

    /// Asks for this gid.
    pub fn gid(mut self, gid: u32) -> Group {
        self.gid = Some(gid);
        self
    }

    /// Makes it a system group (`groupadd --system`: a gid below 1000).
    pub fn system(mut self, system: bool) -> Group {
        self.system = system;
        self
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> Group {
        self.depends_on.push(id);
        self
    }

    /// The id of group `name` in `scope`.
    pub fn id_for(scope: &Scope, name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify(name))
    }

    /// The capability a group provides, which users that should be members require.
    pub fn capability(scope: &Scope, name: &str) -> Capability {
        Capability::named(KIND, &scope.qualify(name))
    }

    /// `groupadd`, with `--force` when no gid is asked: a guest this run makes is observed
    /// before it exists (`ScopeFacts::to_be_made`) and its template may have the group already
    /// (Ubuntu's `render`, `video`); `--force` then exits 0 and changes nothing.
    fn groupadd(&self) -> Cmd {
        let mut cmd = Cmd::write("groupadd", [""; 0]);
        if self.gid.is_none() {
            cmd = cmd.arg("--force");
        }
        if self.system {
            cmd = cmd.arg("--system");
        }
        if let Some(gid) = self.gid {
            cmd = cmd.arg("--gid").arg(gid.to_string());
        }
        self.scope.command(cmd.arg(self.name.clone()))
    }
}

#[async_trait]
impl Resource for Group {
    type State = GroupState;

    fn id(&self) -> ResourceId {
        Group::id_for(&self.scope, &self.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![Group::capability(&self.scope, &self.name)];
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn locks(&self) -> Vec<String> {
        vec![account_lock(&self.scope)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<GroupState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(group_in(&facts, &self.name)?.map(|g| GroupState {
            gid: g.gid,
            members: g.members,
        }))
    }

    fn diff(&self, observed: Option<&GroupState>) -> Delta {
        let Some(state) = observed else {
            let mut delta = Delta::none();
            if let Some(gid) = self.gid {
                delta = delta.field(FieldChange::new("gid", None, Some(gid.into())));
            }
            return delta.step(Step::run(self.groupadd()));
        };
        match self.gid {
            Some(gid) if gid != state.gid => Delta::none().diagnostic(
                Diagnostic::error(format!(
                    "group {} in {} has gid {}, the config asks for {gid}; Phoenix does not renumber a group (files owned by gid {} would change hands): change it by hand or fix the config",
                    self.name, self.scope, state.gid, state.gid
                ))
                .for_resource(Resource::id(self)),
            ),
            _ => Delta::none(),
        }
    }
}

/// The lock domain of a scope's account database: `useradd`, `groupadd` and `usermod` take
/// `/etc/passwd`'s lock, so two of them in one scope never run at once.
pub fn account_lock(scope: &Scope) -> String {
    format!("accounts:{}", scope.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::testing::{render_delta, scopes};

    fn check(group: &Group, observed: Option<&GroupState>) -> String {
        let delta = Resource::diff(group, observed);
        let mut out = render_delta(&delta);
        for diagnostic in &delta.diagnostics {
            out.push_str(&format!("\n{diagnostic}"));
        }
        out
    }

    fn state(gid: u32) -> Option<GroupState> {
        Some(GroupState {
            gid,
            members: Vec::new(),
        })
    }

    #[test]
    fn a_group_is_created_once_and_never_renumbered() {
        let scopes = scopes();
        let node = scopes.node();
        let plain = Group::new(&node, "phoenix");
        let system = Group::new(&node, "nfsusers").system(true).gid(990);
        let guest = Group::new(&scopes.get("ct:101").expect("guest"), "www");
        let table = [
            (&plain, None, "groupadd --force phoenix"),
            (&plain, state(1001), ""),
            (
                &system,
                None,
                "gid: None -> Some(Number(990))\ngroupadd --system --gid 990 nfsusers",
            ),
            (&system, state(990), ""),
            (
                &system,
                state(994),
                "error: group[nfsusers]: group nfsusers in node has gid 994, the config asks for 990; Phoenix does not renumber a group (files owned by gid 994 would change hands): change it by hand or fix the config",
            ),
            (&guest, None, "guest-exec 101 -- groupadd --force www"),
        ];
        for (group, observed, expect) in table {
            assert_eq!(
                check(group, observed.as_ref()).trim(),
                expect,
                "{group:?} {observed:?}"
            );
        }
        assert_eq!(
            node.inventory().queries.get("getent.group.phoenix"),
            Some(&vec![
                "getent".to_owned(),
                "group".to_owned(),
                "phoenix".to_owned()
            ])
        );
    }

    #[test]
    fn a_group_is_read_from_its_query_and_missing_is_exit_2() {
        let mut facts = ScopeFacts::default();
        facts.queries.insert(
            query_name("sudo"),
            crate::probe::QueryFact {
                status: 0,
                output: "sudo:x:27:phoenix_admin".into(),
            },
        );
        facts.queries.insert(
            query_name("nosuch"),
            crate::probe::QueryFact {
                status: 2,
                output: String::new(),
            },
        );
        let sudo = group_in(&facts, "sudo").expect("ok").expect("exists");
        assert_eq!(
            (sudo.gid, sudo.members),
            (27, vec!["phoenix_admin".to_owned()])
        );
        assert_eq!(group_in(&facts, "nosuch").expect("ok"), None);
        assert!(group_in(&facts, "other").is_err(), "not queried");
    }
}
