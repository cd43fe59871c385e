//! `pve.user`: a Proxmox VE user (`NAME@pam`) with the Administrator role at `/`.
//!
//! Observed by two queries of the node's one probe, `pveum user list --output-format json` and
//! `pveum acl list --output-format json` (the shapes of pve-access-control's `GET
//! /access/users` items, `userid` ..., and `GET /access/acl` items, `path`, `type`, `ugid`,
//! `roleid`, `propagate`); created with `pveum user add` and granted with `pveum acl modify`. On a
//! host without `pveum` (plain Debian, the testbed) it is `Unsupported`: one warning, and the
//! rest of the admin user still converges.

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange, Step};
use phoenix_core::probe::{QueryFact, ScopeFacts, observe};
use phoenix_core::{
    BoxError, Capability, Cmd, Ctx, Kind, Resource, ResourceId, Scope, Unsupported,
};
use serde::{Deserialize, Serialize};

/// The kind: `pve.user`.
pub(crate) const KIND: &str = "pve.user";

/// The role the admin user gets at `/`.
pub(crate) const ROLE: &str = "Administrator";

const USERS_QUERY: &str = "pveum.user-list";
const ACL_QUERY: &str = "pveum.acl-list";

/// One item of `pveum user list --output-format json` (the fields Phoenix reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserItem {
    pub(crate) userid: String,
}

/// One item of `pveum acl list --output-format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AclItem {
    pub(crate) path: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) ugid: String,
    pub(crate) roleid: String,
    pub(crate) propagate: u8,
}

/// A Proxmox user with the Administrator role at `/`.
#[derive(Debug, Clone)]
pub(crate) struct PveUser {
    scope: Scope,
    userid: String,
    depends_on: Vec<ResourceId>,
}

/// The user as observed (it exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PveUserState {
    /// Whether it has the Administrator role at `/`.
    pub(crate) administrator: bool,
}

impl PveUser {
    pub(crate) fn new(scope: &Scope, userid: &str) -> PveUser {
        scope.observe(|inventory| {
            let _ = inventory.query(
                USERS_QUERY,
                ["pveum", "user", "list", "--output-format", "json"],
            );
            let _ = inventory.query(
                ACL_QUERY,
                ["pveum", "acl", "list", "--output-format", "json"],
            );
        });
        PveUser {
            scope: scope.clone(),
            userid: userid.to_owned(),
            depends_on: Vec::new(),
        }
    }

    pub(crate) fn depends_on(mut self, id: ResourceId) -> PveUser {
        self.depends_on.push(id);
        self
    }

    fn pveum(&self, args: &[&str]) -> Step {
        Step::run(
            self.scope
                .command(Cmd::write("pveum", args.iter().copied())),
        )
    }

    /// The user as the probe saw it.
    pub(crate) fn state_in(&self, facts: &ScopeFacts) -> Result<Option<PveUserState>, BoxError> {
        let users: Vec<UserItem> = parse_query(facts, USERS_QUERY)?;
        let acl: Vec<AclItem> = parse_query(facts, ACL_QUERY)?;
        if !users.iter().any(|u| u.userid == self.userid) {
            return Ok(None);
        }
        Ok(Some(PveUserState {
            administrator: acl.iter().any(|a| {
                a.path == "/" && a.kind == "user" && a.ugid == self.userid && a.roleid == ROLE
            }),
        }))
    }
}

/// A `pveum ... --output-format json` query's items; a missing `pveum` is `Unsupported`.
fn parse_query<T: serde::de::DeserializeOwned>(
    facts: &ScopeFacts,
    name: &str,
) -> Result<Vec<T>, BoxError> {
    let query: &QueryFact = facts
        .queries
        .get(name)
        .ok_or_else(|| format!("the probe did not run query {name}"))?;
    if query.is_missing_program() {
        return Err(Box::new(Unsupported::missing_tool(
            "pveum",
            "the Proxmox @pam user and its Administrator ACL need pveum (Proxmox VE)",
        )));
    }
    if !query.success() {
        return Err(format!("{name} exited {}: {}", query.status, query.output.trim()).into());
    }
    Ok(serde_json::from_str(query.output.trim())
        .map_err(|e| format!("{name}: not the JSON pveum prints: {e}"))?)
}

#[async_trait]
impl Resource for PveUser {
    type State = PveUserState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.userid.clone())
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        vec![Capability::named(KIND, &self.userid)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<PveUserState>, BoxError> {
        self.state_in(&*observe(cx, &self.scope).await?)
    }

    fn diff(&self, observed: Option<&PveUserState>) -> Delta {
        if observed.is_some_and(|s| s.administrator) {
            return Delta::none();
        }
        let mut delta = Delta::none();
        if observed.is_none() {
            delta = delta.step(self.pveum(&["user", "add", &self.userid]));
        }
        delta
            .field(FieldChange::new(
                "role at /",
                observed.map(|_| "none".into()),
                Some(ROLE.into()),
            ))
            .step(self.pveum(&[
                "acl",
                "modify",
                "/",
                "--users",
                &self.userid,
                "--roles",
                ROLE,
            ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(users: (i32, &str), acl: (i32, &str)) -> ScopeFacts {
        let mut facts = ScopeFacts::default();
        for (name, (status, output)) in [(USERS_QUERY, users), (ACL_QUERY, acl)] {
            facts.queries.insert(
                name.to_owned(),
                QueryFact {
                    status,
                    output: output.to_owned(),
                },
            );
        }
        facts
    }

    #[test]
    fn issue_9_the_pam_user_and_its_acl_are_added_only_when_missing() {
        let scope = phoenix_core::Registry::builder()
            .build()
            .expect("empty")
            .scopes()
            .node();
        let user = PveUser::new(&scope, "admin@pam");
        let root = r#"[{"enable":1,"expire":0,"realm-type":"pam","userid":"root@pam"}]"#;
        let both = r#"[{"enable":1,"expire":0,"realm-type":"pam","userid":"admin@pam"},{"enable":1,"expire":0,"realm-type":"pam","userid":"root@pam"}]"#;
        let acl = r#"[{"path":"/","propagate":1,"roleid":"Administrator","type":"user","ugid":"admin@pam"}]"#;
        let other = r#"[{"path":"/vms","propagate":1,"roleid":"Administrator","type":"user","ugid":"admin@pam"}]"#;
        let steps = |f: &ScopeFacts| {
            let state = user.state_in(f).expect("parses");
            Resource::diff(&user, state.as_ref())
                .steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            steps(&facts((0, root), (0, "[]"))),
            [
                "pveum user add admin@pam",
                "pveum acl modify / --users admin@pam --roles Administrator"
            ]
        );
        assert_eq!(
            steps(&facts((0, both), (0, other))),
            ["pveum acl modify / --users admin@pam --roles Administrator"]
        );
        assert!(steps(&facts((0, both), (0, acl))).is_empty());
        let missing = user
            .state_in(&facts((127, "sh: 1: pveum: not found"), (127, "")))
            .expect_err("no pveum");
        assert!(missing.downcast_ref::<Unsupported>().is_some(), "{missing}");
    }
}
