//! `/etc/pve/lxc/<vmid>.conf` and `pct config <vmid>`: a container's configuration, both ways.
//!
//! Based on pve-container `src/PVE/LXC/Config.pm` (`parse_pct_config`, `write_pct_config`) and
//! `src/PVE/CLI/pct.pm` (the `config` printer), as `fixtures/proxmox/SOURCES.md` §2 describes
//! them, and checked on every `lxc-conf.*` and `pct-config.*` sample.
//!
//! Reading (`parse_conf`): blank lines are skipped. `[pve:pending]` (any case) starts the pending
//! section and `[name]` (`[a-zA-Z][a-zA-Z0-9_-]+`) a snapshot section. A `#` line adds its decoded
//! text plus `\n` to the current section's description, wherever it appears. `lxc.<key>` takes
//! `:` or `=`, and its value may be empty. `description: <encoded>` (the `pct config` form) also
//! adds to the description. Any other line must be `key: value` with a lowercase key.
//!
//! Two choices differ from Proxmox's own reader, which warns and goes on: a line that fits none
//! of these shapes (or `delete:` outside `[pve:pending]`, or a section named twice) is an error
//! here, so that Phoenix never acts on a file it only half understood; and on a `description:`
//! line only the one space after the colon is dropped (Proxmox drops all leading blanks), so that
//! a description that starts with a space reads the same from the file and from `pct config`.
//!
//! Writing (`format_conf`, what Proxmox writes): per section, the description as `#` lines, then
//! every key in plain string order (`mp10` before `mp2`), then `lxc.environment.runtime` entries,
//! then the other `lxc.*` entries in their order, always as `key: value`. The pending section and
//! then the snapshots (sorted by name) follow, each after one empty line.

use std::collections::BTreeMap;

use crate::ParseError;
use crate::property::{
    Features, MountPoint, Net, PropertyString, Startup, parse_features, parse_mount_point,
    parse_net, parse_startup,
};
use crate::text::{decode_text, encode_text};

/// A container's whole configuration: the current settings, pending changes and snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Conf {
    /// The current settings (the part before any `[...]` header).
    pub main: Section,
    /// `[pve:pending]`: changes that wait for the next start, including `delete: k1,k2`.
    pub pending: Option<Section>,
    /// The snapshot sections by name.
    pub snapshots: BTreeMap<String, Section>,
}

/// One section of a container's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Section {
    /// The description (the notes), decoded. Read from `#` lines, every line ends in `\n`.
    pub description: Option<String>,
    /// Normal keys (`hostname`, `net0`, `parent`, `snaptime`, `lock`, ...) in file order.
    pub keys: Vec<(String, String)>,
    /// Raw `lxc.*` entries in file order, as `(key, value)`; the value may be empty.
    pub lxc: Vec<(String, String)>,
}

impl Section {
    /// An empty section.
    pub fn new() -> Section {
        Section::default()
    }

