//! The account database formats: `/etc/passwd` and `/etc/group` lines (what `getent passwd` and
//! `getent group` print), `passwd -S` status lines, and the name rules of Debian's `useradd`.
//!
//! One reader and one writer per format, used by the `user` and `group` primitives and by the
//! simulated node's emulators, so the simulator cannot agree with a wrong primitive.

use serde::{Deserialize, Serialize};

use crate::parse::ParseError;

/// One `/etc/passwd` line: `name:x:uid:gid:gecos:home:shell`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswdEntry {
    /// The login name.
    pub name: String,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The comment field (full name).
    pub gecos: String,
    /// The home directory.
    pub home: String,
    /// The login shell.
    pub shell: String,
}

/// One `/etc/group` line: `name:x:gid:member,member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntry {
    /// The group name.
    pub name: String,
    /// The group id.
    pub gid: u32,
    /// Its supplementary members, in file order.
    pub members: Vec<String>,
}

/// Reads one passwd line.
pub fn parse_passwd_line(line: &str) -> Result<PasswdEntry, ParseError> {
    let fields: Vec<&str> = line.split(':').collect();
    let [name, _password, uid, gid, gecos, home, shell] = fields[..] else {
        return Err(ParseError::new(
            1,
            format!("expected 7 ':'-separated passwd fields: {line:?}"),
        ));
    };
    Ok(PasswdEntry {
        name: name.to_owned(),
        uid: number(uid, "uid", line)?,
        gid: number(gid, "gid", line)?,
        gecos: gecos.to_owned(),
        home: home.to_owned(),
        shell: shell.to_owned(),
    })
}

/// Writes one passwd line (without its newline), as `getent passwd` prints it.
pub fn format_passwd_line(entry: &PasswdEntry) -> String {
    format!(
        "{}:x:{}:{}:{}:{}:{}",
        entry.name, entry.uid, entry.gid, entry.gecos, entry.home, entry.shell
    )
}

/// Reads one group line.
pub fn parse_group_line(line: &str) -> Result<GroupEntry, ParseError> {
    let fields: Vec<&str> = line.split(':').collect();
    let [name, _password, gid, members] = fields[..] else {
        return Err(ParseError::new(
            1,
            format!("expected 4 ':'-separated group fields: {line:?}"),
        ));
    };
    Ok(GroupEntry {
        name: name.to_owned(),
        gid: number(gid, "gid", line)?,
        members: members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Writes one group line (without its newline), as `getent group` prints it.
pub fn format_group_line(entry: &GroupEntry) -> String {
    format!("{}:x:{}:{}", entry.name, entry.gid, entry.members.join(","))
}

/// Reads every line of a `getent` answer (or of the file), skipping blank lines.
pub fn parse_lines<T>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| parse(line).map_err(|e| ParseError::new(i + 1, e.reason)))
        .collect()
}

/// The password state `passwd -S NAME` reports (its second field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordStatus {
    /// `P`: a usable password.
    Usable,
    /// `L`: locked (a `!` hash, as `useradd` leaves a new account).
    Locked,
    /// `NP`: no password at all.
    None,
}

impl PasswordStatus {
    /// The field as `passwd -S` prints it.
    pub fn field(self) -> &'static str {
        match self {
            PasswordStatus::Usable => "P",
            PasswordStatus::Locked => "L",
            PasswordStatus::None => "NP",
        }
    }

    /// The status of a shadow password field: empty is none, `!` or `*` first is locked.
    pub fn of_shadow_field(field: &str) -> PasswordStatus {
        if field.is_empty() {
            PasswordStatus::None
        } else if field.starts_with('!') || field.starts_with('*') {
            PasswordStatus::Locked
        } else {
            PasswordStatus::Usable
        }
    }
}

/// Reads `passwd -S` output: `NAME STATUS DATE MIN MAX WARN INACTIVE`; only the status is kept
/// (the line carries no hash).
pub fn parse_passwd_status(text: &str) -> Result<PasswordStatus, ParseError> {
    let line = text.lines().next().unwrap_or_default();
    match line.split_whitespace().nth(1) {
        Some("P") => Ok(PasswordStatus::Usable),
        Some("L") => Ok(PasswordStatus::Locked),
        Some("NP") => Ok(PasswordStatus::None),
        _ => Err(ParseError::new(
            1,
            format!("expected `NAME P|L|NP DATE ...` from passwd -S, found {line:?}"),
        )),
    }
}

fn number(field: &str, what: &str, line: &str) -> Result<u32, ParseError> {
    field
        .parse()
        .map_err(|_| ParseError::new(1, format!("bad {what} {field:?} in {line:?}")))
}

/// Checks a user or group name against Debian's default `NAME_REGEX` (`^[a-z_][-a-z0-9_]*$`,
/// at most 32 characters), which `useradd` and `groupadd` enforce.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'));
    if !first_ok || !rest_ok || name.len() > 32 {
        return Err(format!(
            "expected a name of 1 to 32 lowercase letters, digits, '-' or '_', not starting with a digit or '-' (Debian's useradd rule), found {}",
            crate::config::excerpt(name)
        ));
    }
    Ok(())
}

