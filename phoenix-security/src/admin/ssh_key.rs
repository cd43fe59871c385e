//! `ssh.authorized_key`: one public key present in a user's `authorized_keys` (mode 0600, owned
//! by the user), other keys kept, so a key the operator added by hand never locks them out.
//!
//! The file is observed by the scope's one probe; a missing key is appended, a wrong mode or
//! owner rewrites the same content. Public keys are not secrets, so the plan shows the file.

use std::path::PathBuf;

use async_trait::async_trait;
use phoenix_core::change::{Delta, FieldChange, Step};
use phoenix_core::directory::path_capability;
use phoenix_core::probe::observe;
use phoenix_core::{BoxError, Capability, Content, Ctx, Kind, Resource, ResourceId, Scope};
use serde::Serialize;

/// The kind: `ssh.authorized_key`.
pub(crate) const KIND: &str = "ssh.authorized_key";

/// The key types OpenSSH 9 accepts in `authorized_keys`.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

/// Checks a public key line: `TYPE BASE64 [COMMENT]`, a known type, base64 data.
pub(crate) fn check_public_key(key: &str) -> Result<(), String> {
    let mut words = key.split_whitespace();
    let (Some(kind), Some(data)) = (words.next(), words.next()) else {
        return Err(format!(
            "expected an OpenSSH public key such as \"ssh-ed25519 AAAA... user@host\", found {}",
            phoenix_core::config::excerpt(key)
        ));
    };
    let base64 = data.len() >= 16
        && data
            .trim_end_matches('=')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
    if !KEY_TYPES.contains(&kind) || !base64 {
        return Err(format!(
            "expected an OpenSSH public key (one of {}, then its base64 data), found {}",
            KEY_TYPES.join(", "),
            phoenix_core::config::excerpt(key)
        ));
    }
    Ok(())
}

/// Whether a line of `authorized_keys` holds `key` (its type and data, after any options).
fn holds(line: &str, key: &str) -> bool {
    let mut wanted = key.split_whitespace();
    let (Some(kind), Some(data)) = (wanted.next(), wanted.next()) else {
        return false;
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    !line.trim_start().starts_with('#') && words.windows(2).any(|w| w == [kind, data])
}

/// A public key in a user's `authorized_keys`.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizedKey {
    scope: Scope,
    user: String,
    path: PathBuf,
    key: String,
    owner: String,
    depends_on: Vec<ResourceId>,
}

/// The file as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct KeysState {
    pub(crate) content: String,
    pub(crate) mode: u32,
    pub(crate) owner: String,
}

impl AuthorizedKey {
    pub(crate) fn new(
        scope: &Scope,
        user: &str,
        path: PathBuf,
        key: &str,
        owner: &str,
    ) -> AuthorizedKey {
        let text = path.display().to_string();
        scope.observe(|inventory| {
            inventory.paths.insert(text);
        });
        AuthorizedKey {
            scope: scope.clone(),
            user: user.to_owned(),
            path,
            key: key.to_owned(),
            owner: owner.to_owned(),
            depends_on: Vec::new(),
        }
    }

    pub(crate) fn depends_on(mut self, id: ResourceId) -> AuthorizedKey {
        self.depends_on.push(id);
        self
    }
}

