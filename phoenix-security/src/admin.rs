//! The admin user (`users`: `username`, `password_hash`, `sudo_access`, `ssh_public_key`), the
//! bash tool's `create_admin_user` done convergently, as a composition of core's primitives.
//!
//! On the node: the Linux `user` (login shell `/bin/bash`, home created, in group `sudo` when
//! `sudo_access`), its password hash set only when given (not `NOT_SET`), through `chpasswd -e`'s
//! standard input, shown nowhere; for `sudo_access` the `sudo` package and a Phoenix-owned
//! `/etc/sudoers.d/phoenix-NAME` checked by `visudo -cf` before it goes live; the key in
//! `~/.ssh/authorized_keys` (`.ssh` 0700, the file 0600, both the user's; other keys kept); and
//! on Proxmox the `NAME@pam` user with the Administrator role at `/` (`pveum`; on a host without
//! it, a warning and the rest still converges). Everything is observed by the node's one probe.
//!
//! Upstream's schema makes `users` one object; an array of such objects is taken too.

pub(crate) mod pve_user;
#[cfg(feature = "sim")]
pub(crate) mod sim;
pub(crate) mod ssh_key;

use std::path::PathBuf;

use phoenix_core::account::{check_name, check_password_hash};
use phoenix_core::config::{Claim, JsonPath, Section, kind_of};
use phoenix_core::directory::Directory;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::user::User;
use phoenix_core::{DecodeCx, Diagnostic, DynResource, Kind, Resource, Scope};
use serde::Deserialize;

/// The literal upstream writes for "do not set a password".
pub const NOT_SET: &str = "NOT_SET";

/// The kinds the admin user adds besides core's primitives.
pub(crate) fn kinds() -> Vec<Kind> {
    vec![
        Kind::from_static(ssh_key::KIND),
        Kind::from_static(pve_user::KIND),
    ]
}

/// The config key it manages.
pub(crate) fn claims() -> Vec<Claim> {
    vec![Claim::managed("users")]
}

/// One entry of `users`, as upstream writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSpec {
    username: String,
    password_hash: String,
    sudo_access: bool,
    #[serde(default)]
    ssh_public_key: Option<String>,
}

/// A validated admin user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Admin {
    pub(crate) name: String,
    /// `None` for `NOT_SET`.
    pub(crate) password_hash: Option<String>,
    pub(crate) sudo: bool,
    /// `None` when empty or absent.
    pub(crate) ssh_key: Option<String>,
}

/// Checks one entry; each problem is `(field, message)`.
fn validate(spec: AdminSpec) -> Result<Admin, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if let Err(message) = check_name(&spec.username) {
        problems.push(("username", message));
    }
    let password_hash = (spec.password_hash != NOT_SET).then_some(spec.password_hash);
    if let Some(Err(message)) = password_hash.as_deref().map(check_password_hash) {
        problems.push(("password_hash", message));
    }
    let ssh_key = spec
        .ssh_public_key
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty());
    if let Some(Err(message)) = ssh_key.as_deref().map(ssh_key::check_public_key) {
        problems.push(("ssh_public_key", message));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Admin {
        name: spec.username,
        password_hash,
        sudo: spec.sudo_access,
        ssh_key,
    })
}

/// Decodes `users` (an object, or an array of objects) into resources on the node.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    for section in sections.iter().filter(|s| s.key == "users") {
        let path = section.path();
        let entries: Vec<(JsonPath, &serde_json::Value)> = match section.value {
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (path.clone().index(i), v))
                .collect(),
            serde_json::Value::Object(_) => vec![(path.clone(), section.value)],
            other => {
                cx.report(
                    Diagnostic::error(format!(
                        "expected an object {{username, password_hash, sudo_access, ssh_public_key}} or an array of them, found {}",
                        kind_of(other)
                    ))
                    .at(section.location_of(&path)),
                );
                continue;
            }
        };
        let node = cx
            .scope("node")
            .expect("invariant: the node is always a scope");
        for (at, value) in entries {
            let Some(spec) = cx.decode::<AdminSpec>(section, &at, value) else {
                continue;
            };
            match validate(spec) {
                Ok(admin) => {
                    for resource in resources(&admin, &node) {
                        cx.add_boxed(resource);
                    }
                }
                Err(problems) => {
                    for (field, message) in problems {
                        let location = section.location_of(&at.clone().key(field));
                        cx.report(Diagnostic::error(message).at(location));
                    }
                }
            }
        }
    }
}

/// The sudoers drop-in of `name`.
pub(crate) fn sudoers_path(name: &str) -> PathBuf {
    PathBuf::from(format!("/etc/sudoers.d/phoenix-{name}"))
}

/// The sudoers drop-in's content: the user may run any command as any user, with its password.
pub(crate) fn sudoers_content(name: &str) -> String {
    format!(
        "# Managed by Phoenix (users.sudo_access): {name} may run any command as any user.\n{name} ALL=(ALL:ALL) ALL\n"
    )
}

