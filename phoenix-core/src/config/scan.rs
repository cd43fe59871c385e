//! A small JSON scanner that finds where the value at a [`JsonPath`] starts in the source text.
//!
//! `serde_json::Value` keeps no positions, so diagnostics find their line and column by walking
//! the text again. The scanner only runs on text that `serde_json` has already parsed, so it does
//! not validate; on anything unexpected it gives up and returns `None` rather than guessing.

use super::path::{JsonPath, Segment};

/// The byte offset where the value at `path` starts in `text`, or `None` when the path does not
/// exist. For a duplicated key the last occurrence counts, as it does for `serde_json`. The
/// reference the remembered positions of `Document::locate` are tested against.
#[cfg(test)]
pub(crate) fn locate_offset(text: &str, path: &JsonPath) -> Option<usize> {
    let mut offset = text.len() - text.trim_start().len();
    for segment in path.segments() {
        offset = children(text, offset)
            .into_iter()
            .rev()
            .find(|(child, _)| child == segment)?
            .1;
    }
    (offset < text.len()).then_some(offset)
}

/// The values directly inside the object or array whose value starts at `offset`: each child's
/// key (or index) and the offset where its value starts; empty for a scalar. A duplicated key
/// is listed at each occurrence, in file order, so a map built from the list keeps the last,
/// as `serde_json` does. One pass over the container's text.
pub(crate) fn children(text: &str, offset: usize) -> Vec<(Segment, usize)> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: offset,
    };
    scanner.skip_whitespace();
    scanner.children().unwrap_or_default()
}

/// A key that occurs twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    /// The path of the key (its second occurrence).
    pub(crate) path: JsonPath,
    /// The byte offset of the first occurrence's opening quote.
    pub(crate) first: usize,
    /// The byte offset of the second occurrence's opening quote.
    pub(crate) second: usize,
}

/// The first key, in file order, that occurs twice in one object of `text` (already parsed by
/// `serde_json`, which silently keeps the last value). Keys compare after unescaping, as
/// `serde_json` compares them. Nesting is walked with an explicit stack, not recursion.
pub(crate) fn first_duplicate_key(text: &str) -> Option<DuplicateKey> {
    enum Frame {
        Object {
            path: JsonPath,
            keys: std::collections::HashMap<String, usize>,
            key: Option<String>,
        },
        Array {
            path: JsonPath,
            index: usize,
        },
    }
    fn value_path(stack: &[Frame]) -> JsonPath {
        match stack.last() {
            None => JsonPath::root(),
            Some(Frame::Object { path, key, .. }) => path.key(key.clone().unwrap_or_default()),
            Some(Frame::Array { path, index }) => path.index(*index),
        }
    }
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut stack: Vec<Frame> = Vec::new();
    // Whether the next string in the innermost object is a key.
    let mut expect_key = false;
    loop {
        scanner.skip_whitespace();
        let byte = scanner.peek()?;
        match byte {
            b'{' => {
                let path = value_path(&stack);
                stack.push(Frame::Object {
                    path,
                    keys: std::collections::HashMap::new(),
                    key: None,
                });
                expect_key = true;
                scanner.pos += 1;
            }
            b'[' => {
                let path = value_path(&stack);
                stack.push(Frame::Array { path, index: 0 });
                expect_key = false;
                scanner.pos += 1;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
                scanner.pos += 1;
                if stack.is_empty() {
                    return None;
                }
            }
            b',' => {
                match stack.last_mut()? {
                    Frame::Object { .. } => expect_key = true,
                    Frame::Array { index, .. } => *index += 1,
                }
                scanner.pos += 1;
            }
            b':' => {
                expect_key = false;
                scanner.pos += 1;
            }
            b'"' if expect_key => {
                let start = scanner.pos;
                let name = scanner.read_string()?;
                let Some(Frame::Object { path, keys, key }) = stack.last_mut() else {
                    return None;
                };
                if let Some(&first) = keys.get(&name) {
                    return Some(DuplicateKey {
                        path: path.key(name),
                        first,
                        second: start,
                    });
                }
                keys.insert(name.clone(), start);
                *key = Some(name);
            }
            _ => scanner.skip_value()?,
        }
    }
}

/// The 1-based line and column of a byte offset. Lines end at `\n`, as in `serde_json`; columns
/// count characters, not bytes.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = 1 + before.bytes().filter(|&byte| byte == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = 1 + before[line_start..].chars().count();
    (line, column)
}