#[async_trait]
impl Resource for AuthorizedKey {
    type State = KeysState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.qualify(&self.user))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        vec![path_capability(
            &self.scope,
            &self.path.display().to_string(),
        )]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<KeysState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        match facts.paths.get(&self.path.display().to_string()) {
            None => Ok(None),
            Some(fact) => match &fact.content {
                Some(content) if fact.is_file() => Ok(Some(KeysState {
                    content: content.clone(),
                    mode: fact.mode,
                    owner: fact.owner.clone(),
                })),
                _ => Err(format!(
                    "{} is a {}, not a regular file",
                    self.path.display(),
                    fact.file_type
                )
                .into()),
            },
        }
    }

    fn diff(&self, observed: Option<&KeysState>) -> Delta {
        let content = observed.map_or("", |s| s.content.as_str());
        let present = content.lines().any(|line| holds(line, &self.key));
        let mut delta = Delta::none();
        let mut new_content = content.to_owned();
        if !present {
            if !new_content.is_empty() && !new_content.ends_with('\n') {
                new_content.push('\n');
            }
            new_content.push_str(&self.key);
            new_content.push('\n');
            delta = delta.field(FieldChange::new(
                "key",
                Some("absent".into()),
                Some(
                    self.key
                        .split_whitespace()
                        .take(1)
                        .chain(["..."])
                        .collect::<Vec<_>>()
                        .join(" ")
                        .into(),
                ),
            ));
        }
        if observed.is_some_and(|s| s.mode != 0o600) {
            delta = delta.field(FieldChange::new(
                "mode",
                observed.map(|s| format!("{:04o}", s.mode).into()),
                Some("0600".into()),
            ));
        }
        if observed.is_some_and(|s| s.owner != self.owner) {
            delta = delta.field(FieldChange::new(
                "owner",
                observed.map(|s| s.owner.clone().into()),
                Some(self.owner.clone().into()),
            ));
        }
        if delta.fields.is_empty() {
            return delta;
        }
        delta.step(Step::WriteFile {
            path: self.path.clone(),
            content: Content::plain(new_content),
            mode: 0o600,
            owner: Some(self.owner.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBob2VuaXg admin@lab";

    fn key() -> AuthorizedKey {
        let scope = phoenix_core::Registry::builder()
            .build()
            .expect("empty")
            .scopes()
            .node();
        AuthorizedKey::new(
            &scope,
            "admin",
            "/home/admin/.ssh/authorized_keys".into(),
            KEY,
            "admin:admin",
        )
    }

    fn check(observed: Option<(&str, u32, &str)>) -> String {
        let state = observed.map(|(content, mode, owner)| KeysState {
            content: content.into(),
            mode,
            owner: owner.into(),
        });
        let delta = Resource::diff(&key(), state.as_ref());
        let mut out: Vec<String> = delta
            .fields
            .iter()
            .map(|f| format!("{}: {:?} -> {:?}", f.field, f.before, f.after))
            .collect();
        for step in &delta.steps {
            if let Step::WriteFile { content, .. } = step {
                out.push(format!("{step} {:?}", content.reveal().unwrap_or_default()));
            }
        }
        out.join("\n")
    }

    #[test]
    fn issue_9_the_key_is_added_once_and_other_keys_are_kept() {
        let other = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC other@host";
        let table = [
            (None, "key: Some(String(\"absent\")) -> Some(String(\"ssh-ed25519 ...\"))\nwrite /home/admin/.ssh/authorized_keys (58 bytes, mode 0600, owner admin:admin) \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBob2VuaXg admin@lab\\n\"".to_owned()),
            (Some((format!("{KEY}\n"), 0o600, "admin:admin")), String::new()),
            // Options and another comment: the same key.
            (Some(("from=\"10.0.0.0/8\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBob2VuaXg laptop\n".to_owned(), 0o600, "admin:admin")), String::new()),
            (Some((other.to_owned(), 0o600, "admin:admin")), format!("key: Some(String(\"absent\")) -> Some(String(\"ssh-ed25519 ...\"))\nwrite /home/admin/.ssh/authorized_keys (109 bytes, mode 0600, owner admin:admin) {:?}", format!("{other}\n{KEY}\n"))),
            (Some((format!("{KEY}\n"), 0o644, "root:root")), format!("mode: Some(String(\"0644\")) -> Some(String(\"0600\"))\nowner: Some(String(\"root:root\")) -> Some(String(\"admin:admin\"))\nwrite /home/admin/.ssh/authorized_keys (58 bytes, mode 0600, owner admin:admin) {:?}", format!("{KEY}\n"))),
            // A commented-out key is not the key.
            (Some((format!("# {KEY}\n"), 0o600, "admin:admin")), format!("key: Some(String(\"absent\")) -> Some(String(\"ssh-ed25519 ...\"))\nwrite /home/admin/.ssh/authorized_keys (118 bytes, mode 0600, owner admin:admin) {:?}", format!("# {KEY}\n{KEY}\n"))),
        ];
        for (observed, expect) in table {
            let observed = observed.as_ref().map(|(c, m, o)| (c.as_str(), *m, *o));
            assert_eq!(check(observed), expect, "{observed:?}");
        }
    }

    #[test]
    fn public_keys_are_checked() {
        let table = [
            (KEY, true),
            ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC", true),
            ("ssh-ed25519", false),
            ("ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIHBob2VuaXg", false),
            ("ssh-ed25519 not-base64!", false),
        ];
        for (key, ok) in table {
            assert_eq!(check_public_key(key).is_ok(), ok, "{key}");
        }
    }
}
