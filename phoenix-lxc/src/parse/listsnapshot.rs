//! `pct listsnapshot <vmid>`: the snapshot tree, with `current` where the container is now.
//!
//! Format (pve-guest-common `PVE::GuestHelpers::print_snapshot_tree`, stable since 2022;
//! `fixtures/proxmox/SOURCES.md` §3, checked on `pct-listsnapshot.*`): every snapshot plus a
//! pseudo-entry `current` (description `You are here!`, parent = the config's `parent`). Roots
//! are entries whose parent is unknown; siblings are sorted by snaptime with `current` last.
//! Each line is `printf "%s %-Ls %-23s %s\n"` over prefix, name, time and description, where the
//! prefix is `` `-> `` with one more leading space per level and L = 30 − length(prefix), at
//! least 0. The time is `YYYY-MM-DD HH:MM:SS` in the host's local time (empty for `current`);
//! the description is its first line, or `no-description`.

use phoenix_pve::Conf;

use super::ParseError;

/// One line of `pct listsnapshot`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ListedSnapshot {
    /// The snapshot name, or `current`.
    pub name: String,
    /// The depth in the tree (0 for a root).
    pub depth: usize,
    /// `YYYY-MM-DD HH:MM:SS` as printed (local time of the host); `None` for `current`.
    pub time: Option<String>,
    /// The first line of the description as printed (`no-description` when there is none,
    /// `You are here!` for `current`).
    pub description: String,
}

/// Reads `pct listsnapshot` output.
pub fn parse_listsnapshot(text: &str) -> Result<Vec<ListedSnapshot>, ParseError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let bad = || ParseError::new(number, format!("not a snapshot tree line: `{line}`"));
        let depth = line.len() - line.trim_start_matches(' ').len();
        let rest = line[depth..].strip_prefix("`-> ").ok_or_else(bad)?;
        let prefix_len = depth + 3;
        let name = rest
            .split(' ')
            .next()
            .filter(|name| !name.is_empty())
            .ok_or_else(bad)?;
        let width = 30_usize.saturating_sub(prefix_len).max(name.len());
        let time_at = prefix_len + 1 + width + 1;
        let padding = line
            .get(prefix_len + 1 + name.len()..time_at)
            .ok_or_else(bad)?;
        let time_field = line.get(time_at..time_at + 23).ok_or_else(bad)?;
        let description = line.get(time_at + 24..).ok_or_else(bad)?;
        if !padding.bytes().all(|b| b == b' ') || line.as_bytes().get(time_at + 23) != Some(&b' ') {
            return Err(bad());
        }
        let time = time_field.trim_end();
        entries.push(ListedSnapshot {
            name: name.to_owned(),
            depth,
            time: (!time.is_empty()).then(|| time.to_owned()),
            description: description.to_owned(),
        });
    }
    Ok(entries)
}

/// An entry of the tree to print.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotNode {
    /// The snapshot name, or `current`.
    pub name: String,
    /// The parent snapshot, if any.
    pub parent: Option<String>,
    /// The snapshot time (unix seconds); `None` for `current`.
    pub snaptime: Option<i64>,
    /// The description.
    pub description: Option<String>,
}

/// The entries `pct listsnapshot` prints for `conf`: each snapshot, then `current`.
pub fn snapshot_nodes(conf: &Conf) -> Vec<SnapshotNode> {
    let mut nodes: Vec<SnapshotNode> = conf
        .snapshots
        .iter()
        .map(|(name, section)| SnapshotNode {
            name: name.clone(),
            parent: section.get("parent").map(str::to_owned),
            snaptime: section.get("snaptime").and_then(|t| t.parse().ok()),
            description: section.description.clone(),
        })
        .collect();
    nodes.push(SnapshotNode {
        name: "current".to_owned(),
        parent: conf.main.get("parent").map(str::to_owned),
        snaptime: None,
        description: Some("You are here!".to_owned()),
    });
    nodes
}

