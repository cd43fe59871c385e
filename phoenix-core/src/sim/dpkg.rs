//! Debian packaging on the node: `dpkg-query -W` and `apt-get install -y`.
//!
//! `dpkg-query -W [-f FORMAT] [--] [PACKAGE...]` (dpkg 1.21, Debian 12): one formatted entry per
//! installed package that matches, in package-name order (`fixtures/host/dpkg-versions.txt`
//! shows the sorting), then `dpkg-query: no packages found matching X` on stderr for each name
//! that matched nothing, and exit 1 if there was one. The default format is
//! `${binary:Package}\t${Version}\n`; `${Package}`, `${binary:Package}`, `${Version}`,
//! `${db:Status-Abbrev}` (`ii `) and `${db:Status-Status}` are known, others print empty; `\n`,
//! `\t` and `\\` are escapes.
//!
//! `apt-get update` prints the three `Hit:` lines of Debian 12's default sources (**assumption:**
//! no capture; the lines follow apt 2.6's format, and the node's lists are current).
//! `apt-get install -y [--no-install-recommends] NAME...` installs from the node's catalogue
//! (`dpkg.available` in the state file: name → version and the systemd units the package ships,
//! which it enables and starts as Debian's maintainer scripts do). A name outside the catalogue
//! is `E: Unable to locate package X`, exit 100, and nothing is installed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::emulator::{SimOutput, SimSys};
use super::systemd::{Unit, Units};

/// The `dpkg` namespace of the node's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Dpkg {
    /// Installed packages: name → version.
    #[serde(default)]
    pub(crate) installed: BTreeMap<String, String>,
    /// What `apt-get` can install.
    #[serde(default)]
    pub(crate) available: BTreeMap<String, Available>,
}

/// A package `apt-get` can install.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Available {
    pub(crate) version: String,
    /// systemd units the package ships (enabled and started on install).
    #[serde(default)]
    pub(crate) units: Vec<String>,
}

/// `dpkg-query ARGS`.
pub(crate) fn dpkg_query(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let dpkg: Dpkg = sys.load("dpkg");
    let mut format = r"${binary:Package}\t${Version}\n".to_owned();
    let mut names: Vec<&str> = Vec::new();
    let mut show = false;
    let mut iter = args.iter();
    let mut options_done = false;
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            _ if options_done => names.push(arg),
            "-W" | "--show" => show = true,
            "--" => options_done = true,
            "-f" | "--showformat" => match iter.next() {
                Some(value) => format = value.clone(),
                None => {
                    return SimOutput::fail(2, "dpkg-query: error: --showformat needs a value\n");
                }
            },
            _ if arg.starts_with("-f=") || arg.starts_with("--showformat=") => {
                format = arg
                    .split_once('=')
                    .map(|(_, f)| f.to_owned())
                    .unwrap_or_default();
            }
            _ if arg.starts_with('-') => {
                return SimOutput::fail(
                    2,
                    format!("phoenix sim: `dpkg-query {arg}` is not emulated\n"),
                );
            }
            _ => names.push(arg),
        }
    }
    if !show {
        return SimOutput::fail(2, "phoenix sim: only `dpkg-query -W` is emulated\n");
    }
    let mut found: Vec<(&String, &String)> = dpkg
        .installed
        .iter()
        .filter(|(name, _)| names.is_empty() || names.contains(&name.as_str()))
        .collect();
    found.sort();
    let stdout: String = found
        .iter()
        .map(|(name, version)| expand(&format, name, version))
        .collect();
    let stderr: String = names
        .iter()
        .filter(|name| !dpkg.installed.contains_key(**name))
        .map(|name| format!("dpkg-query: no packages found matching {name}\n"))
        .collect();
    let status = if stderr.is_empty() { 0 } else { 1 };
    SimOutput::new(status, stdout, stderr, false)
}

/// One entry of a `dpkg-query` format for an installed package.
fn expand(format: &str, name: &str, version: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                out.push_str(rest);
                break;
            };
            out.push_str(match &after[..end] {
                "Package" | "binary:Package" => name,
                "Version" => version,
                "db:Status-Abbrev" => "ii ",
                "db:Status-Status" => "installed",
                _ => "",
            });
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('\\') {
            match after.chars().next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
            rest = after.get(1..).unwrap_or("");
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

const READING: &str =
    "Reading package lists...\nBuilding dependency tree...\nReading state information...\n";

/// What `apt-get update` prints on a Debian 12 node whose lists are current.
const UPDATE: &str = "Hit:1 http://deb.debian.org/debian bookworm InRelease\nHit:2 http://deb.debian.org/debian bookworm-updates InRelease\nHit:3 http://security.debian.org/debian-security bookworm-security InRelease\nReading package lists...\n";

/// `apt-get update`, or `apt-get install -y [--no-install-recommends] NAME...`.
pub(crate) fn apt_get(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    if args == ["update"] {
        return SimOutput::ok(UPDATE);
    }
    let (options, names): (Vec<&String>, Vec<&String>) =
        args.iter().skip(1).partition(|a| a.starts_with('-'));
    let known_options = options
        .iter()
        .all(|o| matches!(o.as_str(), "-y" | "--no-install-recommends"));
    if args.first().map(String::as_str) != Some("install") || !known_options {
        return SimOutput::fail(
            100,
            format!(
                "phoenix sim: `apt-get {}` is not emulated\n",
                args.join(" ")
            ),
        );
    }
    let mut dpkg: Dpkg = sys.load("dpkg");
    let mut stdout = READING.to_owned();
    let unknown: String = names
        .iter()
        .filter(|n| !dpkg.installed.contains_key(**n) && !dpkg.available.contains_key(**n))
        .map(|n| format!("E: Unable to locate package {n}\n"))
        .collect();
    if !unknown.is_empty() {
        return SimOutput::new(100, stdout, unknown, false);
    }
    let mut new: Vec<&String> = Vec::new();
    for name in &names {
        match dpkg.installed.get(*name) {
            Some(version) => stdout.push_str(&format!(
                "{name} is already the newest version ({version}).\n"
            )),
            None => new.push(name),
        }
    }
    new.sort();
    new.dedup();
    if !new.is_empty() {
        stdout.push_str("The following NEW packages will be installed:\n ");
        for name in &new {
            stdout.push_str(&format!(" {name}"));
        }
        stdout.push('\n');
    }
    stdout.push_str(&format!(
        "0 upgraded, {} newly installed, 0 to remove and 0 not upgraded.\n",
        new.len()
    ));
    let mut units: Units = sys.load("systemd");
    for name in &new {
        let available = dpkg.available.get(*name).cloned().unwrap_or_default();
        stdout.push_str(&format!("Setting up {name} ({}) ...\n", available.version));
        dpkg.installed.insert((*name).clone(), available.version);
        for unit in available.units {
            units.units.entry(unit).or_insert_with(Unit::installed);
        }
    }
    if new.is_empty() {
        return SimOutput::ok(stdout);
    }
    sys.store("dpkg", &dpkg);
    sys.store("systemd", &units);
    SimOutput::ok_mutated(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_expand_fields_and_escapes() {
        assert_eq!(
            expand(
                r"${Package}\t${db:Status-Abbrev}\t${Version}\n",
                "nginx",
                "1.22"
            ),
            "nginx\tii \t1.22\n"
        );
        assert_eq!(expand(r"${Package} ${Nope}\\", "a", "1"), "a \\");
    }
}
