//! Emulators of the Samba tools the provider drives: `testparm`, `smbcontrol`, `pdbedit` and
//! `smbpasswd`, printing what Samba 4.17 on Debian 12 prints (`../fixtures/*.txt`, captured
//! with the real tools, and the testbed's `host/testparm-s*.txt`).
//!
//! Their state is the node's `samba` namespace: `{"users": {"heads": {"password_sets": 1}},
//! "reloads": 0}`. No password is kept, not even a digest: `smbpasswd` only counts how often a
//! user's password was set. `smbcontrol smbd reload-config` needs `smbd.service` active in the
//! node's `systemd` namespace, as the real one needs a running smbd.

mod testparm;

use std::collections::BTreeMap;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use phoenix_core::account::{parse_lines, parse_passwd_line};

use super::user::{PASSWD, format_pdbedit_list};

/// The `samba` namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SambaState {
    /// Samba users by name.
    #[serde(default)]
    pub(crate) users: BTreeMap<String, SimUser>,
    /// How many times `smbcontrol smbd reload-config` reached smbd.
    #[serde(default)]
    pub(crate) reloads: u32,
}

/// A Samba user of the simulated passdb.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SimUser {
    /// How many times its password was set.
    #[serde(default)]
    pub(crate) password_sets: u32,
}

/// `testparm`, `smbcontrol`, `pdbedit`, `smbpasswd`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SambaEmulator;

impl Emulator for SambaEmulator {
    fn programs(&self) -> Vec<String> {
        ["testparm", "smbcontrol", "pdbedit", "smbpasswd"]
            .map(str::to_owned)
            .to_vec()
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let (program, args) = argv
            .split_first()
            .map_or(("", &[][..]), |(p, a)| (p.as_str(), a));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match (program, &args[..]) {
            ("testparm", _) => testparm::testparm(&argv[1..], sys),
            ("smbcontrol", ["smbd", "reload-config"]) => reload_config(sys),
            ("pdbedit", ["-L"]) => list_users(sys),
            ("smbpasswd", ["-s", "-a", user]) => add_user(user, stdin.unwrap_or_default(), sys),
            _ => SimOutput::fail(
                1,
                format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
            ),
        }
    }

    fn typical_latency(&self, program: &str) -> Option<std::time::Duration> {
        // testparm loads the whole parameter table and GnuTLS: about 60 ms on a real host; the
        // others talk to a tdb or a running smbd: about 20 ms.
        Some(std::time::Duration::from_millis(match program {
            "testparm" => 60,
            _ => 20,
        }))
    }
}

/// Whether the node runs smbd.
fn smbd_running(sys: &mut SimSys<'_>) -> bool {
    let systemd: serde_json::Value = sys.load("systemd");
    systemd
        .pointer("/units/smbd.service/active")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// `smbcontrol smbd reload-config` (`../fixtures/smbcontrol-reload-config.not-running.txt`).
fn reload_config(sys: &mut SimSys<'_>) -> SimOutput {
    if !smbd_running(sys) {
        return SimOutput::fail(1, "Can't find pid for destination 'smbd'\n");
    }
    let mut state: SambaState = sys.load("samba");
    state.reloads += 1;
    sys.store("samba", &state);
    SimOutput::ok_mutated("")
}

/// Linux users of the node and their uids, from its `/etc/passwd` (core's account reader; the
/// node's `getent` reads the same file).
fn unix_users(sys: &SimSys<'_>) -> BTreeMap<String, u32> {
    sys.read(PASSWD)
        .and_then(|f| parse_lines(&f.content, parse_passwd_line).ok())
        .map(|entries| entries.into_iter().map(|e| (e.name, e.uid)).collect())
        .unwrap_or_default()
}

/// `pdbedit -L` (`../fixtures/pdbedit-L*.txt`).
fn list_users(sys: &mut SimSys<'_>) -> SimOutput {
    let state: SambaState = sys.load("samba");
    let uids = unix_users(sys);
    let users: Vec<(String, u32, String)> = state
        .users
        .keys()
        .map(|name| {
            (
                name.clone(),
                uids.get(name).copied().unwrap_or(0),
                String::new(),
            )
        })
        .collect();
    SimOutput::ok(format_pdbedit_list(&users))
}

/// `smbpasswd -s -a USER` with the new password twice on standard input
/// (`../fixtures/smbpasswd-s-a*.txt`).
fn add_user(user: &str, stdin: &str, sys: &mut SimSys<'_>) -> SimOutput {
    let mut lines = stdin.lines();
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else {
        return SimOutput::fail(1, "Unable to get new password.\n");
    };
    if first != second {
        return SimOutput::fail(
            1,
            "Mismatch - password unchanged.\nUnable to get new password.\n",
        );
    }
    if !unix_users(sys).contains_key(user) {
        return SimOutput::fail(1, format!("Failed to add entry for user {user}.\n"));
    }
    let mut state: SambaState = sys.load("samba");
    let added = !state.users.contains_key(user);
    let entry = state.users.entry(user.to_owned()).or_default();
    entry.password_sets += 1;
    sys.store("samba", &state);
    SimOutput::ok_mutated(if added {
        format!("Added user {user}.\n")
    } else {
        String::new()
    })
}

#[cfg(test)]
mod tests;
