//! Emulators of the admin user's tools: `visudo -cf FILE` (sudo 1.9.13's messages, captured on
//! Debian 12) and `pveum user list|add`, `pveum acl list|modify` (pve-access-control's JSON).
//!
//! `visudo` checks user specifications (`WHO HOST=(RUNAS) [TAG:] COMMAND, ...`), comments,
//! `Defaults`, aliases and includes; the first error is reported as the real one does:
//! `FILE:LINE:COLUMN: syntax error`, the line, and a caret under the offending token. The real
//! `visudo` checks Phoenix's generated file in the test suite. `pveum` keeps its users and ACL
//! in the node's `pveum` namespace; a fresh node has `root@pam` and an empty ACL, and a node
//! whose namespace says `"missing": true` has no `pveum` at all (exit 127), as the testbed.

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use super::pve_user::AclItem;

/// `visudo`.
#[derive(Debug)]
pub(crate) struct VisudoEmulator;

impl Emulator for VisudoEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["visudo".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let [_, flag, file] = argv else {
            return SimOutput::fail(1, "phoenix sim: only `visudo -cf FILE` is emulated\n");
        };
        if flag != "-cf" {
            return SimOutput::fail(1, "phoenix sim: only `visudo -cf FILE` is emulated\n");
        }
        let Some(content) = sys.read(file).map(|f| f.content.clone()) else {
            return SimOutput::fail(
                1,
                format!("visudo: unable to open {file}: No such file or directory\n"),
            );
        };
        for (i, line) in content.lines().enumerate() {
            if let Err((column, width)) = check_line(line) {
                let caret = format!(
                    "{}^{}",
                    " ".repeat(column),
                    "~".repeat(width.saturating_sub(1))
                );
                return SimOutput::fail(
                    1,
                    format!(
                        "{file}:{}:{}: syntax error\n{line}\n{caret}\n",
                        i + 1,
                        column + 1
                    ),
                );
            }
        }
        SimOutput::ok(format!("{file}: parsed OK\n"))
    }
}

/// Characters of a sudoers word (user, host, command words, aliases).
fn is_word(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '=' | '(' | ')' | ',' | ':' | '#')
}

/// Checks one sudoers line; on error, the byte column and width of the offending token.
pub(crate) fn check_line(line: &str) -> Result<(), (usize, usize)> {
    let trimmed = line.trim_start();
    if trimmed.is_empty()
        || trimmed.starts_with('#')
        || trimmed.starts_with('@')
        || trimmed.starts_with("Defaults")
        || ["User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias"]
            .iter()
            .any(|a| trimmed.starts_with(a))
    {
        return Ok(());
    }
    let mut cursor = Cursor { line, at: 0 };
    cursor.word()?; // who
    cursor.word()?; // host
    cursor.expect('=')?;
    cursor.skip_blank();
    if cursor.peek() == Some('(') {
        cursor.at += 1;
        cursor.word_list()?;
        if cursor.peek() == Some(':') {
            cursor.at += 1;
            cursor.word_list()?;
        }
        cursor.expect(')')?;
    }
    // Tags such as NOPASSWD: before the commands.
    loop {
        cursor.skip_blank();
        let rest = &line[cursor.at..];
        let tag_len = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .count();
        if tag_len > 0 && rest[tag_len..].starts_with(':') {
            cursor.at += tag_len + 1;
        } else {
            break;
        }
    }
    // Commands: words (with arguments) separated by commas, at least one.
    loop {
        cursor.skip_blank();
        let start = cursor.at;
        while let Some(c) = cursor.peek() {
            if c == ',' || c == '#' {
                break;
            }
            cursor.at += c.len_utf8();
        }
        if line[start..cursor.at].trim().is_empty() {
            return Err(cursor.error());
        }
        match cursor.peek() {
            Some(',') => cursor.at += 1,
            _ => return Ok(()),
        }
    }
}

struct Cursor<'a> {
    line: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.line[self.at..].chars().next()
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// The error at the next token: its column and width (1 at the end of the line).
    fn error(&mut self) -> (usize, usize) {
        self.skip_blank();
        let rest = &self.line[self.at..];
        let width = match rest.chars().next() {
            None => 1,
            Some(c) if !is_word(c) => 1,
            Some(_) => rest.chars().take_while(|c| is_word(*c)).count(),
        };
        (self.at, width)
    }

    fn word(&mut self) -> Result<(), (usize, usize)> {
        self.skip_blank();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| is_word(c) || (self.at == start && c == '%'))
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error());
        }
        Ok(())
    }

    fn word_list(&mut self) -> Result<(), (usize, usize)> {
        self.word()?;
        while self.peek() == Some(',') {
            self.at += 1;
            self.word()?;
        }
        Ok(())
    }

    fn expect(&mut self, wanted: char) -> Result<(), (usize, usize)> {
        self.skip_blank();
        if self.peek() == Some(wanted) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }
}

