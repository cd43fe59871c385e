//! The `user` primitive: a Unix account (name, optional uid, supplementary groups, shell, home,
//! and a password hash set only when given) in a scope.
//!
//! Observed by queries of the scope's one probe: `getent passwd NAME`, `getent group G` for each
//! group it should be in (shared with the `group` primitive), and, only when a hash is given,
//! `passwd -S NAME`, which prints the password's status (`P`, `L`, `NP`) and never the hash.
//! Created with `useradd`; what differs is fixed with `usermod`; memberships are only added
//! (`usermod --append --groups`), never taken away.
//!
//! The hash is a secret: it reaches the host only on `chpasswd -e`'s standard input (never in
//! an argv) and is shown nowhere (house style 42: not even as a hash). Phoenix cannot tell a
//! usable password from another without reading `/etc/shadow`, which it never does, so the hash
//! is set when the account is created or has no usable password (`passwd -S` says `L` or `NP`),
//! never on an account whose password works.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;

use crate::account::{PasswordStatus, parse_lines, parse_passwd_line, parse_passwd_status};
use crate::change::{Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::diag::Diagnostic;
use crate::directory::path_capability;
use crate::error::BoxError;
use crate::group::{Group, account_lock, group_in, observe_group};
use crate::id::{Kind, ResourceId};
use crate::probe::{ScopeFacts, observe};
use crate::resource::{Capability, Ctx, Resource};
use crate::scope::Scope;
use crate::sensitive::Content;

/// The kind of [`User`]: `user`.
pub const KIND: &str = "user";

/// A user account that must exist in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    scope: Scope,
    name: String,
    uid: Option<u32>,
    groups: Vec<String>,
    shell: Option<String>,
    home: Option<PathBuf>,
    create_home: bool,
    password_hash: Option<String>,
    depends_on: Vec<ResourceId>,
}

/// A user as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserState {
    /// The user id.
    pub uid: u32,
    /// The home directory.
    pub home: String,
    /// The login shell.
    pub shell: String,
    /// The groups of the config the user is already in (as a member or by its primary group).
    pub groups: Vec<String>,
    /// The password's status, observed only when the config gives a hash.
    pub password: Option<PasswordStatus>,
}

/// The name of the probe query that reads user `name` (`getent passwd NAME`).
pub fn passwd_query(name: &str) -> String {
    format!("getent.passwd.{name}")
}

/// The name of the probe query of the password status of `name` (`passwd -S NAME`).
pub fn status_query(name: &str) -> String {
    format!("passwd.status.{name}")
}

impl User {
    /// User `name` in `scope`, with the tools' defaults (Debian: uid from 1000, a group of the
    /// same name, `/home/NAME` not created, shell `/bin/sh`); the scope's probe learns of it.
    pub fn new(scope: &Scope, name: impl Into<String>) -> User {
        let name = name.into();
        // A name the query rules refuse is not registered; inspect then says the probe did not
        // run it (the config's names are checked at decode).
        scope.observe(|inventory| {
            let _ = inventory.query(&passwd_query(&name), ["getent", "passwd", name.as_str()]);
        });
        User {
            scope: scope.clone(),
            name,
            uid: None,
            groups: Vec::new(),
            shell: None,
            home: None,
            create_home: false,
            password_hash: None,
            depends_on: Vec::new(),
        }
    }

    /// Asks for this uid (at creation; an existing account with another uid is an error).
    pub fn uid(mut self, uid: u32) -> User {
        self.uid = Some(uid);
        self
    }

    /// Adds a supplementary group; its entry is read by the scope's probe.
    pub fn group(mut self, group: impl Into<String>) -> User {
        let group = group.into();
        observe_group(&self.scope, &group);
        if !self.groups.contains(&group) {
            self.groups.push(group);
        }
        self
    }

    /// Sets the login shell.
    pub fn shell(mut self, shell: impl Into<String>) -> User {
        self.shell = Some(shell.into());
        self
    }

    /// Sets the home directory.
    pub fn home(mut self, home: impl Into<PathBuf>) -> User {
        self.home = Some(home.into());
        self
    }

    /// Creates the home directory with the account (`useradd --create-home`).
    pub fn create_home(mut self, create: bool) -> User {
        self.create_home = create;
        self
    }

    /// Sets the password from a crypt(3) hash (a secret; see the module documentation). The
    /// scope's probe then reads the password's status, never the hash.
    pub fn password_hash(mut self, hash: impl Into<String>) -> User {
        self.scope.observe(|inventory| {
            let _ = inventory.query(
                &status_query(&self.name),
                ["passwd", "-S", self.name.as_str()],
            );
        });
        self.password_hash = Some(hash.into());
        self
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, id: ResourceId) -> User {
        self.depends_on.push(id);
        self
    }

