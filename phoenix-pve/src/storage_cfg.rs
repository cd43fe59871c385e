//! `/etc/pve/storage.cfg`: Proxmox VE's storage definitions, as SectionConfig text.
//!
//! Rules (`fixtures/proxmox/SOURCES.md` §4, pve-common SectionConfig): a section is a header
//! `<type>: <storeid>` at the start of a line, then option lines that start with whitespace (a
//! TAB when PVE writes them, any whitespace when a person did), each `<key> <value>` or a bare
//! `<key>` (a flag such as `sparse` or `disable`, which means true). A section ends at the first
//! empty line. Lines whose first non-blank character is `#` are comments. A key may appear once
//! per section.

use std::collections::BTreeMap;

use crate::ParseError;

/// One storage definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StorageSection {
    /// The storage type: `dir`, `zfspool`, `lvmthin`, `nfs`, ...
    pub kind: String,
    /// The storage id.
    pub id: String,
    /// Option lines; a bare key maps to `""`.
    pub options: BTreeMap<String, String>,
}

impl StorageSection {
    /// A section with no options.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> StorageSection {
        StorageSection {
            kind: kind.into(),
            id: id.into(),
            options: BTreeMap::new(),
        }
    }

    /// The `content` list (`images,rootdir`), each type once; `none` and blanks are no type.
    /// Proxmox splits lists on `,`, `;` and blanks, so a hand-written `content iso; vztmpl` counts.
    pub fn content(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        let list = self.options.get("content").map_or("", String::as_str);
        for item in list.split([',', ';', ' ', '\t']) {
            if !item.is_empty() && item != "none" && !types.contains(&item) {
                types.push(item);
            }
        }
        types
    }

    /// Whether the `content` list has `kind` (`rootdir`, `vztmpl`, ...).
    pub fn has_content(&self, kind: &str) -> bool {
        self.content().contains(&kind)
    }
}

/// Parses storage.cfg; sections come back in file order.
pub fn parse_storage_cfg(text: &str) -> Result<Vec<StorageSection>, ParseError> {
    let mut sections: Vec<StorageSection> = Vec::new();
    let mut in_section = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        if trimmed.is_empty() {
            in_section = false;
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let section = sections.last_mut().filter(|_| in_section).ok_or_else(|| {
                ParseError::new(
                    number,
                    "option line outside a section (after an empty line?)",
                )
            })?;
            let (key, value) = match trimmed.split_once(char::is_whitespace) {
                Some((key, value)) => (key, value.trim()),
                None => (trimmed, ""),
            };
            if section
                .options
                .insert(key.to_owned(), value.to_owned())
                .is_some()
            {
                return Err(ParseError::new(
                    number,
                    format!("duplicate key `{key}` in storage `{}`", section.id),
                ));
            }
        } else {
            let (kind, id) = trimmed.split_once(':').ok_or_else(|| {
                ParseError::new(
                    number,
                    format!("expected `<type>: <storage id>`, found `{trimmed}`"),
                )
            })?;
            let (kind, id) = (kind.trim(), id.trim());
            let valid_kind = !kind.is_empty()
                && kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid_kind || id.is_empty() || id.contains(char::is_whitespace) {
                return Err(ParseError::new(
                    number,
                    format!("expected `<type>: <storage id>`, found `{trimmed}`"),
                ));
            }
            if sections.iter().any(|section| section.id == id) {
                return Err(ParseError::new(
                    number,
                    format!("storage `{id}` is defined twice"),
                ));
            }
            sections.push(StorageSection::new(kind, id));
            in_section = true;
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture_body;

    #[test]
    fn flags_comments_and_any_indent() {
        let text = "# written by hand\ndir: local\n\tpath /var/lib/vz\n  # a comment\n    content iso,backup\n\tdisable\n\nzfspool: tank\n\tpool tank/data\n\tsparse\n";
        let sections = parse_storage_cfg(text).expect("valid");
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].kind, "dir");
        assert_eq!(sections[0].options["content"], "iso,backup");
        assert_eq!(sections[0].options["disable"], "");
        assert_eq!(sections[1].options["sparse"], "");
        assert_eq!(sections[0].content(), ["iso", "backup"]);
        assert!(!sections[1].has_content("rootdir"));
        let mut section = StorageSection::new("dir", "x");
        section
            .options
            .insert("content".to_owned(), "iso; vztmpl,iso none".to_owned());
        assert_eq!(section.content(), ["iso", "vztmpl"]);
    }

    #[test]
    fn errors() {
        let err = parse_storage_cfg("dir: a\n\tpath /x\n\n\tcontent iso\n").expect_err("orphan");
        assert_eq!(err.line, 4);
        let err = parse_storage_cfg("dir: a\n\tpath /x\n\tpath /y\n").expect_err("duplicate");
        assert_eq!(err.line, 3);
        let err = parse_storage_cfg("dir a\n").expect_err("no colon");
        assert_eq!(err.line, 1);
        let err = parse_storage_cfg("dir: a\n\ndir: a\n").expect_err("same id");
        assert_eq!(err.reason, "storage `a` is defined twice");
        assert_eq!(parse_storage_cfg(""), Ok(Vec::new()));
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../shared/fixtures",
            "proxmox/storage.cfg.*",
            |path| {
                insta::assert_debug_snapshot!(parse_storage_cfg(&fixture_body(path)));
            }
        );
    }
}