    /// The value of `key`. When a key appears twice, the last one counts, as in Proxmox.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .rev()
            .find(|(found, _)| found == key)
            .map(|(_, value)| value.as_str())
    }

    /// Sets `key` to `value`, replacing any earlier value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.keys.iter().position(|(found, _)| found == key) {
            Some(at) => {
                self.keys[at].1 = value;
                let mut index = 0_usize;
                self.keys.retain(|(found, _)| {
                    let keep = index <= at || found != key;
                    index += 1;
                    keep
                });
            }
            None => self.keys.push((key.to_owned(), value)),
        }
    }

    /// Removes `key` and returns its value, if it was set.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let value = self.get(key).map(str::to_owned);
        self.keys.retain(|(found, _)| found != key);
        value
    }

    /// The values of the raw entry `key` (such as `lxc.mount.entry`), in order.
    pub fn lxc_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lxc
            .iter()
            .filter(move |(found, _)| found == key)
            .map(|(_, value)| value.as_str())
    }

    /// The keys in the order Proxmox writes them: sorted, each once (the last value wins).
    pub fn sorted_keys(&self) -> BTreeMap<&str, &str> {
        self.keys
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    /// `key` read as a property string whose bare value is `default_key` (such as `volume` for
    /// `rootfs`); `None` when the key is not set.
    pub fn property(
        &self,
        key: &str,
        default_key: Option<&str>,
    ) -> Option<Result<PropertyString, ParseError>> {
        self.get(key)
            .map(|value| crate::property::parse_property_string(value, default_key))
    }

    /// `rootfs` or `mpN` read as a mount point; `None` when the key is not set.
    pub fn mount_point(&self, key: &str) -> Option<Result<MountPoint, ParseError>> {
        self.get(key).map(parse_mount_point)
    }

    /// `netN` read as a network interface; `None` when the key is not set.
    pub fn net(&self, key: &str) -> Option<Result<Net, ParseError>> {
        self.get(key).map(parse_net)
    }

    /// `startup` read as boot order and delays; `None` when it is not set.
    pub fn startup(&self) -> Option<Result<Startup, ParseError>> {
        self.get("startup").map(parse_startup)
    }

    /// `features` read as flags; `None` when it is not set.
    pub fn features(&self) -> Option<Result<Features, ParseError>> {
        self.get("features").map(parse_features)
    }

    /// The mount point keys (`rootfs` first, then `mpN` by number) with their values.
    pub fn volume_keys(&self) -> Vec<(&str, &str)> {
        let mut keys: Vec<(u32, &str, &str)> = self
            .sorted_keys()
            .into_iter()
            .filter_map(|(key, value)| {
                if key == "rootfs" {
                    Some((0, key, value))
                } else {
                    let number = key.strip_prefix("mp")?.parse::<u32>().ok()?;
                    Some((number + 1, key, value))
                }
            })
            .collect();
        keys.sort();
        keys.into_iter()
            .map(|(_, key, value)| (key, value))
            .collect()
    }
}

impl Conf {
    /// A configuration with only a main section.
    pub fn from_main(main: Section) -> Conf {
        Conf {
            main,
            ..Conf::default()
        }
    }

    /// The settings `pct config` shows: the main section with the pending values applied and
    /// the pending deletions removed.
    pub fn with_pending(&self) -> Section {
        let mut merged = self.main.clone();
        if let Some(pending) = &self.pending {
            for (key, value) in &pending.keys {
                if key == "delete" {
                    continue;
                }
                merged.set(key, value.clone());
            }
            if pending.description.is_some() {
                merged.description.clone_from(&pending.description);
            }
            for deletion in pending_deletions(pending) {
                if deletion.key == "description" {
                    merged.description = None;
                } else {
                    merged.remove(&deletion.key);
                }
            }
        }
        merged
    }
}

/// One key of a pending section's `delete:` list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PendingDelete {
    /// The key to delete at the next start.
    pub key: String,
    /// Written `!key`: a forced deletion (Proxmox keeps the marker when it rewrites the list).
    pub force: bool,
}

impl PendingDelete {
    /// The deletion of `key`, forced or not.
    pub fn new(key: impl Into<String>, force: bool) -> PendingDelete {
        PendingDelete {
            key: key.into(),
            force,
        }
    }
}

/// The keys a pending section's `delete:` lists, each once, in the order written.
///
/// As pve-guest-common `parse_pending_delete`: `,` and `;` count as blanks, the list is split on
/// blanks, and a leading `!` marks a forced deletion (`delete: a;b` and `delete: !c,d` list
/// `a`, `b`, `c` and `d`).
pub fn pending_deletions(pending: &Section) -> Vec<PendingDelete> {
    let mut deletions: Vec<PendingDelete> = Vec::new();
    let list = pending.get("delete").unwrap_or_default();
    for entry in list.split([',', ';', ' ', '\t']) {
        let (force, key) = match entry.strip_prefix('!') {
            Some(key) => (true, key),
            None => (false, entry),
        };
        if key.is_empty() {
            continue;
        }
        match deletions.iter_mut().find(|found| found.key == key) {
            Some(found) => found.force = force,
            None => deletions.push(PendingDelete::new(key, force)),
        }
    }
    deletions
}

