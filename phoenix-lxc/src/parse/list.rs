//! `pct list`: every container on the node with its status, lock and name.
//!
//! Format (pve-container `src/PVE/CLI/pct.pm`, cmddef `list`, unchanged since 2016;
//! `fixtures/proxmox/SOURCES.md` §1, checked on `pct-list.*`): each line, the header included,
//! is `printf "%-10s %-10s %-12s %-20s\n"` over VMID, Status, Lock and Name, rows sorted by VMID.
//! Fields are never truncated, so a long one pushes the rest right. The name is the hostname with
//! its whitespace removed, or `CT<vmid>`, so it is one word; an empty lock leaves only blanks. A
//! node without containers prints nothing at all, not even the header.

use super::ParseError;

/// One row of `pct list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ListedContainer {
    /// The container id.
    pub vmid: u32,
    /// `running` or `stopped`.
    pub status: String,
    /// The config's `lock` (`backup`, `create`, `snapshot`, ...), if any.
    pub lock: Option<String>,
    /// The hostname without whitespace, or `CT<vmid>`.
    pub name: String,
}

impl ListedContainer {
    /// A row.
    pub fn new(
        vmid: u32,
        status: impl Into<String>,
        lock: Option<String>,
        name: impl Into<String>,
    ) -> ListedContainer {
        ListedContainer {
            vmid,
            status: status.into(),
            lock,
            name: name.into(),
        }
    }
}

/// Reads `pct list`; empty output means no containers.
pub fn parse_pct_list(text: &str) -> Result<Vec<ListedContainer>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let words: Vec<&str> = header.split_whitespace().collect();
    if words != ["VMID", "Status", "Lock", "Name"] {
        return Err(ParseError::new(
            1,
            format!("expected the header `VMID Status Lock Name`, found `{header}`"),
        ));
    }
    let mut rows: Vec<ListedContainer> = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        let (vmid, status, lock, name) = match words.as_slice() {
            [vmid, status, name] => (vmid, status, None, name),
            [vmid, status, lock, name] => (vmid, status, Some((*lock).to_owned()), name),
            _ => {
                return Err(ParseError::new(
                    number,
                    format!("expected `VMID STATUS [LOCK] NAME`, found `{line}`"),
                ));
            }
        };
        let vmid = vmid
            .parse::<u32>()
            .map_err(|_| ParseError::new(number, format!("`{vmid}` is not a container id")))?;
        if !matches!(*status, "running" | "stopped") {
            return Err(ParseError::new(
                number,
                format!("expected the status `running` or `stopped`, found `{status}`"),
            ));
        }
        if rows.iter().any(|row| row.vmid == vmid) {
            return Err(ParseError::new(
                number,
                format!("container {vmid} is listed twice"),
            ));
        }
        rows.push(ListedContainer::new(vmid, *status, lock, *name));
    }
    Ok(rows)
}

/// Prints rows as `pct list` does (sorted by id; nothing at all for no rows).
pub fn format_pct_list(rows: &[ListedContainer]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&ListedContainer> = rows.iter().collect();
    sorted.sort_by_key(|row| row.vmid);
    let line = |vmid: &str, status: &str, lock: &str, name: &str| {
        format!("{vmid:<10} {status:<10} {lock:<12} {name:<20}\n")
    };
    let mut out = line("VMID", "Status", "Lock", "Name");
    for row in sorted {
        out.push_str(&line(
            &row.vmid.to_string(),
            &row.status,
            row.lock.as_deref().unwrap_or_default(),
            &row.name,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::{fixture_body, proxmox_sample};

    #[test]
    fn locks_and_long_fields() {
        let rows = parse_pct_list(&proxmox_sample("pct-list.lock.reconstructed.txt")).expect("ok");
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].lock.as_deref(), Some("backup"));
        assert_eq!(rows[3].lock, None);
        assert_eq!(rows[4].vmid, 1_000_000);
        assert_eq!(rows[4].lock.as_deref(), Some("snapshot-delete"));
        assert_eq!(rows[4].name, "tmpl-debian12");
    }

    #[test]
    fn empty_output_and_errors() {
        assert_eq!(parse_pct_list(""), Ok(Vec::new()));
        assert_eq!(parse_pct_list("nope\n").expect_err("header").line, 1);
        let err = parse_pct_list("VMID       Status     Lock         Name\nx running a\n")
            .expect_err("id");
        assert_eq!(err.line, 2);
    }

    /// Found by fuzzing: a status other than `running`/`stopped` (which `pct list` never prints)
    /// was taken as is, and a container listed twice silently replaced the first row.
    #[test]
    fn issue_8_an_unknown_status_and_a_repeated_id_are_errors() {
        let header = "VMID       Status     Lock         Name                \n";
        let err = parse_pct_list(&format!("{header}101        runnXing                web\n"))
            .expect_err("status");
        assert_eq!(
            (err.line, err.reason.as_str()),
            (
                2,
                "expected the status `running` or `stopped`, found `runnXing`"
            )
        );
        let err = parse_pct_list(&format!(
            "{header}101        running                 web\n101        stopped                 db\n"
        ))
        .expect_err("twice");
        assert_eq!(
            (err.line, err.reason.as_str()),
            (3, "container 101 is listed twice")
        );
    }

    #[test]
    fn printer_matches_the_samples_byte_for_byte() {
        // pct-list.3 lost its trailing padding in the HTML it was copied from.
        for name in [
            "pct-list.1.txt",
            "pct-list.2.txt",
            "pct-list.lock.reconstructed.txt",
        ] {
            let text = proxmox_sample(name);
            let rows = parse_pct_list(&text).expect("sample");
            assert_eq!(format_pct_list(&rows), text, "{name}");
        }
        assert_eq!(format_pct_list(&[]), "");
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/pct-list.*",
            |path| {
                insta::assert_debug_snapshot!(parse_pct_list(&fixture_body(path)));
            }
        );
    }
}
