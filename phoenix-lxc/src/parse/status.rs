//! `pct status <vmid> [--verbose]`: `key: value` lines.
//!
//! Format (pve-container `src/PVE/CLI/pct.pm`, `status`; `fixtures/proxmox/SOURCES.md` §3, checked
//! on `pct-status.*`): without `--verbose`, exactly `status: running|stopped|unknown`. With it,
//! every defined key of the status hash except `cpu`, sorted, as `key: value`.

use std::collections::BTreeMap;

use super::ParseError;

/// What `pct status` printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PctStatus {
    /// Every `key: value` line.
    pub fields: BTreeMap<String, String>,
}

impl PctStatus {
    /// `running`, `stopped` or `unknown`.
    pub fn status(&self) -> Option<&str> {
        self.get("status")
    }

    /// Any field (`maxmem`, `uptime`, `pid`, `lock`, ...).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Reads `pct status` output.
pub fn parse_pct_status(text: &str) -> Result<PctStatus, ParseError> {
    let mut status = PctStatus::default();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .filter(|(key, _)| !key.is_empty() && !key.contains(char::is_whitespace))
            .ok_or_else(|| {
                ParseError::new(index + 1, format!("expected `key: value`, found `{line}`"))
            })?;
        let value = value.strip_prefix(' ').unwrap_or(value);
        if status
            .fields
            .insert(key.to_owned(), value.to_owned())
            .is_some()
        {
            return Err(ParseError::new(index + 1, format!("`{key}` appears twice")));
        }
    }
    if status.status().is_none() {
        return Err(ParseError::new(0, "no `status:` line"));
    }
    Ok(status)
}

/// Prints fields as `pct status --verbose` does: sorted `key: value` lines.
pub fn format_pct_status(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(key, value)| format!("{key}: {value}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::{fixture_body, proxmox_sample};

    #[test]
    fn printer_matches_the_samples() {
        for name in [
            "pct-status.1.txt",
            "pct-status.verbose.running.1.txt",
            "pct-status.verbose.running.pve9.reconstructed.txt",
            "pct-status.verbose.stopped.1.txt",
        ] {
            let text = proxmox_sample(name);
            let status = parse_pct_status(&text).expect("sample");
            assert_eq!(format_pct_status(&status.fields), text, "{name}");
        }
    }

    #[test]
    fn errors() {
        assert!(parse_pct_status("").is_err());
        assert_eq!(
            parse_pct_status("status running\n")
                .expect_err("no colon")
                .line,
            1
        );
        assert!(parse_pct_status("status: a\nstatus: b\n").is_err());
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/pct-status.*",
            |path| {
                insta::assert_debug_snapshot!(parse_pct_status(&fixture_body(path)));
            }
        );
    }
}