/// Writes a `delete:` list as `print_pending_delete` does: `,`-separated, `!` before forced keys.
pub fn format_pending_deletions(deletions: &[PendingDelete]) -> String {
    deletions
        .iter()
        .map(|deletion| {
            if deletion.force {
                format!("!{}", deletion.key)
            } else {
                deletion.key.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Which section the reader is in.
#[derive(Clone, PartialEq, Eq)]
enum Current {
    Main,
    Pending,
    Snapshot(String),
}

/// Reads a container's configuration file, or the output of `pct config` (one section).
pub fn parse_conf(text: &str) -> Result<Conf, ParseError> {
    let mut conf = Conf::default();
    let mut current = Current::Main;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(name) = section_header(line) {
            current = if name.eq_ignore_ascii_case("pve:pending") {
                if conf.pending.is_some() {
                    return Err(ParseError::new(number, "`[pve:pending]` appears twice"));
                }
                conf.pending = Some(Section::new());
                Current::Pending
            } else if is_snapshot_name(name) {
                if conf.snapshots.contains_key(name) {
                    return Err(ParseError::new(
                        number,
                        format!("snapshot section `[{name}]` appears twice"),
                    ));
                }
                conf.snapshots.insert(name.to_owned(), Section::new());
                Current::Snapshot(name.to_owned())
            } else {
                return Err(ParseError::new(
                    number,
                    format!("`[{name}]` is not a valid section name"),
                ));
            };
            continue;
        }
        let section = match &current {
            Current::Main => &mut conf.main,
            Current::Pending => conf
                .pending
                .as_mut()
                .expect("invariant: the pending section exists once its header was read"),
            Current::Snapshot(name) => conf
                .snapshots
                .get_mut(name)
                .expect("invariant: a snapshot section exists once its header was read"),
        };
        if let Some(comment) = line.strip_prefix('#') {
            let description = section.description.get_or_insert_with(String::new);
            description.push_str(&decode_text(comment));
            description.push('\n');
        } else if let Some((key, value)) = lxc_entry(line) {
            section.lxc.push((key.to_owned(), value.to_owned()));
        } else if let Some(value) = line.strip_prefix("description:") {
            let value = value.strip_prefix(' ').unwrap_or(value).trim_end();
            if value.is_empty() {
                return Err(ParseError::new(number, "`description:` without a value"));
            }
            section
                .description
                .get_or_insert_with(String::new)
                .push_str(&decode_text(value));
        } else if let Some((key, value)) = normal_entry(line) {
            if key == "delete" && current != Current::Pending {
                return Err(ParseError::new(
                    number,
                    "`delete:` is only allowed in [pve:pending]",
                ));
            }
            section.keys.push((key.to_owned(), value.to_owned()));
        } else {
            return Err(ParseError::new(
                number,
                format!(
                    "expected `key: value`, `lxc.key: value`, `#comment` or `[section]`, found `{line}`"
                ),
            ));
        }
    }
    Ok(conf)
}

/// The name inside `[...]` (trailing blanks allowed), if `line` is a section header.
fn section_header(line: &str) -> Option<&str> {
    line.trim_end().strip_prefix('[')?.strip_suffix(']')
}

/// Whether `name` may name a snapshot section: `[a-zA-Z][a-zA-Z0-9_-]+`.
fn is_snapshot_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `lxc.<key>` followed by `:` or optional blanks and `=`, then the value (blanks trimmed).
fn lxc_entry(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("lxc.")?;
    let key_len = rest
        .find(|c: char| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || c == '.')
        })
        .unwrap_or(rest.len());
    if key_len == 0 {
        return None;
    }
    let key = &line[..4 + key_len];
    let after = &rest[key_len..];
    let value = if let Some(value) = after.strip_prefix(':') {
        value
    } else {
        after.trim_start().strip_prefix('=')?
    };
    Some((key, value.trim()))
}

/// `^([a-z][a-z_]*\d*):\s*(.+?)\s*$`: a normal key with a non-empty value.
fn normal_entry(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let letters = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let mut chars = letters.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c == '_');
    let value = value.trim();
    (valid && !value.is_empty()).then_some((key, value))
}

