//! `samba.user`: the Samba user in the passdb (`pdbedit -L`, a query of the node's one probe),
//! with its password from a root-only file, passed on standard input and shown nowhere. The
//! Linux user it maps to must exist (core's `getent passwd` query, the one `user` shares) or be
//! created by this run (a core `user` resource provides `user:NAME`).
//!
//! How the password converges without a state file and without a hash (house style 42): Samba
//! cannot say whether a password matches without a login attempt (which puts the password on
//! the wire, logs a failure and counts toward lockout), and Phoenix keeps no digest of it. So
//! the password is set when the user is added to the passdb, and only then: the plan shows
//! `password: (sensitive)` and `smbpasswd -s -a USER` with its standard input hidden. To rotate
//! it, the operator changes the file and removes the Samba user (`pdbedit -x USER`); the next
//! apply adds it again with the file's password. A run never re-sets a password on its own, so
//! a converged host plans nothing and writes nothing.

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange};
use phoenix_core::diag::Diagnostic;
use phoenix_core::probe::{PathFact, observe};
use phoenix_core::sensitive::{Content, describe};
use phoenix_core::user::passwd_query;
use phoenix_core::{BoxError, Capability, Cmd, Ctx, Kind, Resource, ResourceId, Scope};
use serde::Serialize;

/// The kind of [`SambaUser`].
pub(crate) const KIND: &str = "samba.user";

/// The probe query that lists the passdb.
pub(crate) const PDBEDIT_QUERY: &str = "samba.pdbedit-L";

/// Where the simulated node's Linux users are (its `getent`).
#[cfg(feature = "sim")]
pub(crate) const PASSWD: &str = "/etc/passwd";

/// The Samba user of the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SambaUser {
    scope: Scope,
    user: String,
    password_file: Option<String>,
    depends_on: Vec<ResourceId>,
}

/// The user as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UserState {
    /// Whether `pdbedit -L` lists the user.
    pub(crate) in_passdb: bool,
    /// The password from the file (sensitive: shown and serialised only as its size).
    pub(crate) password: Option<Content>,
}

impl SambaUser {
    /// The Samba user `user` on the node, whose password is in `password_file`; the scope's probe
    /// reads `getent passwd USER`, the password file and `pdbedit -L`.
    pub(crate) fn new(scope: &Scope, user: &str, password_file: Option<&str>) -> SambaUser {
        scope.observe(|inventory| {
            inventory.paths.extend(password_file.map(str::to_owned));
            inventory
                .query(PDBEDIT_QUERY, ["pdbedit", "-L"])
                .expect("invariant: a constant, valid query");
            // The user name is checked at decode, so the query is valid.
            let _ = inventory.query(&passwd_query(user), ["getent", "passwd", user]);
        });
        SambaUser {
            scope: scope.clone(),
            user: user.to_owned(),
            password_file: password_file.map(str::to_owned),
            depends_on: Vec::new(),
        }
    }

    /// What a core `user` resource of this run that creates the Linux user provides.
    fn linux_user(&self) -> Capability {
        Capability::named(phoenix_core::user::KIND, &self.scope.qualify(&self.user))
    }

    /// Adds a dependency (the samba package).
    pub(crate) fn depends_on(mut self, id: ResourceId) -> SambaUser {
        self.depends_on.push(id);
        self
    }

    /// The step that adds the user with its password, twice on standard input as `smbpasswd -s`
    /// reads it.
    fn add_step(&self, password: &Content) -> Cmd {
        let stdin = password
            .reveal()
            .map(|p| Content::sensitive(format!("{p}\n{p}\n")))
            .unwrap_or_else(|| password.clone());
        self.scope
            .command(Cmd::write("smbpasswd", ["-s", "-a", self.user.as_str()]).stdin(stdin))
    }
}

/// `pdbedit -L`: one `user:uid:full name` line per Samba user.
pub(crate) fn parse_pdbedit_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_once(':').map(|(user, _)| user.to_owned()))
        .filter(|user| !user.is_empty())
        .collect()
}

