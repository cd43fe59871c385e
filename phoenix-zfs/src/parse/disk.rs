//! What is on a disk: `wipefs --no-act [--json] DEV` and `blkid -p DEV` (util-linux).
//!
//! `wipefs --json` prints `{"signatures": [...]}` with `device` (the basename of the argument),
//! `offset` (hex string), `type`, `uuid` and `label` (both may be null), as in
//! `fixtures/zfs/wipefs-noact-json.*.txt`. A disk without signatures prints an empty array on
//! util-linux 2.37 and later, and nothing at all on older versions; both give an empty list.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ParseError;

/// One signature (filesystem, RAID member or partition table) found on a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Signature {
    /// The device, as wipefs names it (the basename of the path it was given).
    pub device: String,
    /// The byte offset of the magic string.
    pub offset: u64,
    /// The signature type: `ext4`, `zfs_member`, `gpt`, `PMBR`, ...
    pub kind: String,
    /// The filesystem UUID, if the type has one.
    pub uuid: Option<String>,
    /// The filesystem label, if set.
    pub label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WipefsJson {
    signatures: Vec<WipefsEntry>,
}

#[derive(Deserialize)]
struct WipefsEntry {
    device: String,
    offset: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

/// Parses a hex offset such as `0x438`.
fn parse_offset(text: &str, line: usize) -> Result<u64, ParseError> {
    text.strip_prefix("0x")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| ParseError::new(line, format!("offset `{text}` is not a hex number")))
}

/// Parses `wipefs --no-act --json DEV`; empty output means no signatures.
pub fn parse_wipefs_json(text: &str) -> Result<Vec<Signature>, ParseError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parsed: WipefsJson = serde_json::from_str(text).map_err(|err| ParseError::json(&err))?;
    parsed
        .signatures
        .into_iter()
        .map(|entry| {
            Ok(Signature {
                offset: parse_offset(&entry.offset, 0)?,
                device: entry.device,
                kind: entry.kind,
                uuid: entry.uuid,
                label: entry.label,
            })
        })
        .collect()
}

/// Parses the default `wipefs --no-act DEV` table (columns DEVICE OFFSET TYPE UUID LABEL, aligned
/// by libsmartcols; UUID and LABEL may be blank). Empty output means no signatures.
pub fn parse_wipefs_table(text: &str) -> Result<Vec<Signature>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let names = ["DEVICE", "OFFSET", "TYPE", "UUID", "LABEL"];
    let mut starts = Vec::new();
    for name in names {
        let at = header
            .find(name)
            .ok_or_else(|| ParseError::new(1, format!("header has no `{name}` column")))?;
        starts.push(at);
    }
    if starts.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(ParseError::new(
            1,
            "header columns are not DEVICE OFFSET TYPE UUID LABEL",
        ));
    }
    let cell = |line: &str, column: usize| -> String {
        let start = starts[column].min(line.len());
        let end = starts
            .get(column + 1)
            .map_or(line.len(), |end| (*end).min(line.len()));
        line.get(start..end).unwrap_or_default().trim().to_owned()
    };
    lines
        .map(|(index, line)| {
            let number = index + 1;
            let optional = |text: String| (!text.is_empty()).then_some(text);
            Ok(Signature {
                device: cell(line, 0),
                offset: parse_offset(&cell(line, 1), number)?,
                kind: cell(line, 2),
                uuid: optional(cell(line, 3)),
                label: optional(cell(line, 4)),
            })
        })
        .collect()
}

/// One device's tags from `blkid -p DEV`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct BlkidProbe {
    /// The device as given to blkid.
    pub device: String,
    /// The tags (`TYPE`, `UUID`, `LABEL`, `PTTYPE`, `PART_ENTRY_*`, ...).
    pub tags: BTreeMap<String, String>,
}

/// Parses `blkid -p DEV...`: one `DEV: KEY="value" ...` line per device that has something.
/// A device with nothing on it prints nothing (and blkid exits 2), so empty output gives an
/// empty list. Values are unescaped (`\"` and `\\`).
pub fn parse_blkid_p(text: &str) -> Result<Vec<BlkidProbe>, ParseError> {
    let mut probes = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (device, mut rest) = line
            .split_once(": ")
            .ok_or_else(|| ParseError::new(number, "expected `DEVICE: KEY=\"value\" ...`"))?;
        let mut tags = BTreeMap::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (key, after) = rest.split_once("=\"").ok_or_else(|| {
                ParseError::new(number, format!("expected KEY=\"value\" at `{rest}`"))
            })?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let mut end = None;
            while let Some((at, ch)) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(at);
                        break;
                    }
                    _ => value.push(ch),
                }
            }
            let end = end
                .ok_or_else(|| ParseError::new(number, format!("unterminated value of `{key}`")))?;
            tags.insert(key.to_owned(), value);
            rest = &after[end + 1..];
        }
        probes.push(BlkidProbe {
            device: device.to_owned(),
            tags,
        });
    }
    Ok(probes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::fixture_body;

    #[test]
    fn empty_json_forms() {
        assert_eq!(parse_wipefs_json(""), Ok(Vec::new()));
        assert_eq!(
            parse_wipefs_json("{\n   \"signatures\": [\n   ]\n}\n"),
            Ok(Vec::new())
        );
        assert!(
            parse_wipefs_json(
                "{\"signatures\": [{\"device\": \"x\", \"offset\": \"438\", \"type\": \"ext4\"}]}"
            )
            .is_err()
        );
        assert_eq!(parse_wipefs_json("{").expect_err("truncated").line, 1);
    }

    #[test]
    fn blkid_escapes() {
        let probes = parse_blkid_p("/dev/x: LABEL=\"a \\\"b\\\"\" TYPE=\"ext4\"\n").expect("valid");
        assert_eq!(probes[0].tags["LABEL"], "a \"b\"");
        assert_eq!(probes[0].tags["TYPE"], "ext4");
        assert!(parse_blkid_p("/dev/x: TYPE=\"ext4\n").is_err());
        assert_eq!(parse_blkid_p("\n"), Ok(Vec::new()));
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/wipefs-noact-json.*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_wipefs_json(&fixture_body(path)));
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/wipefs-noact.*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_wipefs_table(&fixture_body(path)));
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/blkid.*.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_blkid_p(&fixture_body(path)));
            }
        );
    }
}