/// Writes a configuration exactly as Proxmox's `write_pct_config` does.
pub fn format_conf(conf: &Conf) -> String {
    let mut out = format_section(&conf.main);
    if let Some(pending) = conf
        .pending
        .as_ref()
        .filter(|pending| !pending.keys.is_empty() || pending.description.is_some())
    {
        out.push_str("\n[pve:pending]\n");
        out.push_str(&format_section(pending));
    }
    for (name, snapshot) in &conf.snapshots {
        out.push_str(&format!("\n[{name}]\n"));
        out.push_str(&format_section(snapshot));
    }
    out
}

/// One section as the writer prints it (see the module documentation).
fn format_section(section: &Section) -> String {
    let mut out = String::new();
    if let Some(description) = &section.description {
        for line in perl_split_lines(description) {
            out.push('#');
            out.push_str(&encode_text(line));
            out.push('\n');
        }
    }
    for (key, value) in section.sorted_keys() {
        out.push_str(&format!("{key}: {value}\n"));
    }
    let runtime = section
        .lxc
        .iter()
        .filter(|(key, _)| key == "lxc.environment.runtime");
    let others = section
        .lxc
        .iter()
        .filter(|(key, _)| key != "lxc.environment.runtime");
    for (key, value) in runtime.chain(others) {
        out.push_str(&format!("{key}: {value}\n"));
    }
    out
}

/// Perl's `split(/\n/, $text)`: the pieces between newlines, without the trailing empty ones.
fn perl_split_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

