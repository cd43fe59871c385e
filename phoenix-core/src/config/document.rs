//! One loaded config file: its name, its text and its parsed JSON, with positions for diagnostics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Map, Value};

use super::path::{JsonPath, Segment};
use super::scan;
use crate::diag::{Diagnostic, Location};

/// One config file, parsed. The top level is always a JSON object.
///
/// The text is kept so that diagnostics can point at a line and column: `serde_json::Value`
/// keeps no positions, so [`Document::locate`] scans the text again when a diagnostic needs one.
/// What it scans is remembered, so locating every entry of a large file costs
/// one pass over its text, not one pass per entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    file: PathBuf,
    text: String,
    value: Value,
    positions: Positions,
}

/// What [`Document::locate`] has learnt of the text: the children of every container it has
/// scanned (by the offset where the container starts) and where each line starts. A cache only:
/// a clone starts empty and it takes no part in equality.
#[derive(Default)]
struct Positions {
    children: Mutex<HashMap<usize, Arc<HashMap<Segment, usize>>>>,
    line_starts: OnceLock<Vec<usize>>,
    /// For each long line (by its start), checkpoints `(byte offset, characters before it)`
    /// every [`CHECKPOINT_BYTES`] or so, so a column on a long line (a config written as one
    /// line) does not count from the line's start every time.
    long_lines: Mutex<HashMap<usize, Arc<Checkpoints>>>,
}

/// `(byte offset, characters of the line before it)` pairs of one long line, in order.
type Checkpoints = Vec<(usize, usize)>;

/// The spacing of the checkpoints of a long line, in bytes.
const CHECKPOINT_BYTES: usize = 4096;

impl Clone for Positions {
    fn clone(&self) -> Positions {
        Positions::default()
    }
}

impl PartialEq for Positions {
    fn eq(&self, _: &Positions) -> bool {
        true
    }
}

impl std::fmt::Debug for Positions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Positions")
    }
}

impl Positions {
    /// The children of the container at `offset`, scanned once.
    fn children(&self, text: &str, offset: usize) -> Arc<HashMap<Segment, usize>> {
        let mut known = self.children.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            known
                .entry(offset)
                .or_insert_with(|| Arc::new(scan::children(text, offset).into_iter().collect())),
        )
    }

    /// The 1-based line and column of `offset` (columns count characters).
    fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(at, _)| at + 1))
                .collect()
        });
        let line = starts.partition_point(|&start| start <= offset).max(1);
        let start = starts[line - 1];
        if offset - start <= CHECKPOINT_BYTES {
            let (_, column) = scan::line_column(&text[start..], offset - start);
            return (line, column);
        }
        let checkpoints = {
            let mut known = self
                .long_lines
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                known
                    .entry(start)
                    .or_insert_with(|| Arc::new(checkpoints(text, start))),
            )
        };
        let (at, chars) =
            checkpoints[checkpoints.partition_point(|&(at, _)| at <= offset).max(1) - 1];
        let (_, column) = scan::line_column(&text[at..], offset - at);
        (line, chars + column)
    }
}

/// The checkpoints of the line starting at `start`: `(byte offset, characters of the line
/// before it)`, the first at `start`, then one at the first character boundary every
/// [`CHECKPOINT_BYTES`].
fn checkpoints(text: &str, start: usize) -> Checkpoints {
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut checkpoints = vec![(start, 0)];
    let mut next = CHECKPOINT_BYTES;
    for (chars, (at, _)) in line.char_indices().enumerate() {
        if at >= next {
            checkpoints.push((start + at, chars));
            next = at + CHECKPOINT_BYTES;
        }
    }
    checkpoints
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
        let document = Document {
            file,
            text,
            value,
            positions: Positions::default(),
        };
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
        let mut offset = self.text.len() - self.text.trim_start().len();
        for segment in path.segments() {
            offset = *self.positions.children(&self.text, offset).get(segment)?;
        }
        (offset < self.text.len()).then(|| self.positions.line_column(&self.text, offset))
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
    fn issue_10_positions_on_a_long_line_count_characters() {
        // A config written as one line, with multi-byte characters before the values.
        let mut text = String::from("{");
        for i in 0..2000 {
            text.push_str(&format!("\"k{i}\": \"\u{e9}\u{2713}{i}\", "));
        }
        text.push_str("\"last\": 1}");
        let document = parse(&text).expect("valid");
        for i in [0, 1, 999, 1999] {
            let path = JsonPath::root().key(format!("k{i}"));
            let offset = scan::locate_offset(&text, &path).expect("exists");
            assert_eq!(
                document.locate(&path),
                Some(scan::line_column(&text, offset)),
                "{path}"
            );
        }
        let last = JsonPath::root().key("last");
        let offset = scan::locate_offset(&text, &last).expect("exists");
        assert_eq!(
            document.locate(&last),
            Some(scan::line_column(&text, offset))
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
