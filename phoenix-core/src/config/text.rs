//! Rules for the strings of a config: no control characters where a string reaches a file, a
//! property string or an argv; absolute, normalised paths; and short excerpts of huge values for
//! messages.

use serde_json::Value;

use super::path::{JsonPath, Segment};
use super::section::Section;
use crate::diag::Diagnostic;

/// How many characters of a value a message quotes before it cuts the rest.
const EXCERPT_CHARS: usize = 64;

/// A value quoted for a message: JSON-escaped (so control characters show as `\n` or `\u001b`,
/// never raw), and cut after 64 characters with the total size.
///
/// ```
/// # use phoenix_core::config::excerpt;
/// assert_eq!(excerpt("vmbr0\n"), r#""vmbr0\n""#);
/// assert_eq!(excerpt(&"x".repeat(100)), format!("\"{}\"… (100 bytes)", "x".repeat(64)));
/// ```
pub fn excerpt(value: &str) -> String {
    match value.char_indices().nth(EXCERPT_CHARS) {
        None => quote_json(value),
        Some((cut, _)) => format!("{}… ({} bytes)", quote_json(&value[..cut]), value.len()),
    }
}

fn quote_json(value: &str) -> String {
    serde_json::to_string(value).expect("invariant: a string serialises to JSON")
}

/// The first character of `text` that a single-line value may not hold, with its position
/// (counted in characters from 0): C0 and C1 control characters (newline, tab, NUL, ESC, ...),
/// DEL, and the Unicode characters that break lines or reorder text on a terminal (U+2028,
/// U+2029, and the bidirectional overrides and isolates).
pub fn forbidden_char(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| is_forbidden(*c))
}

pub(crate) fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `U+000A (line feed)`: a character named for a message, never printed raw.
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\0' => " (NUL)",
        '\t' => " (tab)",
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\u{1b}' => " (escape)",
        '\u{7f}' => " (delete)",
        _ => "",
    };
    format!("U+{:04X}{name}", u32::from(c))
}

/// Checks a single-line value: the message for its first forbidden character.
pub fn check_single_line(text: &str) -> Result<(), String> {
    match forbidden_char(text) {
        None => Ok(()),
        Some((position, c)) => Err(format!(
            "control character {} at character {position}; names, paths, options and property values are single-line printable text",
            describe_char(c)
        )),
    }
}

/// Checks free text, such as a managed file's content: newlines and tabs are allowed, other
/// control characters are not (they would reach the operator's terminal in a plan's diff).
pub fn check_free_text(text: &str) -> Result<(), String> {
    let found = text
        .chars()
        .enumerate()
        .find(|(_, c)| *c != '\n' && *c != '\t' && is_forbidden(*c));
    match found {
        None => Ok(()),
        Some((position, c)) => Err(format!(
            "control character {} at character {position}; free text may hold newlines and tabs, no other control characters",
            describe_char(c)
        )),
    }
}

/// A path pattern relative to a section, such as `*.content` for `files[3].content`: segments
/// separated by `.`, where `*` matches any key or index.
fn matches(pattern: &str, path: &[Segment]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len()
        && parts.iter().zip(path).all(|(part, segment)| match segment {
            _ if *part == "*" => true,
            Segment::Key(key) => key == part,
            Segment::Index(index) => part.parse::<usize>().ok() == Some(*index),
        })
}