/// The resources of one admin user, in the order they converge.
pub(crate) fn resources(admin: &Admin, node: &Scope) -> Vec<Box<dyn DynResource>> {
    let name = admin.name.as_str();
    let mut user = User::new(node, name).shell("/bin/bash").create_home(true);
    if admin.sudo {
        user = user.group("sudo");
    }
    if let Some(hash) = &admin.password_hash {
        user = user.password_hash(hash.clone());
    }
    let home = user.home_dir();
    let user_id = Resource::id(&user);
    let owner = format!("{name}:{name}");
    let mut out: Vec<Box<dyn DynResource>> = vec![Box::new(user)];
    if admin.sudo {
        let sudo = Package::new(node, "sudo");
        let sudo_id = Resource::id(&sudo);
        out.push(Box::new(sudo));
        out.push(Box::new(
            File::new(sudoers_path(name), sudoers_content(name))
                .mode(0o440)
                .owner("root:root")
                .in_scope(node)
                .validate(["visudo", "-cf", "%s"])
                .depends_on(sudo_id)
                .depends_on(user_id.clone()),
        ));
    }
    if let Some(key) = &admin.ssh_key {
        let ssh_dir = Directory::new(node, home.join(".ssh"))
            .mode(0o700)
            .owner(owner.clone())
            .depends_on(user_id.clone());
        let dir_id = Resource::id(&ssh_dir);
        out.push(Box::new(ssh_dir));
        out.push(Box::new(
            ssh_key::AuthorizedKey::new(node, name, home.join(".ssh/authorized_keys"), key, &owner)
                .depends_on(dir_id),
        ));
    }
    out.push(Box::new(
        pve_user::PveUser::new(node, &format!("{name}@pam")).depends_on(user_id),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(username: &str, hash: &str, key: Option<&str>) -> AdminSpec {
        AdminSpec {
            username: username.to_owned(),
            password_hash: hash.to_owned(),
            sudo_access: true,
            ssh_public_key: key.map(str::to_owned),
        }
    }

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBob2VuaXgtbGFiLWZha2Uta2V5LTAwMDAwMDAw admin@lab";

    /// The hash and key kept, or the fields with problems.
    type Expect = Result<(Option<&'static str>, Option<&'static str>), Vec<&'static str>>;

    #[test]
    fn issue_9_an_admin_entry_is_validated_field_by_field() {
        let table: [(AdminSpec, Expect); 6] = [
            (spec("phoenix_admin", "NOT_SET", Some("")), Ok((None, None))),
            (
                spec("phoenix_admin", "$6$salt$digest", Some(KEY)),
                Ok((Some("$6$salt$digest"), Some(KEY))),
            ),
            (spec("Phoenix", "NOT_SET", None), Err(vec!["username"])),
            (spec("admin", "hunter2", None), Err(vec!["password_hash"])),
            (
                spec("admin", "NOT_SET", Some("ssh-rsa not base64!")),
                Err(vec!["ssh_public_key"]),
            ),
            (
                spec("9admin", "plain", Some("key")),
                Err(vec!["username", "password_hash", "ssh_public_key"]),
            ),
        ];
        for (spec, expect) in table {
            let got = validate(spec);
            match (&got, &expect) {
                (Ok(admin), Ok((hash, key))) => {
                    assert_eq!(admin.password_hash.as_deref(), *hash);
                    assert_eq!(admin.ssh_key.as_deref(), *key);
                }
                (Err(problems), Err(fields)) => {
                    let got: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
                    assert_eq!(&got, fields);
                    for (_, message) in problems {
                        assert!(!message.contains("hunter2"), "{message}");
                    }
                }
                _ => panic!("{got:?} vs {expect:?}"),
            }
        }
    }

    #[test]
    fn issue_9_the_admin_user_is_composed_of_core_primitives() {
        let scopes = phoenix_core::Registry::builder()
            .build()
            .expect("empty")
            .scopes();
        let admin = Admin {
            name: "phoenix_admin".into(),
            password_hash: Some("$6$salt$digest".into()),
            sudo: true,
            ssh_key: Some(KEY.into()),
        };
        let node = scopes.node();
        let ids: Vec<String> = resources(&admin, &node)
            .iter()
            .map(|r| r.id().to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "user[phoenix_admin]",
                "package[sudo]",
                "file[/etc/sudoers.d/phoenix-phoenix_admin]",
                "directory[/home/phoenix_admin/.ssh]",
                "ssh.authorized_key[phoenix_admin]",
                "pve.user[phoenix_admin@pam]",
            ]
        );
        let plain = Admin {
            sudo: false,
            ssh_key: None,
            password_hash: None,
            ..admin
        };
        let ids: Vec<String> = resources(&plain, &node)
            .iter()
            .map(|r| r.id().to_string())
            .collect();
        assert_eq!(ids, ["user[phoenix_admin]", "pve.user[phoenix_admin@pam]"]);
    }
}
