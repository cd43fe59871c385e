//! The settings part of `Container::diff`: raw `lxc.*` lines (written into the main section of
//! the conf, never a snapshot section) and one `pct set` with every managed key that differs.

use std::collections::BTreeMap;

use phoenix_core::{Cmd, Delta, FieldChange, Step};
use phoenix_pve::{parse_features, parse_net};

use super::{Container, ContainerState};
use crate::facts::conf_path;

impl Container {
    /// Raw `lxc.*` lines the conf lacks go into its main section (written before any `pct set`,
    /// which keeps them); they take effect at the next start. A key LXC reads once
    /// (`lxc.apparmor.profile`) is replaced, not repeated. Returns whether a restart is due.
    pub(super) fn diff_lxc_lines(&self, state: &ContainerState, delta: Delta) -> (Delta, bool) {
        let missing: String = self
            .spec
            .lxc
            .iter()
            .filter(|line| !state.lxc.contains(line))
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        if missing.is_empty() {
            return (delta, false);
        }
        let replaced: Vec<&(String, String)> = state
            .lxc
            .iter()
            .filter(|(key, value)| {
                SINGLE_VALUED.contains(&key.as_str())
                    && self.spec.lxc.iter().any(|(k, v)| k == key && v != value)
            })
            .collect();
        let path = conf_path(self.spec.id);
        let kept = remove_from_main(&state.text, &replaced);
        let new_text = insert_into_main(&kept, &missing);
        let before: String = replaced
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        // Environment values are secrets: the field and the diff show them by size only.
        let shown = crate::secret::redact_conf(&missing);
        let shown_before = crate::secret::redact_conf(&before);
        let delta = delta
            .field(
                FieldChange::new(
                    "lxc",
                    (!before.is_empty()).then(|| shown_before.trim_end().into()),
                    Some(shown.trim_end().into()),
                )
                .note("raw lines, main section"),
            )
            .file_diff(phoenix_core::file::unified_diff(
                std::path::Path::new(&path),
                &crate::secret::redact_conf(&state.text),
                &crate::secret::redact_conf(&new_text),
            ))
            .step(Step::WriteFile {
                path: path.into(),
                content: crate::secret::conf_content(new_text),
                mode: 0o640,
                owner: None,
            });
        (delta, true)
    }

    /// One `pct set` with every managed key whose value differs. A new hostname or new features
    /// take effect at the next start, so they ask for a restart.
    pub(super) fn diff_settings(&self, state: &ContainerState, delta: Delta) -> (Delta, bool) {
        let mut delta = delta;
        let mut restart = false;
        let mut set = Cmd::write("pct", ["set", &self.spec.id.to_string()]);
        let mut any = false;
        for (key, desired) in self.desired_keys() {
            let current = state.keys.get(key);
            if same_setting(key, current.map(String::as_str), &desired) {
                continue;
            }
            restart |= matches!(key, "hostname" | "features");
            delta = delta.field(FieldChange::new(
                key,
                current.map(|value| value.clone().into()),
                Some(desired.clone().into()),
            ));
            set = set.arg(format!("--{key}")).arg(desired);
            any = true;
        }
        if any {
            delta = delta.run(set);
        }
        (delta, restart)
    }
}

/// Whether the conf's `current` value of `key` is what Phoenix would write as `desired`.
fn same_setting(key: &str, current: Option<&str>, desired: &str) -> bool {
    match key {
        "net0" => current.is_some_and(|current| same_net(current, desired)),
        "features" => current.is_some_and(|current| same_features(current, desired)),
        // Proxmox leaves `onboot` out of the conf when it is off.
        "onboot" => current.unwrap_or("0") == desired,
        _ => current == Some(desired),
    }
}

/// Whether two `features` values set the same flags, in whatever order.
fn same_features(current: &str, desired: &str) -> bool {
    let flags = |text: &str| {
        parse_features(text).ok().map(|features| {
            features
                .props
                .entries
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        })
    };
    flags(current).is_some_and(|current| Some(current) == flags(desired))
}

/// Whether two `net0` values agree on what Phoenix manages (name, bridge, ip, gw, hwaddr, and
/// the firewall flag).
fn same_net(current: &str, desired: &str) -> bool {
    let (Ok(current), Ok(desired)) = (parse_net(current), parse_net(desired)) else {
        return false;
    };
    // A key the config leaves out (a MAC Proxmox generated) is not compared, but a gateway the
    // config does not want is a difference.
    // The firewall flag is Phoenix's too: on exactly when the config enables the firewall.
    let flag = |net: &phoenix_pve::Net| {
        net.get("firewall").and_then(phoenix_pve::parse_bool) == Some(true)
    };
    if flag(&current) != flag(&desired) {
        return false;
    }
    ["name", "bridge", "ip", "gw", "hwaddr"]
        .iter()
        .all(|key| match desired.get(key) {
            None => *key != "gw" || current.gw().is_none(),
            Some(want) => current
                .get(key)
                .is_some_and(|value| value.eq_ignore_ascii_case(want)),
        })
}