/// `pveum`.
#[derive(Debug)]
pub(crate) struct PveumEmulator;

/// The `pveum` namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Access {
    /// Set in a state file for a node that has no `pveum` (plain Debian).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    missing: bool,
    users: Vec<String>,
    acl: Vec<AclItem>,
}

impl Default for Access {
    fn default() -> Access {
        Access {
            missing: false,
            users: vec!["root@pam".to_owned()],
            acl: Vec::new(),
        }
    }
}

/// The roles a fresh Proxmox VE 8 has built in.
const ROLES: &[&str] = &[
    "Administrator",
    "NoAccess",
    "PVEAdmin",
    "PVEAuditor",
    "PVEDatastoreAdmin",
    "PVEDatastoreUser",
    "PVEMappingAdmin",
    "PVEMappingUser",
    "PVEPoolAdmin",
    "PVEPoolUser",
    "PVESDNAdmin",
    "PVESDNUser",
    "PVESysAdmin",
    "PVETemplateUser",
    "PVEUserAdmin",
    "PVEVMAdmin",
    "PVEVMUser",
];

impl Emulator for PveumEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["pveum".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
        let mut access: Access = sys.load("pveum");
        if access.missing {
            // A node without Proxmox VE (the testbed's twin): what the probe's shell says.
            return SimOutput::fail(127, "sh: 1: pveum: not found\n");
        }
        match args[..] {
            ["user", "list", "--output-format", "json"] => {
                let items: Vec<serde_json::Value> = access
                    .users
                    .iter()
                    .map(|u| {
                        let realm = u.rsplit('@').next().unwrap_or_default();
                        serde_json::json!({"enable": 1, "expire": 0, "realm-type": realm, "userid": u})
                    })
                    .collect();
                SimOutput::ok(format!("{}\n", serde_json::Value::Array(items)))
            }
            ["acl", "list", "--output-format", "json"] => {
                // Through a `Value`, whose objects keep their keys sorted, as pveum prints them.
                let json = serde_json::to_value(&access.acl).unwrap_or_default();
                SimOutput::ok(format!("{json}\n"))
            }
            ["user", "add", userid] => {
                let realm = userid.rsplit_once('@').map(|(_, r)| r);
                if !matches!(realm, Some("pam" | "pve")) {
                    return SimOutput::fail(
                        255,
                        format!(
                            "create user failed: domain '{}' does not exist\n",
                            realm.unwrap_or_default()
                        ),
                    );
                }
                if access.users.iter().any(|u| u == userid) {
                    return SimOutput::fail(
                        255,
                        format!("create user failed: user '{userid}' already exists\n"),
                    );
                }
                access.users.push(userid.to_owned());
                access.users.sort();
                sys.store("pveum", &access);
                SimOutput::ok_mutated("")
            }
            ["acl", "modify", path, "--users", userid, "--roles", role] => {
                if !ROLES.contains(&role) {
                    return SimOutput::fail(
                        255,
                        format!(
                            "update access control list failed: role '{role}' does not exist\n"
                        ),
                    );
                }
                if !access.users.iter().any(|u| u == userid) {
                    return SimOutput::fail(
                        255,
                        format!(
                            "update access control list failed: user '{userid}' does not exist\n"
                        ),
                    );
                }
                let item = AclItem {
                    path: path.to_owned(),
                    kind: "user".to_owned(),
                    ugid: userid.to_owned(),
                    roleid: role.to_owned(),
                    propagate: 1,
                };
                if access.acl.contains(&item) {
                    return SimOutput::ok("");
                }
                access.acl.push(item);
                sys.store("pveum", &access);
                SimOutput::ok_mutated("")
            }
            _ => SimOutput::fail(
                255,
                format!("phoenix sim: `pveum {}` is not emulated\n", args.join(" ")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visudo_reports_the_first_error_as_sudo_does() {
        // Captured with visudo 1.9.13p3 on Debian 12.
        let table = [
            ("phoenix_admin ALL=(ALL:ALL) ALL", Ok(())),
            ("%sudo   ALL=(ALL:ALL) ALL", Ok(())),
            (
                "admin ALL=(ALL) NOPASSWD: /usr/bin/apt, /usr/bin/systemctl",
                Ok(()),
            ),
            ("# a comment", Ok(())),
            ("Defaults env_reset", Ok(())),
            ("phoenix_admin ALL=(ALL:ALL ALL", Err((27, 3))),
            ("foo bar", Err((7, 1))),
            ("admin ALL=", Err((10, 1))),
        ];
        for (line, expect) in table {
            assert_eq!(check_line(line), expect, "{line}");
        }
    }
}
