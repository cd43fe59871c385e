//! One loaded config file: its name, its text and its parsed JSON, with positions for diagnostics.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::path::JsonPath;
use super::scan;
use crate::diag::{Diagnostic, Location};

/// One config file, parsed. The top level is always a JSON object.
///
/// The text is kept so that diagnostics can point at a line and column: `serde_json::Value`
/// keeps no positions, so [`Document::locate`] scans the text again when a diagnostic needs one.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    file: PathBuf,
    text: String,
    value: Value,
}

impl Document {
    /// Parses the text of a config file. `file` is only used to name the file in diagnostics.
    ///
    /// A leading UTF-8 byte order mark is dropped, so that columns on the first line match what
    /// an editor shows. Fails with one error diagnostic, located at the file (and at the line
    /// and column when known), if the text is not JSON or its top level is not an object.
    #[expect(
        clippy::result_large_err,
        reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
    )]
    pub fn parse(file: PathBuf, text: String) -> Result<Document, Diagnostic> {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_owned(),
            None => text,
        };
        let display = file.display().to_string();
        if text.trim().is_empty() {
            return Err(
                Diagnostic::error("invalid JSON: the file is empty").at(Location::new(display, ""))
            );
        }
        let value: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(err) => return Err(syntax_error(&display, &text, &err)),
        };
        if let Some(duplicate) = scan::first_duplicate_key(&text) {
            return Err(duplicate_key(&display, &text, &duplicate));
        }
        let document = Document { file, text, value };
        if !document.value.is_object() {
            let found = kind_of(&document.value);
            return Err(Diagnostic::error(format!(
                "expected a JSON object at the top level, found {found}"
            ))
            .at(document.location(&JsonPath::root())));
        }
        Ok(document)
    }

    /// The file this document was read from, as given to [`Document::parse`].
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The source text, without a byte order mark.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed JSON; always an object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The top-level object, with its keys in file order.
    pub fn object(&self) -> &Map<String, Value> {
        self.value
            .as_object()
            .expect("invariant: Document::parse accepts only a top-level object")
    }

    /// The value at `path`, if there is one.
    pub fn get(&self, path: &JsonPath) -> Option<&Value> {
        use super::path::Segment;
        path.segments()
            .iter()
            .try_fold(&self.value, |value, segment| match segment {
                Segment::Key(key) => value.get(key.as_str()),
                Segment::Index(index) => value.get(*index),
            })
    }

    /// The 1-based line and column where the value at `path` starts: for a key, the position of
    /// its value, not of the key. Columns count characters. `None` if the path does not exist.
    /// When a key occurs twice in one object, the last occurrence counts, as in the parsed value.
    pub fn locate(&self, path: &JsonPath) -> Option<(usize, usize)> {
        let offset = scan::locate_offset(&self.text, path)?;
        Some(scan::line_column(&self.text, offset))
    }

    /// A diagnostic location for `path`: the file, the path, and the line and column of the
    /// value at `path`. If `path` does not exist (a missing key, say), the line and column are
    /// those of its nearest ancestor that does, while the path stays the one asked for.
    pub fn location(&self, path: &JsonPath) -> Location {
        let location = Location::new(self.file.display().to_string(), path.to_string());
        let mut ancestor = Some(path.clone());
        while let Some(candidate) = ancestor {
            if let Some((line, column)) = self.locate(&candidate) {
                return location.at(line, column);
            }
            ancestor = candidate.parent();
        }
        location
    }
}

/// What kind of JSON value this is, with an article, for messages such as "expected an object,
/// found a string".
///
/// ```
/// # use phoenix_core::config::kind_of;
/// assert_eq!(kind_of(&serde_json::json!([1, 2])), "an array");
/// ```
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A key given twice in one object: JSON parsers keep one value silently, so the config is
/// ambiguous and refused, naming both places.
fn duplicate_key(file: &str, text: &str, duplicate: &scan::DuplicateKey) -> Diagnostic {
    let (first_line, first_column) = scan::line_column(text, duplicate.first);
    let (line, column) = scan::line_column(text, duplicate.second);
    let key = match duplicate.path.segments().last() {
        Some(super::path::Segment::Key(key)) => super::path::quote(key),
        _ => String::new(),
    };
    Diagnostic::error(format!(
        "duplicate key {key} (first at line {first_line}, column {first_column}); each key may appear once in an object"
    ))
    .at(Location::new(file, duplicate.path.to_string()).at(line, column))
}