/// Checks every key and string of a section: keys and strings are single-line, except the
/// strings at `free_text` patterns (relative to the section, such as `*.content`), which may
/// hold newlines and tabs. One error per bad string, located at its JSON path.
///
/// The walk uses an explicit stack, so deep nesting cannot overflow the call stack.
pub fn check_strings(section: &Section<'_>, free_text: &[String]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let base = section.path();
    let mut stack: Vec<(Vec<Segment>, &Value)> = vec![(Vec::new(), section.value)];
    while let Some((relative, value)) = stack.pop() {
        let report = |message: String, diagnostics: &mut Vec<Diagnostic>| {
            let path = joined(&base, &relative);
            diagnostics.push(Diagnostic::error(message).at(section.location_of(&path)));
        };
        match value {
            Value::String(text) => {
                let free = free_text.iter().any(|p| matches(p, &relative));
                let checked = if free {
                    check_free_text(text)
                } else {
                    check_single_line(text)
                };
                if let Err(message) = checked {
                    report(message, &mut diagnostics);
                }
            }
            Value::Object(map) => {
                for (key, child) in map.iter().rev() {
                    let mut child_path = relative.clone();
                    child_path.push(Segment::Key(key.clone()));
                    if let Err(message) = check_single_line(key) {
                        let path = joined(&base, &child_path);
                        diagnostics.push(
                            Diagnostic::error(format!("key: {message}"))
                                .at(section.location_of(&path)),
                        );
                    }
                    stack.push((child_path, child));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate().rev() {
                    let mut child_path = relative.clone();
                    child_path.push(Segment::Index(index));
                    stack.push((child_path, child));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    diagnostics
}

/// An absolute path with `.`, empty components and trailing slashes removed, so that one file
/// has one spelling: `/etc/./motd` and `/etc//motd/` are `/etc/motd`.
///
/// Refuses relative paths and `..` (which the host resolves through symbolic links, so it
/// cannot be removed by text alone), and control characters. The message completes
/// "expected ...".
///
/// ```
/// # use phoenix_core::config::normalize_path;
/// assert_eq!(normalize_path("/etc//./motd/"), Ok("/etc/motd".to_owned()));
/// assert!(normalize_path("/etc/../root").is_err());
/// ```
pub fn normalize_path(path: &str) -> Result<String, String> {
    check_single_line(path)?;
    if !path.starts_with('/') {
        return Err(format!(
            "expected an absolute path, found {}",
            excerpt(path)
        ));
    }
    let mut normalized = String::with_capacity(path.len());
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "expected a path without \"..\" components, found {}",
                    excerpt(path)
                ));
            }
            _ => {
                normalized.push('/');
                normalized.push_str(part);
            }
        }
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    Ok(normalized)
}

/// The JSON path `base` followed by `relative`.
fn joined(base: &JsonPath, relative: &[Segment]) -> JsonPath {
    relative
        .iter()
        .fold(base.clone(), |path, segment| path.child(segment.clone()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Document;

    #[test]
    fn issue_8_single_line_values_refuse_every_control_character() {
        let cases: &[(&str, Option<&str>)] = &[
            ("vmbr0", None),
            ("a;b $(reboot) `id` é 中", None),
            ("a\nb", Some("U+000A (line feed) at character 1")),
            ("\tx", Some("U+0009 (tab) at character 0")),
            ("x\0", Some("U+0000 (NUL) at character 1")),
            ("\u{1b}[31mred", Some("U+001B (escape) at character 0")),
            ("a\rb", Some("U+000D (carriage return) at character 1")),
            ("a\u{7f}", Some("U+007F (delete) at character 1")),
            ("a\u{85}", Some("U+0085 at character 1")),
            ("é\u{202e}txt", Some("U+202E at character 1")),
            ("a\u{2028}b", Some("U+2028 at character 1")),
        ];
        for (text, expected) in cases {
            let got = check_single_line(text).err();
            match expected {
                None => assert_eq!(got, None, "{text:?}"),
                Some(part) => assert!(
                    got.as_deref().is_some_and(|m| m.contains(part)),
                    "{text:?}: {got:?}"
                ),
            }
        }
        assert_eq!(check_free_text("a\n\tb\n"), Ok(()));
        assert!(check_free_text("a\u{1b}[2J").is_err());
        assert!(check_free_text("a\r\n").is_err());
    }

    #[test]
    fn issue_8_paths_are_normalised_and_dot_dot_refused() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("/etc/motd", Ok("/etc/motd")),
            ("/etc/./motd", Ok("/etc/motd")),
            ("//etc//motd/", Ok("/etc/motd")),
            ("/", Ok("/")),
            ("/./", Ok("/")),
            ("etc/motd", Err("expected an absolute path")),
            ("", Err("expected an absolute path")),
            ("/etc/../root/.ssh", Err("without \"..\"")),
            ("/..", Err("without \"..\"")),
            ("/etc/x\n", Err("U+000A")),
            ("/etc/...", Ok("/etc/...")),
        ];
        for (path, expected) in cases {
            match (normalize_path(path), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{path:?}"),
                (Err(got), Err(part)) => assert!(got.contains(part), "{path:?}: {got}"),
                (got, _) => panic!("{path:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn issue_8_excerpts_cut_huge_values() {
        let huge = "a".repeat(1 << 20);
        let text = excerpt(&huge);
        assert_eq!(text, format!("\"{}\"… (1048576 bytes)", "a".repeat(64)));
        assert_eq!(excerpt("\u{1b}"), r#""\u001b""#);
        assert_eq!(excerpt(&"é".repeat(65)).chars().count(), 66 + 13);
    }

    #[test]
    fn issue_8_every_string_of_a_section_is_checked_at_its_path() {
        let text = "{\"files\": [\n {\"path\": \"/a\\u001b\", \"content\": \"x\\ny\\t\"},\n {\"path\": \"/b\", \"content\": \"\\u0000\", \"k\\n\": 1}\n]}";
        let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
        let (key, value) = document.object().iter().next().expect("a section");
        let section = Section::new(key, value, &document);
        let rendered: Vec<String> = check_strings(&section, &["*.content".to_owned()])
            .iter()
            .map(ToString::to_string)
            .collect();
        insta::assert_snapshot!(rendered.join("\n"), @r#"
        error: c.json:2:11 at files[0].path: control character U+001B (escape) at character 2; names, paths, options and property values are single-line printable text
        error: c.json:3:45 at files[1]."k\n": key: control character U+000A (line feed) at character 1; names, paths, options and property values are single-line printable text
        error: c.json:3:28 at files[1].content: control character U+0000 (NUL) at character 0; free text may hold newlines and tabs, no other control characters
        "#);
    }
}