/// Raw keys LXC takes one value of: a new value replaces the line instead of adding one.
const SINGLE_VALUED: &[&str] = &["lxc.apparmor.profile"];

/// The conf without the main section's lines that set `lines` (`key: value` or `key = value`).
pub(crate) fn remove_from_main(text: &str, lines: &[&(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_main = true;
    for line in text.split_inclusive('\n') {
        in_main &= !line.starts_with('[');
        let set = line
            .find([':', '='])
            .map(|at| (line[..at].trim(), line[at + 1..].trim()));
        let drop = in_main
            && set.is_some_and(|(key, value)| lines.iter().any(|(k, v)| k == key && v == value));
        if !drop {
            out.push_str(line);
        }
    }
    out
}

/// The conf with the main section's lines that set `lines` replaced by `block`, which takes the
/// place of the first of them (so the lines around stay where they are), or goes at the end of
/// the main section when none is there.
pub(crate) fn replace_in_main(text: &str, lines: &[&(String, String)], block: &str) -> String {
    let mut out = String::with_capacity(text.len() + block.len());
    let mut in_main = true;
    let mut placed = false;
    for line in text.split_inclusive('\n') {
        in_main &= !line.starts_with('[');
        let set = line
            .find([':', '='])
            .map(|at| (line[..at].trim(), line[at + 1..].trim()));
        let drop = in_main
            && set.is_some_and(|(key, value)| lines.iter().any(|(k, v)| k == key && v == value));
        if drop && !placed {
            out.push_str(block);
            placed = true;
        }
        if !drop {
            out.push_str(line);
        }
    }
    if placed {
        out
    } else {
        insert_into_main(&out, block)
    }
}

/// Inserts `lines` at the end of the conf's main section (before the first `[section]`).
pub(crate) fn insert_into_main(text: &str, lines: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len());
    let mut inserted = false;
    let mut pending_blank = String::new();
    for line in text.split_inclusive('\n') {
        if !inserted && line.starts_with('[') {
            out.push_str(lines);
            inserted = true;
        }
        if !inserted && line.trim().is_empty() {
            pending_blank.push_str(line);
            continue;
        }
        out.push_str(&pending_blank);
        pending_blank.clear();
        out.push_str(line);
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(lines);
    }
    out.push_str(&pending_blank);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_a_single_valued_line_is_removed_from_the_main_section_only() {
        let text = "arch: amd64\nlxc.apparmor.profile: unconfined\nlxc.cap.drop: \n\n[final-form]\nlxc.apparmor.profile: unconfined\n";
        let line = ("lxc.apparmor.profile".to_owned(), "unconfined".to_owned());
        assert_eq!(
            remove_from_main(text, &[&line]),
            "arch: amd64\nlxc.cap.drop: \n\n[final-form]\nlxc.apparmor.profile: unconfined\n"
        );
    }

    #[test]
    fn issue_11_a_replaced_block_takes_the_place_of_the_old_one() {
        let text = "arch: amd64\nlxc.a: 1\nlxc.b: 2\nlxc.c: 3\n\n[snap]\nlxc.a: 1\n";
        let (a, b) = (
            ("lxc.a".to_owned(), "1".to_owned()),
            ("lxc.b".to_owned(), "2".to_owned()),
        );
        assert_eq!(
            replace_in_main(text, &[&a, &b], "lxc.a: 9\nlxc.b: 8\n"),
            "arch: amd64\nlxc.a: 9\nlxc.b: 8\nlxc.c: 3\n\n[snap]\nlxc.a: 1\n"
        );
        assert_eq!(
            replace_in_main("arch: amd64\n", &[], "lxc.a: 9\n"),
            "arch: amd64\nlxc.a: 9\n"
        );
    }

    #[test]
    fn lxc_lines_go_into_the_main_section_only() {
        let text = "arch: amd64\nmemory: 512\nparent: final-form\n\n[final-form]\narch: amd64\nmemory: 512\nsnaptime: 1700000000\n";
        let out = insert_into_main(text, "lxc.apparmor.profile: unconfined\n");
        assert_eq!(
            out,
            "arch: amd64\nmemory: 512\nparent: final-form\nlxc.apparmor.profile: unconfined\n\n[final-form]\narch: amd64\nmemory: 512\nsnaptime: 1700000000\n"
        );
        assert_eq!(
            insert_into_main("arch: amd64\n", "lxc.a: b\n"),
            "arch: amd64\nlxc.a: b\n"
        );
    }
}