/// A syntax error as a diagnostic: serde_json's message without its " at line L column C"
/// suffix, which moves into the location.
fn syntax_error(file: &str, text: &str, err: &serde_json::Error) -> Diagnostic {
    let message = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    let column = char_column(text, err.line(), err.column());
    Diagnostic::error(format!("invalid JSON: {message}"))
        .at(Location::new(file, "").at(err.line(), column))
}

/// serde_json counts columns in bytes, with the offending byte at `column`; this counts
/// characters instead, to match [`Document::locate`]. Never less than 1.
fn char_column(text: &str, line: usize, column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return column.max(1);
    };
    let chars = line_text
        .char_indices()
        .take_while(|&(offset, _)| offset < column)
        .count();
    chars.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(
        clippy::result_large_err,
        reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
    )]
    fn parse(text: &str) -> Result<Document, Diagnostic> {
        Document::parse(PathBuf::from("/etc/phoenix/x.json"), text.to_owned())
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("the text is invalid").to_string()
    }

    #[test]
    fn syntax_errors_carry_the_file_line_and_column() {
        insta::assert_snapshot!(
            error("{\n  \"a\": 1\n  \"b\": 2\n}"),
            @r#"error: /etc/phoenix/x.json:3:3: invalid JSON: expected `,` or `}`"#
        );
        insta::assert_snapshot!(
            error("{\n  \"a\": [1, 2,]\n}"),
            @"error: /etc/phoenix/x.json:2:14: invalid JSON: trailing comma"
        );
        insta::assert_snapshot!(
            error("{\"a\": \"é\" \"b\"}"),
            @r#"error: /etc/phoenix/x.json:1:11: invalid JSON: expected `,` or `}`"#
        );
        insta::assert_snapshot!(
            error("{\"a\": 1"),
            @"error: /etc/phoenix/x.json:1:7: invalid JSON: EOF while parsing an object"
        );
        insta::assert_snapshot!(
            error(" \n\t"),
            @"error: /etc/phoenix/x.json: invalid JSON: the file is empty"
        );
    }

    #[test]
    fn the_top_level_must_be_an_object() {
        insta::assert_snapshot!(
            error("\n  [1, 2]"),
            @"error: /etc/phoenix/x.json:2:3: expected a JSON object at the top level, found an array"
        );
        insta::assert_snapshot!(
            error("\"text\""),
            @"error: /etc/phoenix/x.json:1:1: expected a JSON object at the top level, found a string"
        );
    }

    #[test]
    fn issue_8_duplicate_keys_are_refused_with_both_places() {
        insta::assert_snapshot!(
            error("{\n  \"files\": [\n    {\"path\": \"/a\", \"content\": \"x\", \"mode\": \"0644\",\n     \"mode\": \"0600\"}\n  ]\n}"),
            @r#"error: /etc/phoenix/x.json:4:6 at files[0].mode: duplicate key "mode" (first at line 3, column 36); each key may appear once in an object"#
        );
        insta::assert_snapshot!(
            error("{\"files\": [],\n \"files\": []}"),
            @r#"error: /etc/phoenix/x.json:2:2 at files: duplicate key "files" (first at line 1, column 2); each key may appear once in an object"#
        );
        insta::assert_snapshot!(
            error("{\"lxc_configs\": {\n  \"101\": {},\n  \"101\": {}\n}}"),
            @r#"error: /etc/phoenix/x.json:3:3 at lxc_configs."101": duplicate key "101" (first at line 2, column 3); each key may appear once in an object"#
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let document = parse("\u{feff}{\"a\": 1}").expect("valid JSON");
        assert_eq!(document.text(), "{\"a\": 1}");
        assert_eq!(document.locate(&JsonPath::root().key("a")), Some((1, 7)));
    }

    #[test]
    fn location_falls_back_to_the_nearest_ancestor() {
        let document = parse("{\n  \"a\": {\n    \"b\": 1\n  }\n}").expect("valid JSON");
        let missing = JsonPath::root().key("a").key("c").index(0);
        let location = document.location(&missing);
        assert_eq!(location.to_string(), "/etc/phoenix/x.json:2:8 at a.c[0]");
        let found = document.location(&JsonPath::root().key("a").key("b"));
        assert_eq!(found.to_string(), "/etc/phoenix/x.json:3:10 at a.b");
        assert_eq!(
            document.get(&JsonPath::root().key("a").key("b")),
            Some(&Value::from(1))
        );
    }
}