/// The largest char boundary at or below `offset`, clamped to the text.
fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// At the start of a value: its direct children with the offsets of their values.
    fn children(&mut self) -> Option<Vec<(Segment, usize)>> {
        let mut found = Vec::new();
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                self.skip_whitespace();
                if self.expect(b'}').is_some() {
                    return Some(found);
                }
                loop {
                    self.skip_whitespace();
                    let member = self.read_string()?;
                    self.skip_whitespace();
                    self.expect(b':')?;
                    self.skip_whitespace();
                    found.push((Segment::Key(member), self.pos));
                    self.skip_value()?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b'}' => return Some(found),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.skip_whitespace();
                if self.expect(b']').is_some() {
                    return Some(found);
                }
                loop {
                    self.skip_whitespace();
                    found.push((Segment::Index(found.len()), self.pos));
                    self.skip_value()?;
                    self.skip_whitespace();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => return Some(found),
                        _ => return None,
                    }
                }
            }
            _ => Some(found),
        }
    }

    /// Skips one value of any kind. Containers are skipped by counting brackets outside strings,
    /// so deep nesting needs no recursion.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0_usize;
                loop {
                    match self.peek()? {
                        b'"' => self.skip_string()?,
                        b'{' | b'[' => {
                            depth += 1;
                            self.pos += 1;
                        }
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            self.pos += 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => self.pos += 1,
                    }
                }
            }
            _ => {
                let start = self.pos;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.pos += 1;
                }
                (self.pos > start).then_some(())
            }
        }
    }

    /// Skips a string, including its quotes. Bytes of multi-byte characters never equal `"` or
    /// `\`, so scanning bytes is safe.
    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Reads and decodes a string, including its quotes, so keys written with escapes compare
    /// equal to the keys `serde_json` produced.
    fn read_string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut decoded = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return String::from_utf8(decoded).ok();
                }
                b'\\' => {
                    self.pos += 1;
                    let escape = self.peek()?;
                    self.pos += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.read_unicode_escape()?,
                        _ => return None,
                    };
                    let mut buffer = [0; 4];
                    decoded.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                }
                byte => {
                    decoded.push(byte);
                    self.pos += 1;
                }
            }
        }
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` when the first is a high surrogate.
    fn read_unicode_escape(&mut self) -> Option<char> {
        let first = self.read_hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            self.expect(b'\\')?;
            self.expect(b'u')?;
            let second = self.read_hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            char::from_u32(code)
        } else {
            char::from_u32(first)
        }
    }

    fn read_hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let digits = std::str::from_utf8(digits).ok()?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 4;
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: &JsonPath) -> Option<(usize, usize)> {
        locate_offset(text, path).map(|offset| line_column(text, offset))
    }

    #[test]
    fn finds_values_in_nested_objects_and_arrays() {
        let text = "{\n  \"a\": {\"b\": [1, {\"c\": true}]},\n  \"d\" : \"x\"\n}";
        let root = JsonPath::root();
        assert_eq!(at(text, &root), Some((1, 1)));
        assert_eq!(at(text, &root.key("a")), Some((2, 8)));
        assert_eq!(at(text, &root.key("a").key("b")), Some((2, 14)));
        assert_eq!(at(text, &root.key("a").key("b").index(0)), Some((2, 15)));
        assert_eq!(
            at(text, &root.key("a").key("b").index(1).key("c")),
            Some((2, 24))
        );
        assert_eq!(at(text, &root.key("d")), Some((3, 9)));
        assert_eq!(at(text, &root.key("e")), None);
        assert_eq!(at(text, &root.key("a").key("b").index(2)), None);
        assert_eq!(at(text, &root.key("d").key("x")), None);
        assert_eq!(at(text, &root.index(0)), None);
    }

    #[test]
    fn strings_with_escapes_and_brackets_do_not_confuse_it() {
        let text = r#"{"s": "a \"}] [{ \\", "k\u0065y": 1, "é\ud83d\ude00": [ ], "t": 2}"#;
        let root = JsonPath::root();
        assert_eq!(at(text, &root.key("key")), Some((1, 35)));
        assert_eq!(at(text, &root.key("é😀")), Some((1, 55)));
        assert_eq!(at(text, &root.key("é😀").index(0)), None);
        assert_eq!(at(text, &root.key("t")), Some((1, 65)));
    }

    #[test]
    fn columns_count_characters_and_the_last_duplicate_wins() {
        let text = "{\"é\": 1, \"x\": 2,\n \"x\": 3}";
        assert_eq!(at(text, &JsonPath::root().key("x")), Some((2, 7)));
        let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(value["x"], 3);
        assert_eq!(at(text, &JsonPath::root().key("é")), Some((1, 7)));
    }

    #[test]
    fn issue_8_the_first_duplicate_key_is_found_at_any_depth() {
        let dup = |text: &str| {
            first_duplicate_key(text).map(|d| {
                (
                    d.path.to_string(),
                    line_column(text, d.first),
                    line_column(text, d.second),
                )
            })
        };
        /// The duplicate's path and the line and column of both occurrences.
        type Found<'a> = Option<(&'a str, (usize, usize), (usize, usize))>;
        let cases: &[(&str, Found<'_>)] = &[
            (r#"{"a": 1, "b": 2}"#, None),
            (r#"{"a": 1, "a": 2}"#, Some(("a", (1, 2), (1, 10)))),
            (
                "{\"files\": [{\"path\": \"/a\",\n \"mode\": \"0644\", \"mode\": \"0600\"}]}",
                Some(("files[0].mode", (2, 2), (2, 18))),
            ),
            // The same key in sibling objects is not a duplicate; escapes are compared decoded.
            (r#"{"x": {"a": 1}, "y": {"a": [{"a": 1}]}}"#, None),
            (
                r#"{"l": {"101": {}, "1\u0030\u0031": {}}}"#,
                Some((r#"l."101""#, (1, 8), (1, 19))),
            ),
            // Keys inside string values and arrays of arrays do not confuse it.
            (
                r#"{"s": "{\"a\": 1, \"a\": 2}", "t": [[1, 2], {"k": 1, "k": 2}]}"#,
                Some(("t[1].k", (1, 46), (1, 54))),
            ),
            (
                r#"{"a": {}, "b": [], "a": null}"#,
                Some(("a", (1, 2), (1, 20))),
            ),
        ];
        for (text, expected) in cases {
            let expected = expected.map(|(path, first, second)| (path.to_owned(), first, second));
            assert_eq!(dup(text), expected, "{text}");
        }
    }

    #[test]
    fn empty_containers_and_scalars() {
        let text = "{\"a\":{},\"b\":[],\"c\":null,\"d\":-1.5e3,\"e\":[[],{}]}";
        let root = JsonPath::root();
        assert_eq!(at(text, &root.key("a")), Some((1, 6)));
        assert_eq!(at(text, &root.key("a").key("x")), None);
        assert_eq!(at(text, &root.key("b").index(0)), None);
        assert_eq!(at(text, &root.key("d")), Some((1, 29)));
        assert_eq!(at(text, &root.key("e").index(1)), Some((1, 44)));
    }

    /// Every path of a value, in preorder, which is file order when no key is duplicated.
    fn all_paths(value: &serde_json::Value, path: JsonPath, out: &mut Vec<JsonPath>) {
        out.push(path.clone());
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    all_paths(child, path.key(key.as_str()), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    all_paths(child, path.index(index), out);
                }
            }
            _ => {}
        }
    }

    /// Checks `locate_offset` on every path of every upstream JSON file against a brute-force
    /// oracle: serde_json, parsing from the found offset, must read exactly the value at that
    /// path; the text before it must be the key and a colon (or `[` or `,` in an array); and
    /// offsets must grow in file order.
    #[test]
    fn agrees_with_serde_json_on_every_path_of_the_upstream_files() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/upstream");
        let mut n_files = 0;
        let mut n_paths = 0;
        let mut n_documents = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let file = entry.expect("dir entry").path();
            if file.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("fixture");
            let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            let mut paths = Vec::new();
            all_paths(&value, JsonPath::root(), &mut paths);
            let mut previous = None;
            // The document's remembered positions agree with a scan from the start.
            let document = super::super::Document::parse(file.clone(), text.clone()).ok();
            n_documents += usize::from(document.is_some());
            for path in &paths {
                let context = format!("{} at {path}", file.display());
                let offset = locate_offset(&text, path).expect(&context);
                if let Some(document) = &document {
                    assert_eq!(
                        document.locate(path),
                        Some(line_column(&text, offset)),
                        "{context}"
                    );
                }
                let mut stream = serde_json::Deserializer::from_str(&text[offset..])
                    .into_iter::<serde_json::Value>();
                let found = stream.next().expect(&context).expect(&context);
                let expected = path
                    .segments()
                    .iter()
                    .try_fold(&value, |value, segment| match segment {
                        Segment::Key(key) => value.get(key.as_str()),
                        Segment::Index(index) => value.get(*index),
                    })
                    .expect(&context);
                assert_eq!(&found, expected, "{context}");
                let before = text[..offset].trim_end();
                match path.segments().last() {
                    None => assert_eq!(before, "", "{context}"),
                    Some(Segment::Key(key)) => {
                        let before = before.strip_suffix(':').expect(&context).trim_end();
                        let quoted = serde_json::to_string(key).expect("a string");
                        assert!(before.ends_with(&quoted), "{context}");
                    }
                    Some(Segment::Index(index)) => {
                        let expected = if *index == 0 { '[' } else { ',' };
                        assert!(before.ends_with(expected), "{context}");
                    }
                }
                assert!(previous < Some(offset), "{context}: offsets must grow");
                previous = Some(offset);
                let (line, column) = line_column(&text, offset);
                let line_text = text.lines().nth(line - 1).expect(&context);
                assert_eq!(
                    line_text.chars().skip(column - 1).collect::<String>(),
                    text[offset..].lines().next().expect(&context),
                    "{context}"
                );
                n_paths += 1;
            }
            n_files += 1;
        }
        assert!(n_files >= 11, "only {n_files} files");
        assert!(n_paths > 2000, "only {n_paths} paths");
        assert!(n_documents >= 11, "only {n_documents} documents");
    }
}