    /// The id of user `name` in `scope`.
    pub fn id_for(scope: &Scope, name: &str) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), scope.qualify(name))
    }

    /// The home directory the account gets: the configured one, else `/home/NAME`.
    pub fn home_dir(&self) -> PathBuf {
        self.home
            .clone()
            .unwrap_or_else(|| Path::new("/home").join(&self.name))
    }

    /// The user as the scope's probe saw it; `None` when `getent` found no such user (exit 2) or
    /// the scope is still to be made.
    pub fn state_in(&self, facts: &ScopeFacts) -> Result<Option<UserState>, BoxError> {
        let Some(query) = facts.query_or_absent(
            &passwd_query(&self.name),
            &format!("getent passwd {}", self.name),
        )?
        else {
            return Ok(None);
        };
        let entry = match query.status {
            0 => parse_lines(&query.output, parse_passwd_line)?
                .into_iter()
                .find(|u| u.name == self.name),
            2 => None,
            status => {
                return Err(format!(
                    "`getent passwd {}` exited {status}: {}",
                    self.name,
                    query.output.trim()
                )
                .into());
            }
        };
        let Some(entry) = entry else {
            return Ok(None);
        };
        let mut groups = Vec::new();
        for group in &self.groups {
            if group_in(facts, group)?
                .is_some_and(|g| g.gid == entry.gid || g.members.contains(&self.name))
            {
                groups.push(group.clone());
            }
        }
        let password = match &self.password_hash {
            None => None,
            Some(_) => {
                let query = facts
                    .queries
                    .get(&status_query(&self.name))
                    .ok_or_else(|| format!("the probe did not run `passwd -S {}`", self.name))?;
                if !query.success() {
                    return Err(format!(
                        "`passwd -S {}` exited {}: {}",
                        self.name,
                        query.status,
                        query.output.trim()
                    )
                    .into());
                }
                Some(parse_passwd_status(&query.output)?)
            }
        };
        Ok(Some(UserState {
            uid: entry.uid,
            home: entry.home,
            shell: entry.shell,
            groups,
            password,
        }))
    }

    fn useradd(&self) -> Cmd {
        let mut cmd = Cmd::write("useradd", [""; 0]);
        if let Some(uid) = self.uid {
            cmd = cmd.arg("--uid").arg(uid.to_string());
        }
        if let Some(home) = &self.home {
            cmd = cmd.arg("--home-dir").arg(home.display().to_string());
        }
        if self.create_home {
            cmd = cmd.arg("--create-home");
        }
        if let Some(shell) = &self.shell {
            cmd = cmd.arg("--shell").arg(shell.clone());
        }
        if !self.groups.is_empty() {
            cmd = cmd.arg("--groups").arg(self.groups.join(","));
        }
        self.scope.command(cmd.arg(self.name.clone()))
    }

    fn usermod(&self, args: &[&str]) -> Step {
        let cmd = Cmd::write("usermod", args.iter().copied()).arg(self.name.clone());
        Step::run(self.scope.command(cmd))
    }

    /// `chpasswd -e` with `NAME:HASH` on its standard input, marked sensitive.
    fn chpasswd(&self, hash: &str) -> Step {
        let line = Content::sensitive(format!("{}:{hash}\n", self.name));
        Step::run(
            self.scope
                .command(Cmd::write("chpasswd", ["-e"]).stdin(line)),
        )
    }

    /// The password field and step, when a hash is given and the account has no usable one.
    fn password_delta(&self, observed: Option<&UserState>, delta: Delta) -> Delta {
        let Some(hash) = &self.password_hash else {
            return delta;
        };
        let before = observed.and_then(|s| s.password);
        if before == Some(PasswordStatus::Usable) {
            return delta;
        }
        delta
            .field(
                FieldChange::new(
                    "password",
                    before.map(|s| s.field().into()),
                    Some(crate::sensitive::describe(hash.len()).into()),
                )
                .note("the hash is set through chpasswd -e's standard input"),
            )
            .step(self.chpasswd(hash))
    }

    /// What differs on an existing account, with the `usermod` steps that fix it.
    fn update_delta(&self, state: &UserState) -> Delta {
        let mut delta = Delta::none();
        if let Some(uid) = self.uid
            && uid != state.uid
        {
            delta = delta.diagnostic(
                Diagnostic::error(format!(
                    "user {} in {} has uid {}, the config asks for {uid}; Phoenix does not renumber an account (its files would change hands): change it by hand or fix the config",
                    self.name, self.scope, state.uid
                ))
                .for_resource(Resource::id(self)),
            );
        }
        if let Some(shell) = &self.shell
            && *shell != state.shell
        {
            delta = delta
                .field(FieldChange::new(
                    "shell",
                    Some(state.shell.clone().into()),
                    Some(shell.clone().into()),
                ))
                .step(self.usermod(&["--shell", shell]));
        }
        if let Some(home) = &self.home {
            let home = home.display().to_string();
            if home != state.home {
                delta = delta
                    .field(
                        FieldChange::new(
                            "home",
                            Some(state.home.clone().into()),
                            Some(home.clone().into()),
                        )
                        .note("the old home directory is not moved"),
                    )
                    .step(self.usermod(&["--home", &home]));
            }
        }
        let missing: Vec<&String> = self
            .groups
            .iter()
            .filter(|g| !state.groups.contains(g))
            .collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|g| g.as_str()).collect();
            delta = delta
                .field(FieldChange::new(
                    "groups",
                    Some(serde_json::json!(state.groups)),
                    Some(serde_json::json!(self.groups)),
                ))
                .step(self.usermod(&["--append", "--groups", &list.join(",")]));
        }
        delta
    }
}