/// `pdbedit -L` of `users` (name, uid, full name).
pub(crate) fn format_pdbedit_list(users: &[(String, u32, String)]) -> String {
    users
        .iter()
        .map(|(user, uid, full_name)| format!("{user}:{uid}:{full_name}\n"))
        .collect()
}

/// The password in a root-only file, or why the file is refused: it must be a regular file,
/// owned by root, mode 0600 or 0400, holding one non-empty line.
pub(crate) fn password_from(path: &str, fact: Option<&PathFact>) -> Result<Content, String> {
    let fact = fact.ok_or_else(|| format!("password file {path} does not exist"))?;
    let owner_user = fact.owner.split(':').next().unwrap_or_default();
    if !fact.is_file() || owner_user != "root" || !matches!(fact.mode, 0o600 | 0o400) {
        return Err(format!(
            "password file {path} is a {} with mode {:04o} owned by {}; expected a regular file with mode 0600 or 0400 owned by root",
            fact.file_type, fact.mode, fact.owner
        ));
    }
    let text = fact.content.as_deref().unwrap_or_default();
    let password = text.strip_suffix('\n').unwrap_or(text);
    if password.is_empty() || password.contains('\n') {
        return Err(format!(
            "password file {path} must hold the password on one line ({})",
            describe(text.len())
        ));
    }
    Ok(Content::sensitive(password))
}