/// Prints one section as `pct config` does: every key and `description` (encoded, on one line)
/// in plain sort order, then the raw `lxc.*` entries in their order.
pub fn format_pct_config(section: &Section) -> String {
    let mut keys = section.sorted_keys();
    let description = section.description.as_deref().map(encode_text);
    if let Some(description) = &description {
        keys.insert("description", description);
    }
    keys.remove("digest");
    let mut out = String::new();
    for (key, value) in keys {
        out.push_str(&format!("{key}: {value}\n"));
    }
    for (key, value) in &section.lxc {
        out.push_str(&format!("{key}: {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fixture_body, proxmox_sample};

    #[test]
    fn sections_descriptions_and_raw_keys() {
        let text = "#first%3A line\narch: amd64\n# late comment\nlxc.cap.drop: \nlxc.idmap = u 0 100000 65536\nparent: snap\n\n[pve:pending]\ndelete: tags\nmemory: 1024\n\n[snap]\n#the snap\narch: amd64\nsnaptime: 1700000000\n";
        let conf = parse_conf(text).expect("valid");
        assert_eq!(
            conf.main.description.as_deref(),
            Some("first: line\n late comment\n")
        );
        assert_eq!(
            conf.main.lxc,
            [
                ("lxc.cap.drop".to_owned(), String::new()),
                ("lxc.idmap".to_owned(), "u 0 100000 65536".to_owned())
            ]
        );
        assert_eq!(conf.main.get("parent"), Some("snap"));
        let pending = conf.pending.as_ref().expect("pending");
        assert_eq!(
            pending_deletions(pending),
            [PendingDelete::new("tags", false)]
        );
        assert_eq!(
            conf.snapshots["snap"].description.as_deref(),
            Some("the snap\n")
        );
        let merged = conf.with_pending();
        assert_eq!(merged.get("memory"), Some("1024"));
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_conf("arch: amd64\n what\n").expect_err("indented");
        assert_eq!(err.line, 2);
        let err = parse_conf("arch: amd64\ndelete: tags\n").expect_err("delete in main");
        assert_eq!(err.reason, "`delete:` is only allowed in [pve:pending]");
        let err = parse_conf("[a1]\n[a1]\n").expect_err("twice");
        assert_eq!(err.line, 2);
        let err = parse_conf("tags:\n").expect_err("empty value");
        assert_eq!(err.line, 1);
        assert_eq!(parse_conf(""), Ok(Conf::default()));
    }

    #[test]
    fn set_replaces_every_earlier_value() {
        let mut section = Section::new();
        section.keys = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "3".to_owned()),
        ];
        assert_eq!(section.get("a"), Some("3"));
        section.set("a", "4");
        assert_eq!(
            section.keys,
            [
                ("a".to_owned(), "4".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(section.remove("b").as_deref(), Some("2"));
        assert_eq!(section.get("b"), None);
    }

    #[test]
    fn writer_round_trips_every_file_proxmox_wrote() {
        // The docs example is hand-written (keys out of order); everything else was written by
        // Proxmox (or follows its writer), so reading and writing gives the same bytes.
        for name in [
            "lxc-conf.description.1.conf",
            "lxc-conf.dev-passthrough.fragment.1.conf",
            "lxc-conf.frigate-gpu.1.partial.conf",
            "lxc-conf.full.reconstructed.conf",
            "lxc-conf.mp-ro.1.conf",
            "lxc-conf.nvidia-dev.1.conf",
            "lxc-conf.nvidia-raw.1.conf",
            "lxc-conf.nvidia-raw.2.conf",
            "lxc-conf.nvidia-raw.fragment.1.conf",
            "lxc-conf.privileged-zfs.1.conf",
            "lxc-conf.pve-test.lock-snapshot.conf",
            "lxc-conf.pve-test.snapshot-created.conf",
            "lxc-conf.snapshots.1.conf",
            "lxc-conf.snapshots.2.conf",
        ] {
            let text = proxmox_sample(name);
            let conf = parse_conf(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(format_conf(&conf), text, "{name}");
        }
    }

    #[test]
    fn pct_config_printer_matches_the_samples() {
        for name in [
            "pct-config.1.txt",
            "pct-config.2.txt",
            "pct-config.nvidia-raw.reconstructed.txt",
            "pct-config.snapshots.reconstructed.txt",
            "pct-config.snapshot-section.reconstructed.txt",
        ] {
            let text = proxmox_sample(name);
            let conf = parse_conf(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(format_pct_config(&conf.with_pending()), text, "{name}");
        }
        // The reconstructed outputs are the raw files run through the printer.
        let raw = parse_conf(&proxmox_sample("lxc-conf.nvidia-raw.1.conf")).expect("raw");
        assert_eq!(
            format_pct_config(&raw.with_pending()),
            proxmox_sample("pct-config.nvidia-raw.reconstructed.txt")
        );
        let raw = parse_conf(&proxmox_sample("lxc-conf.snapshots.2.conf")).expect("raw");
        assert_eq!(
            format_pct_config(&raw.with_pending()),
            proxmox_sample("pct-config.snapshots.reconstructed.txt")
        );
        let raw = parse_conf(&proxmox_sample("lxc-conf.snapshots.1.conf")).expect("raw");
        assert_eq!(
            format_pct_config(&raw.snapshots["fresh"]),
            proxmox_sample("pct-config.snapshot-section.reconstructed.txt")
        );
    }

    #[test]
    fn pending_is_merged_for_pct_config() {
        let conf = parse_conf(&proxmox_sample("lxc-conf.full.reconstructed.conf")).expect("ok");
        let merged = conf.with_pending();
        assert_eq!(merged.get("features"), Some("fuse=1,keyctl=1,nesting=1"));
        assert_eq!(merged.get("tags"), None);
        assert_eq!(conf.main.get("tags"), Some("gpu;ml"));
    }

    #[test]
    fn conf_fixtures() {
        insta::glob!("../../../shared/fixtures", "proxmox/lxc-conf.*", |path| {
            insta::assert_debug_snapshot!(parse_conf(&fixture_body(path)));
        });
    }

    #[test]
    fn pct_config_fixtures() {
        insta::glob!("../../../shared/fixtures", "proxmox/pct-config.*", |path| {
            insta::assert_debug_snapshot!(parse_conf(&fixture_body(path)));
        });
    }
}