/// Prints the tree as `print_snapshot_tree` does; `format_time` renders a snapshot time (the
/// real tool uses the host's local time zone; see [`format_utc`]).
pub fn format_snapshot_tree(nodes: &[SnapshotNode], format_time: &dyn Fn(i64) -> String) -> String {
    let known = |name: &str| nodes.iter().any(|node| node.name == name);
    let roots = sorted(
        nodes
            .iter()
            .filter(|node| node.parent.as_deref().is_none_or(|parent| !known(parent)))
            .collect(),
    );
    let mut out = String::new();
    let mut stack: Vec<(String, &SnapshotNode)> = roots
        .into_iter()
        .rev()
        .map(|node| ("`->".to_owned(), node))
        .collect();
    while let Some((prefix, node)) = stack.pop() {
        let description = node
            .description
            .as_deref()
            .filter(|text| !text.is_empty() && *text != "0")
            .map_or("no-description", |text| {
                text.lines().next().unwrap_or_default()
            });
        let time = node.snaptime.map(format_time).unwrap_or_default();
        let width = 30_usize.saturating_sub(prefix.len());
        out.push_str(&format!(
            "{prefix} {:<width$} {time:<23} {description}\n",
            node.name
        ));
        let children = sorted(
            nodes
                .iter()
                .filter(|child| child.parent.as_deref() == Some(node.name.as_str()))
                .collect(),
        );
        for child in children.into_iter().rev() {
            stack.push((format!(" {prefix}"), child));
        }
    }
    out
}

/// Sorts siblings by snaptime with `current` (no time) last. Ties (equal times) keep a stable,
/// name-based order; Perl's order there is hash order.
fn sorted(mut list: Vec<&SnapshotNode>) -> Vec<&SnapshotNode> {
    list.sort_by(|a, b| match (a.snaptime, b.snaptime) {
        (None, None) => a.name.cmp(&b.name),
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.name.cmp(&b.name)),
    });
    list
}

/// `YYYY-MM-DD HH:MM:SS` of a unix time in UTC: core's one date formatter.
pub use phoenix_core::utc::format_utc;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::{fixture_body, proxmox_sample};
    use phoenix_pve::parse_conf;

    #[test]
    fn utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_770_573_806), "2026-02-08 18:03:26");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn printer_matches_the_reconstructed_tree_of_a_real_conf() {
        let conf = parse_conf(&proxmox_sample("lxc-conf.snapshots.2.conf")).expect("conf");
        assert_eq!(
            format_snapshot_tree(&snapshot_nodes(&conf), &format_utc),
            proxmox_sample("pct-listsnapshot.3.reconstructed.txt")
        );
    }

    #[test]
    fn round_trips_the_real_samples() {
        for name in ["pct-listsnapshot.1.txt", "pct-listsnapshot.2.txt"] {
            let text = proxmox_sample(name);
            let entries = parse_listsnapshot(&text).expect("sample");
            let nodes: Vec<SnapshotNode> = entries
                .iter()
                .enumerate()
                .map(|(at, entry)| SnapshotNode {
                    name: entry.name.clone(),
                    parent: at.checked_sub(1).map(|parent| entries[parent].name.clone()),
                    snaptime: entry.time.as_ref().map(|_| 1),
                    description: Some(entry.description.clone()),
                })
                .collect();
            let time = |_| entries[0].time.clone().unwrap_or_default();
            assert_eq!(format_snapshot_tree(&nodes, &time), text, "{name}");
        }
    }

    #[test]
    fn no_snapshots_and_errors() {
        let conf = parse_conf("arch: amd64\n").expect("conf");
        let text = format_snapshot_tree(&snapshot_nodes(&conf), &format_utc);
        // 27 columns for the name, one space, 23 for the (empty) time, one space.
        assert_eq!(
            text,
            format!("`-> current{}You are here!\n", " ".repeat(45))
        );
        assert_eq!(parse_listsnapshot(&text).expect("current").len(), 1);
        assert!(parse_listsnapshot("-> x\n").is_err());
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/pct-listsnapshot.*",
            |path| {
                insta::assert_debug_snapshot!(parse_listsnapshot(&fixture_body(path)));
            }
        );
    }
}