#[async_trait]
impl Resource for User {
    type State = UserState;

    fn id(&self) -> ResourceId {
        User::id_for(&self.scope, &self.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        let mut provides = vec![Capability::named(KIND, &self.scope.qualify(&self.name))];
        if self.create_home {
            provides.push(path_capability(
                &self.scope,
                &self.home_dir().display().to_string(),
            ));
        }
        provides.extend(self.scope.settled());
        provides
    }

    fn requires(&self) -> Vec<Capability> {
        let mut requires: Vec<Capability> = self.scope.ready().into_iter().collect();
        requires.extend(
            self.groups
                .iter()
                .map(|g| Group::capability(&self.scope, g)),
        );
        requires
    }

    fn locks(&self) -> Vec<String> {
        vec![account_lock(&self.scope)]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<UserState>, BoxError> {
        self.state_in(&*observe(cx, &self.scope).await?)
    }

    fn diff(&self, observed: Option<&UserState>) -> Delta {
        match observed {
            Some(state) => {
                let delta = self.update_delta(state);
                self.password_delta(Some(state), delta)
            }
            None => {
                let mut delta = Delta::none();
                if let Some(shell) = &self.shell {
                    delta =
                        delta.field(FieldChange::new("shell", None, Some(shell.clone().into())));
                }
                if !self.groups.is_empty() {
                    delta = delta.field(FieldChange::new(
                        "groups",
                        None,
                        Some(serde_json::json!(self.groups)),
                    ));
                }
                let delta = delta.step(Step::run(self.useradd()));
                self.password_delta(None, delta)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::QueryFact;
    use crate::scope::testing::{render_delta, scopes};

    fn check(user: &User, observed: Option<&UserState>) -> String {
        let delta = Resource::diff(user, observed);
        let mut out = render_delta(&delta);
        for diagnostic in &delta.diagnostics {
            out.push_str(&format!("\n{diagnostic}"));
        }
        out
    }

    const HASH: &str = "$6$canarysalt$canary-digest-0123456789";

    fn state(groups: &[&str], password: Option<PasswordStatus>) -> UserState {
        UserState {
            uid: 1001,
            home: "/home/admin".into(),
            shell: "/bin/bash".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            password,
        }
    }

    #[test]
    fn a_user_is_created_then_only_what_differs_is_fixed() {
        let scopes = scopes();
        let admin = User::new(&scopes.node(), "admin")
            .shell("/bin/bash")
            .create_home(true)
            .group("sudo")
            .group("users")
            .password_hash(HASH);
        let bare = User::new(&scopes.node(), "svc").uid(990);
        let guest = User::new(&scopes.get("ct:101").expect("guest"), "www").shell("/bin/sh");
        let usable = Some(PasswordStatus::Usable);
        let table: [(&User, Option<UserState>, &str); 8] = [
            (
                &admin,
                None,
                "shell: None -> Some(String(\"/bin/bash\"))\ngroups: None -> Some(Array [String(\"sudo\"), String(\"users\")])\npassword: None -> Some(String(\"(sensitive, 38 bytes)\"))\nuseradd --create-home --shell /bin/bash --groups sudo,users admin\nchpasswd -e  # <stdin: sensitive, 45 bytes>",
            ),
            (&admin, Some(state(&["sudo", "users"], usable)), ""),
            (
                &admin,
                Some(state(&["users"], usable)),
                "groups: Some(Array [String(\"users\")]) -> Some(Array [String(\"sudo\"), String(\"users\")])\nusermod --append --groups sudo admin",
            ),
            (
                &admin,
                Some(state(&["sudo", "users"], Some(PasswordStatus::Locked))),
                "password: Some(String(\"L\")) -> Some(String(\"(sensitive, 38 bytes)\"))\nchpasswd -e  # <stdin: sensitive, 45 bytes>",
            ),
            (
                &admin,
                Some(UserState {
                    shell: "/bin/sh".into(),
                    ..state(&["sudo", "users"], usable)
                }),
                "shell: Some(String(\"/bin/sh\")) -> Some(String(\"/bin/bash\"))\nusermod --shell /bin/bash admin",
            ),
            (&bare, None, "useradd --uid 990 svc"),
            (
                &bare,
                Some(state(&[], None)),
                "error: user[svc]: user svc in node has uid 1001, the config asks for 990; Phoenix does not renumber an account (its files would change hands): change it by hand or fix the config",
            ),
            (
                &guest,
                None,
                "shell: None -> Some(String(\"/bin/sh\"))\nguest-exec 101 -- useradd --shell /bin/sh www",
            ),
        ];
        for (user, observed, expect) in table {
            assert_eq!(
                check(user, observed.as_ref()).trim(),
                expect,
                "{observed:?}"
            );
        }
    }

    #[test]
    fn issue_9_the_hash_goes_on_stdin_and_is_shown_nowhere() {
        let scopes = scopes();
        let admin = User::new(&scopes.node(), "admin").password_hash(HASH);
        let delta = Resource::diff(&admin, None);
        let shown = format!(
            "{} {} {:?}",
            serde_json::to_string(&delta).expect("json"),
            render_delta(&delta),
            delta
        );
        assert!(!shown.contains("canary"), "{shown}");
        let Step::Run { cmd } = &delta.steps[1] else {
            panic!("expected chpasswd");
        };
        assert_eq!(cmd.argv(), ["chpasswd", "-e"]);
        let stdin = cmd.stdin.as_ref().expect("stdin");
        assert!(stdin.is_sensitive());
        assert_eq!(stdin.reveal(), Some(format!("admin:{HASH}\n").as_str()));
    }

    #[test]
    fn a_user_is_read_from_the_probe_queries() {
        let scope = scopes().node();
        let admin = User::new(&scope, "admin")
            .group("sudo")
            .group("admin")
            .group("users")
            .password_hash(HASH);
        let inventory = scope.inventory();
        assert_eq!(
            inventory.queries.keys().collect::<Vec<_>>(),
            [
                "getent.group.admin",
                "getent.group.sudo",
                "getent.group.users",
                "getent.passwd.admin",
                "passwd.status.admin"
            ]
        );
        let mut facts = ScopeFacts::default();
        fn answer(facts: &mut ScopeFacts, name: String, status: i32, output: &str) {
            facts.queries.insert(
                name,
                QueryFact {
                    status,
                    output: output.to_owned(),
                },
            );
        }
        answer(&mut facts, passwd_query("admin"), 2, "");
        answer(
            &mut facts,
            crate::group::query_name("sudo"),
            0,
            "sudo:x:27:",
        );
        answer(
            &mut facts,
            crate::group::query_name("admin"),
            0,
            "admin:x:1001:",
        );
        answer(&mut facts, crate::group::query_name("users"), 2, "");
        answer(
            &mut facts,
            status_query("admin"),
            1,
            "passwd: user 'admin' does not exist",
        );
        assert_eq!(admin.state_in(&facts).expect("ok"), None);
        answer(
            &mut facts,
            passwd_query("admin"),
            0,
            "admin:x:1001:1001::/home/admin:/bin/bash",
        );
        answer(
            &mut facts,
            crate::group::query_name("sudo"),
            0,
            "sudo:x:27:other,admin",
        );
        answer(
            &mut facts,
            status_query("admin"),
            0,
            "admin L 2026-12-05 0 99999 7 -1",
        );
        let observed = admin.state_in(&facts).expect("ok").expect("exists");
        // sudo as a member, admin as its primary group, users missing.
        assert_eq!(observed.groups, ["sudo", "admin"]);
        assert_eq!(observed.password, Some(PasswordStatus::Locked));
        answer(&mut facts, passwd_query("admin"), 1, "getent: weird");
        assert!(admin.state_in(&facts).is_err());
    }

    /// A guest still to be made has no users and no groups; a probe that left the query out is
    /// an error.
    #[test]
    fn issue_12_a_guest_still_to_be_made_has_no_user_and_a_missing_query_is_an_error() {
        let scope = scopes().node();
        let ollama = User::new(&scope, "ollama").group("render");
        let empty = ScopeFacts {
            to_be_made: true,
            ..ScopeFacts::default()
        };
        assert_eq!(ollama.state_in(&empty).expect("ok"), None);
        assert_eq!(crate::group::group_in(&empty, "render").expect("ok"), None);
        let probed = ScopeFacts::default();
        let err = ollama.state_in(&probed).expect_err("no query").to_string();
        assert_eq!(err, "the probe did not run `getent passwd ollama`");
        assert!(crate::group::group_in(&probed, "render").is_err());
    }
}