#[async_trait]
impl Resource for SambaUser {
    type State = UserState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.qualify(&self.user))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn requires(&self) -> Vec<Capability> {
        vec![self.linux_user()]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<UserState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let unix_user = match facts.queries.get(&passwd_query(&self.user)) {
            Some(q) if q.success() => true,
            Some(q) if q.status == 2 => false,
            Some(q) => {
                return Err(format!(
                    "`getent passwd {}` exited with {}: {}",
                    self.user,
                    q.status,
                    q.output.trim()
                )
                .into());
            }
            None => {
                return Err(format!("the probe did not run `getent passwd {}`", self.user).into());
            }
        };
        if !unix_user && !cx.is_provided(&self.linux_user()) {
            return Err(format!(
                "Linux user {} does not exist, and nothing in this run creates it: Samba maps its users to Linux users",
                self.user
            )
            .into());
        }
        let query = facts.queries.get(PDBEDIT_QUERY);
        let samba_installed = facts
            .packages
            .get("samba")
            .is_some_and(|p| p.is_installed());
        let in_passdb = match query {
            Some(q) if q.success() => parse_pdbedit_list(&q.output).contains(&self.user),
            // No passdb tool yet: the samba package this run installs brings an empty passdb.
            Some(q) if q.is_missing_program() && !samba_installed => false,
            Some(q) => {
                return Err(
                    format!("`pdbedit -L` exited with {}: {}", q.status, q.output.trim()).into(),
                );
            }
            None => return Err("the probe did not run `pdbedit -L`".into()),
        };
        let password = match &self.password_file {
            Some(path) => Some(password_from(path, facts.paths.get(path))?),
            None => None,
        };
        Ok(Some(UserState {
            in_passdb,
            password,
        }))
    }

    fn diff(&self, observed: Option<&UserState>) -> Delta {
        let Some(state) = observed.filter(|s| !s.in_passdb) else {
            return Delta::none();
        };
        let Some(password) = &state.password else {
            return Delta::none().diagnostic(Diagnostic::warning(format!(
                "Samba user {} is not in the passdb and samba.password_file is not set: Phoenix never invents a password, so the user is left to the operator (`smbpasswd -a {}`)",
                self.user, self.user
            )));
        };
        Delta::none()
            .field(FieldChange::new(
                "samba user",
                None,
                Some(self.user.clone().into()),
            ))
            .field(FieldChange::new(
                "password",
                None,
                Some("(sensitive)".into()),
            ))
            .run(self.add_step(password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::Scopes;

    fn file(mode: u32, owner: &str, content: &str) -> PathFact {
        PathFact {
            file_type: "regular file".into(),
            mode,
            owner: owner.into(),
            content: Some(content.into()),
        }
    }

    #[test]
    fn issue_9_only_a_root_only_one_line_password_file_is_taken() {
        let path = "/root/samba.pw";
        let cases = [
            (
                Some(file(0o600, "root:root", "canary-pw\n")),
                "ok (sensitive, 9 bytes)",
            ),
            (
                Some(file(0o400, "root:root", "canary-pw")),
                "ok (sensitive, 9 bytes)",
            ),
            (
                Some(file(0o644, "root:root", "canary-pw\n")),
                "error: password file /root/samba.pw is a regular file with mode 0644 owned by root:root; expected a regular file with mode 0600 or 0400 owned by root",
            ),
            (
                Some(file(0o600, "heads:heads", "canary-pw\n")),
                "error: password file /root/samba.pw is a regular file with mode 0600 owned by heads:heads; expected a regular file with mode 0600 or 0400 owned by root",
            ),
            (
                Some(file(0o640, "root:root", "canary-pw\n")),
                "error: password file /root/samba.pw is a regular file with mode 0640 owned by root:root; expected a regular file with mode 0600 or 0400 owned by root",
            ),
            (
                Some(file(0o600, "root:root", "\n")),
                "error: password file /root/samba.pw must hold the password on one line ((sensitive, 1 bytes))",
            ),
            (
                Some(file(0o600, "root:root", "canary-a\ncanary-b\n")),
                "error: password file /root/samba.pw must hold the password on one line ((sensitive, 18 bytes))",
            ),
            (None, "error: password file /root/samba.pw does not exist"),
        ];
        for (fact, expect) in cases {
            let shown = match password_from(path, fact.as_ref()) {
                Ok(content) => format!("ok {content}"),
                Err(message) => format!("error: {message}"),
            };
            assert!(!shown.contains("canary"), "{shown}");
            assert_eq!(shown, expect);
        }
    }

    #[test]
    fn issue_9_the_user_is_added_once_with_its_password_on_stdin_and_shown_nowhere() {
        let scopes = Scopes::default();
        let user = SambaUser::new(&scopes.node(), "heads", Some("/root/samba.pw"));
        let missing = UserState {
            in_passdb: false,
            password: Some(Content::sensitive("canary-pw")),
        };
        let delta = Resource::diff(&user, Some(&missing));
        let shown = format!(
            "{}\n{}",
            serde_json::to_string(&delta).expect("json"),
            delta
                .steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(!shown.contains("canary"), "{shown}");
        assert!(!format!("{delta:?} {missing:?}").contains("canary"));
        assert_eq!(
            delta.steps[0].to_string(),
            "smbpasswd -s -a heads  # <stdin: sensitive, 20 bytes>"
        );
        let phoenix_core::Step::Run { cmd } = &delta.steps[0] else {
            panic!("a command");
        };
        assert_eq!(
            cmd.stdin_text().expect("kept"),
            Some("canary-pw\ncanary-pw\n")
        );
        let present = UserState {
            in_passdb: true,
            ..missing
        };
        assert!(Resource::diff(&user, Some(&present)).is_empty());
        let without_file = SambaUser::new(&scopes.node(), "heads", None);
        let absent = UserState {
            in_passdb: false,
            password: None,
        };
        let delta = Resource::diff(&without_file, Some(&absent));
        assert!(
            delta.is_empty() && delta.diagnostics.len() == 1,
            "{delta:?}"
        );
    }

    #[test]
    fn issue_9_pdbedit_reads_as_written() {
        let sample = phoenix_core::sim::read_fixture(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/samba/fixtures/pdbedit-L.txt"
        )))
        .expect("the sample");
        assert_eq!(parse_pdbedit_list(&sample), ["heads"]);
        assert_eq!(
            format_pdbedit_list(&[("heads".into(), 4244, String::new())]),
            sample
        );
        assert!(parse_pdbedit_list("").is_empty());
    }
}
