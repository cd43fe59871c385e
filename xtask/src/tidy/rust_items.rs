//! Finds the library code of a Rust file: the lines that are neither comments nor `#[cfg(test)]`
//! items, found with a small lexer that knows enough Rust to match braces.
//!
//! The lexer skips strings (raw ones included), char literals and comments, so a `}` inside an
//! inline snapshot or a `'{'` never ends an item early.

/// The numbered lines of `text` that are library code: not comment lines, not `#[cfg(test)]` items.
pub(crate) fn library_code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let trimmed = lines[index].trim();
        if trimmed == "#[cfg(test)]" {
            index = item_end(&lines, index + 1);
            continue;
        }
        if !trimmed.starts_with("//") {
            code.push((index + 1, lines[index]));
        }
        index += 1;
    }
    code
}

/// Where the lexer is between characters.
#[derive(Clone, Copy)]
enum Lex {
    Code,
    /// Inside `"..."`, byte and C strings included.
    Str,
    /// Inside a raw string closed by `"` and this many `#`.
    RawStr(usize),
    /// Inside `/* ... */`, nested this deep.
    BlockComment(usize),
}

/// The index of the first line after the item that starts at `lines[start]`.
///
/// The item ends at the `}` that closes its first `{`, or, before any `{`, at a `;` or `,` outside
/// parentheses and brackets (`mod tests;`, a field). An unterminated item runs to the end.
fn item_end(lines: &[&str], start: usize) -> usize {
    let mut state = Lex::Code;
    let mut braces = 0_usize;
    let mut groups = 0_usize;
    let mut opened = false;
    for (index, line) in lines.iter().enumerate().skip(start) {
        let chars: Vec<char> = line.chars().collect();
        let at = |i: usize| chars.get(i).copied();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match state {
                Lex::Str => {
                    match c {
                        '\\' => i += 1,
                        '"' => state = Lex::Code,
                        _ => {}
                    }
                    i += 1;
                }
                Lex::RawStr(hashes) => {
                    let closes = c == '"' && (1..=hashes).all(|offset| at(i + offset) == Some('#'));
                    if closes {
                        state = Lex::Code;
                        i += hashes;
                    }
                    i += 1;
                }
                Lex::BlockComment(depth) => {
                    if c == '/' && at(i + 1) == Some('*') {
                        state = Lex::BlockComment(depth + 1);
                        i += 1;
                    } else if c == '*' && at(i + 1) == Some('/') {
                        state = if depth == 1 {
                            Lex::Code
                        } else {
                            Lex::BlockComment(depth - 1)
                        };
                        i += 1;
                    }
                    i += 1;
                }
                Lex::Code => {
                    if c == '/' && at(i + 1) == Some('/') {
                        break;
                    }
                    if c == '/' && at(i + 1) == Some('*') {
                        state = Lex::BlockComment(1);
                        i += 2;
                        continue;
                    }
                    if c.is_alphabetic() || c == '_' {
                        let end = (i..chars.len())
                            .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
                            .unwrap_or(chars.len());
                        let identifier: String = chars[i..end].iter().collect();
                        i = end;
                        if matches!(identifier.as_str(), "r" | "br" | "cr") {
                            let hashes = (i..chars.len()).take_while(|&j| chars[j] == '#').count();
                            if at(i + hashes) == Some('"') {
                                state = Lex::RawStr(hashes);
                                i += hashes + 1;
                            }
                        }
                        continue;
                    }
                    match c {
                        '"' => state = Lex::Str,
                        '\'' if at(i + 1) == Some('\\') => {
                            // An escaped char literal: skip the escaped char, then up to the quote.
                            i += 3;
                            while at(i).is_some_and(|c| c != '\'') {
                                i += 1;
                            }
                        }
                        // A one-char literal such as '{'; otherwise the quote starts a lifetime.
                        '\'' if at(i + 2) == Some('\'') => i += 2,
                        '{' => {
                            braces += 1;
                            opened = true;
                        }
                        '}' => {
                            braces = braces.saturating_sub(1);
                            if opened && braces == 0 {
                                return index + 1;
                            }
                        }
                        '(' | '[' => groups += 1,
                        ')' | ']' => groups = groups.saturating_sub(1),
                        ';' | ',' if !opened && groups == 0 => return index + 1,
                        _ => {}
                    }
                    i += 1;
                }
            }
        }
    }
    lines.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(text: &str) -> Vec<usize> {
        library_code_lines(text)
            .into_iter()
            .map(|(number, _)| number)
            .collect()
    }

    #[test]
    fn a_test_module_ends_at_its_closing_brace_whatever_its_strings_hold() {
        let text = r####"//! Module.
fn before() {}
// A comment line.
#[cfg(test)]
mod tests {
    const JSON: &str = r#"{
}"#;
    const OPEN: char = '{';
    const ESCAPED: char = '\u{7b}';
    const TEXT: &str = "{ \" {";
    fn f<'a>(x: &'a str) -> &'a str { x } /* { */
}
fn after() {}
"####;
        assert_eq!(kept(text), [2, 13]);
    }

    #[test]
    fn one_line_items_and_multi_line_signatures_end_where_they_should() {
        let text = "\
#[cfg(test)]
mod tests;
fn kept() {}
    #[cfg(test)]
    #[expect(dead_code, reason = \"a, b\")]
    fn nested(
        x: u8,
    ) {
    }
    fn also_kept() {}
#[cfg(test)]
use crate::{
    a,
};
fn last() {}
";
        assert_eq!(kept(text), [3, 10, 15]);
    }

    #[test]
    fn an_unterminated_test_item_runs_to_the_end() {
        assert_eq!(
            kept("fn a() {}\n#[cfg(test)]\nmod tests {\n fn b() {}\n"),
            [1]
        );
    }
}
