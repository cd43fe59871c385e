//! JSON paths such as `lxc_configs."951".memory_mb`: where a value sits inside a config document.

use std::fmt;

/// A path from the top of a config document down to one value.
///
/// It displays as `lxc_configs."951".memory_mb` or `zfs.datasets[3].properties`: keys that look
/// like identifiers are written bare, other keys are JSON-quoted, and array indexes are written
/// in brackets. The root path displays as the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A key of an object.
    Key(String),
    /// An index into an array, from 0.
    Index(usize),
}

impl JsonPath {
    /// The path of the whole document.
    pub fn root() -> JsonPath {
        JsonPath::default()
    }

    /// This path followed by an object key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> JsonPath {
        self.child(Segment::Key(key.into()))
    }

    /// This path followed by an array index.
    #[must_use]
    pub fn index(&self, index: usize) -> JsonPath {
        self.child(Segment::Index(index))
    }

    /// This path followed by one segment.
    #[must_use]
    pub fn child(&self, segment: Segment) -> JsonPath {
        let mut segments = Vec::with_capacity(self.segments.len() + 1);
        segments.extend_from_slice(&self.segments);
        segments.push(segment);
        JsonPath { segments }
    }

    /// This path followed by `other`, which is relative to it.
    #[must_use]
    pub fn join(&self, other: &JsonPath) -> JsonPath {
        let mut segments = self.segments.clone();
        segments.extend_from_slice(&other.segments);
        JsonPath { segments }
    }

    /// The segments, outermost first; empty for the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether this is the path of the whole document.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path one step up, or `None` for the root.
    pub fn parent(&self) -> Option<JsonPath> {
        let (_, outer) = self.segments.split_last()?;
        Some(JsonPath {
            segments: outer.to_vec(),
        })
    }

    /// This path followed by a path that `serde_path_to_error` reported relative to it.
    ///
    /// Enum variants become keys, as externally tagged variants are keys in JSON. A segment
    /// that `serde_path_to_error` could not name (a non-string map key) ends the path there, so
    /// the result is the nearest ancestor that can be named.
    #[must_use]
    pub fn join_serde(&self, path: &serde_path_to_error::Path) -> JsonPath {
        use serde_path_to_error::Segment as Serde;
        let mut joined = self.clone();
        for segment in path {
            match segment {
                Serde::Seq { index } => joined.segments.push(Segment::Index(*index)),
                Serde::Map { key } | Serde::Enum { variant: key } => {
                    joined.segments.push(Segment::Key(key.clone()));
                }
                Serde::Unknown => break,
            }
        }
        joined
    }
}

impl From<&serde_path_to_error::Path> for JsonPath {
    fn from(path: &serde_path_to_error::Path) -> JsonPath {
        JsonPath::root().join_serde(path)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    // A huge key (a hostile config's) is cut, as values are in messages.
                    match key.char_indices().nth(MAX_SHOWN_CHARS) {
                        Some((cut, _)) => write!(f, "{}…", quote(&key[..cut]))?,
                        None if is_bare_key(key) => f.write_str(key)?,
                        None => f.write_str(&quote(key))?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// How many characters of a key a path shows.
const MAX_SHOWN_CHARS: usize = 64;

/// Whether a key matches `[A-Za-z_][A-Za-z0-9_]*`, so it can be written without quotes.
fn is_bare_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string as a JSON string literal, for messages: `"memory_mb"`.
pub(crate) fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            // Every control, line-separating or text-reordering character is escaped, so a
            // message never carries one raw to a terminal.
            c if super::text::is_forbidden(c) => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_8_keys_are_shown_escaped_and_cut() {
        let path = JsonPath::root()
            .key("lxc_configs")
            .key("a\u{202e}b\u{7f}\u{1b}")
            .key("k".repeat(1 << 20));
        assert_eq!(
            path.to_string(),
            format!(
                "lxc_configs.\"a\\u202eb\\u007f\\u001b\".\"{}\"…",
                "k".repeat(64)
            )
        );
    }

    #[test]
    fn display_quotes_keys_that_are_not_identifiers() {
        let root = JsonPath::root();
        assert_eq!(root.to_string(), "");
        assert_eq!(
            root.key("lxc_configs")
                .key("951")
                .key("memory_mb")
                .to_string(),
            r#"lxc_configs."951".memory_mb"#
        );
        assert_eq!(
            root.key("zfs")
                .key("datasets")
                .index(3)
                .key("properties")
                .to_string(),
            "zfs.datasets[3].properties"
        );
        assert_eq!(root.key("$schema").to_string(), r#""$schema""#);
        assert_eq!(
            root.key("tests")
                .key("hypervisor_health_.check")
                .to_string(),
            r#"tests."hypervisor_health_.check""#
        );
        assert_eq!(root.key("").to_string(), r#""""#);
        assert_eq!(root.key("a b").key("_x9").to_string(), r#""a b"._x9"#);
        assert_eq!(root.key("say \"hi\"\n").to_string(), r#""say \"hi\"\n""#);
        assert_eq!(root.key("é").to_string(), r#""é""#);
        assert_eq!(root.index(0).index(1).key("a").to_string(), "[0][1].a");
    }

    #[test]
    fn parent_and_segments() {
        let path = JsonPath::root().key("a").index(2);
        assert_eq!(
            path.segments(),
            &[Segment::Key("a".to_owned()), Segment::Index(2)]
        );
        assert_eq!(path.parent(), Some(JsonPath::root().key("a")));
        assert!(JsonPath::root().is_root());
        assert_eq!(JsonPath::root().parent(), None);
    }

    #[test]
    fn join_serde_appends_to_the_base() {
        #[derive(Debug, serde::Deserialize)]
        struct Outer {
            #[expect(dead_code, reason = "only the error path matters")]
            items: Vec<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Inner {
            #[expect(dead_code, reason = "only the error path matters")]
            size: u32,
        }
        let value = serde_json::json!({ "items": [{ "size": 1 }, { "size": "big" }] });
        let err = serde_path_to_error::deserialize::<_, Outer>(&value)
            .expect_err("the second size is a string");
        let base = JsonPath::root().key("lxc_configs").key("951");
        assert_eq!(
            base.join_serde(err.path()).to_string(),
            r#"lxc_configs."951".items[1].size"#
        );
        assert_eq!(JsonPath::from(err.path()).to_string(), "items[1].size");
    }
}