/// Checks an absolute path for a home directory or a shell: it goes into `/etc/passwd`, whose
/// fields are separated by `:`.
pub fn check_passwd_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.contains(':') || path.chars().any(char::is_whitespace) {
        return Err(format!(
            "expected an absolute path without ':' or whitespace, found {}",
            crate::config::excerpt(path)
        ));
    }
    Ok(())
}

/// Checks a crypt(3) hash for `chpasswd -e`: `$id$[rounds=N$]salt$digest` of the shapes
/// glibc and libxcrypt accept (`$1$`, `$5$`, `$6$`, `$y$`, `$2b$`, ...), one line, no `:`.
pub fn check_password_hash(hash: &str) -> Result<(), String> {
    let printable = hash.chars().all(|c| c.is_ascii_graphic() && c != ':');
    let parts: Vec<&str> = hash.split('$').collect();
    let shaped = parts.len() >= 4
        && parts[0].is_empty()
        && !parts[1].is_empty()
        && parts[1..].iter().all(|p| !p.is_empty());
    if !printable || !shaped {
        // The value is a secret: describe it, never quote it.
        return Err(format!(
            "expected a crypt(3) hash such as \"$6$SALT$DIGEST\" (from `mkpasswd -m sha-512` or `openssl passwd -6`), or \"NOT_SET\"; found {}",
            crate::sensitive::describe(hash.len())
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lines_read_back_what_is_written() {
        // Lines as `getent` printed them on Debian 12.
        let user = parse_passwd_line("phxuser:x:1001:4243::/home/phxuser:/bin/bash").expect("ok");
        assert_eq!(
            (user.uid, user.gid, user.shell.as_str()),
            (1001, 4243, "/bin/bash")
        );
        assert_eq!(
            format_passwd_line(&user),
            "phxuser:x:1001:4243::/home/phxuser:/bin/bash"
        );
        let group = parse_group_line("sudo:x:27:phxuser,alice").expect("ok");
        assert_eq!(group.members, ["phxuser", "alice"]);
        assert_eq!(format_group_line(&group), "sudo:x:27:phxuser,alice");
        let empty = parse_group_line("phxsys:x:994:").expect("ok");
        assert!(empty.members.is_empty());
        assert!(parse_group_line("sudo:x:27").is_err());
        assert!(parse_passwd_line("root:x:zero:0::/root:/bin/bash").is_err());
        let two = parse_lines("sudo:x:27:\nroot:x:0:\n", parse_group_line).expect("ok");
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn passwd_status_keeps_only_the_status() {
        let table = [
            (
                "phxuser P 2026-12-05 0 99999 7 -1\n",
                Ok(PasswordStatus::Usable),
            ),
            (
                "phxuser L 2026-12-05 0 99999 7 -1",
                Ok(PasswordStatus::Locked),
            ),
            ("x NP 2026-12-05 0 99999 7 -1", Ok(PasswordStatus::None)),
            ("passwd: user 'nosuch' does not exist", Err(())),
        ];
        for (text, expect) in table {
            assert_eq!(parse_passwd_status(text).map_err(|_| ()), expect, "{text}");
        }
        assert_eq!(PasswordStatus::of_shadow_field("!"), PasswordStatus::Locked);
        assert_eq!(PasswordStatus::of_shadow_field(""), PasswordStatus::None);
        assert_eq!(
            PasswordStatus::of_shadow_field("$6$a$b"),
            PasswordStatus::Usable
        );
    }

    #[test]
    fn names_paths_and_hashes_follow_the_tools_rules() {
        let names = [
            ("phoenix_admin", true),
            ("_apt", true),
            ("a-b9", true),
            ("Admin", false),
            ("9lives", false),
            ("-x", false),
            ("", false),
            ("a:b", false),
            ("a b", false),
            (&"a".repeat(33), false),
        ];
        for (name, ok) in names {
            assert_eq!(check_name(name).is_ok(), ok, "{name}");
        }
        assert!(check_passwd_path("/bin/bash").is_ok());
        assert!(check_passwd_path("bin/bash").is_err());
        assert!(check_passwd_path("/home/a:b").is_err());
        let hashes = [
            ("$6$abcdefgh$0123456789abcdef", true),
            ("$y$j9T$salt$digest", true),
            ("$6$rounds=5000$salt$digest", true),
            ("hunter2", false),
            ("$6$salt", false),
            ("$6$$digest", false),
            ("$6$sa:lt$digest", false),
            ("$6$salt$dig est", false),
        ];
        for (hash, ok) in hashes {
            let result = check_password_hash(hash);
            assert_eq!(result.is_ok(), ok, "{hash}");
            if let Err(message) = result {
                assert!(
                    !message.contains(hash),
                    "the hash is never quoted: {message}"
                );
            }
        }
    }
}
