//! The exports file format (exports(5)): Phoenix writes `/etc/exports.d/phoenix.exports` with
//! [`format_exports`], and the `exportfs` emulator reads every exports file with
//! [`parse_exports`], the one reader of the format.

use super::config::Export;

/// The Phoenix-owned exports file; `exportfs` reads every `*.exports` file of the directory
/// after `/etc/exports`, so the operator's own exports stay untouched.
pub(crate) const EXPORTS_FILE: &str = "/etc/exports.d/phoenix.exports";

/// The directory exportfs reads `*.exports` files from (Debian does not create it).
pub(crate) const EXPORTS_DIR: &str = "/etc/exports.d";

/// The operator's exports file.
pub(crate) const ETC_EXPORTS: &str = "/etc/exports";

const HEADER: &str = "# Managed by Phoenix from nfs.exports in phoenix_hypervisor_config.json; \
changes made here are overwritten.\n# Put other exports in /etc/exports or another file in \
/etc/exports.d.\n";

/// The file's content: a header, then one line per export, `PATH CLIENT(OPTIONS) ...` with the
/// export's options on every client, in config order.
pub(crate) fn format_exports(exports: &[Export]) -> String {
    let mut out = HEADER.to_owned();
    for export in exports {
        out.push_str(&export.path);
        for client in &export.clients {
            out.push_str(&format!(" {}({})", client.spec, export.options.join(",")));
        }
        out.push('\n');
    }
    out
}

/// One `CLIENT(OPTIONS)` of an exports file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The 1-based line the entry's export starts on.
    pub(crate) line: usize,
    /// The exported path.
    pub(crate) path: String,
    /// The client as written (`*` for a bare `(options)`).
    pub(crate) client: String,
    /// The line's default options (`-opts`) followed by the client's own.
    pub(crate) options: Vec<String>,
    /// Whether the client had an option list in parentheses.
    pub(crate) has_options: bool,
}

/// A line exportfs cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// The 1-based line.
    pub(crate) line: usize,
    /// exportfs's message after `FILE:LINE: `.
    pub(crate) message: String,
}

/// Reads an exports file as exportfs does: `#` comment lines and blank lines skipped, `\` at the
/// end of a line continues it, a line is a path, optional `-DEFAULTS`, then clients each with an
/// optional `(options)`; a path alone exports to everybody. The path may be double-quoted.
/// Returns the entries up to the first line exportfs refuses, and that refusal.
pub(crate) fn parse_exports(text: &str) -> (Vec<Entry>, Option<SyntaxError>) {
    let mut entries = Vec::new();
    for (line_no, line) in logical_lines(text) {
        let mut tokens = tokens(&line).into_iter();
        let Some(path) = tokens.next() else {
            continue;
        };
        let mut defaults: Vec<String> = Vec::new();
        let mut clients = 0;
        for token in tokens {
            if let Some(options) = token.strip_prefix('-')
                && clients == 0
            {
                defaults = split_options(options);
                continue;
            }
            clients += 1;
            let (client, options, has_options) = match token.split_once('(') {
                Some((client, rest)) => {
                    let Some(options) = rest.strip_suffix(')').filter(|o| !o.contains(')')) else {
                        return (
                            entries,
                            Some(SyntaxError {
                                line: line_no,
                                message: "syntax error: bad option list".to_owned(),
                            }),
                        );
                    };
                    let client = if client.is_empty() { "*" } else { client };
                    (client.to_owned(), split_options(options), true)
                }
                None => (token.clone(), Vec::new(), false),
            };
            let mut all = defaults.clone();
            all.extend(options);
            entries.push(Entry {
                line: line_no,
                path: path.clone(),
                client,
                options: all,
                has_options,
            });
        }
        if clients == 0 {
            entries.push(Entry {
                line: line_no,
                path,
                client: "*".to_owned(),
                options: defaults,
                has_options: false,
            });
        }
    }
    (entries, None)
}

/// Lines with continuations joined and comments dropped, with the number of their first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (continued, body) = match raw.strip_suffix('\\') {
            Some(body) => (true, body),
            None => (false, raw),
        };
        let entry = current.get_or_insert_with(|| (i + 1, String::new()));
        if !(entry.1.is_empty() && body.trim_start().starts_with('#')) {
            entry.1.push_str(body);
            entry.1.push(' ');
        }
        if !continued && let Some(done) = current.take() {
            lines.push(done);
        }
    }
    lines.extend(current);
    lines
}

/// Blank-separated tokens; a double-quoted token may hold blanks.
fn tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut token = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
            } else if c.is_whitespace() && !quoted {
                break;
            } else {
                token.push(c);
            }
            chars.next();
        }
        tokens.push(token);
    }
    tokens
}

fn split_options(options: &str) -> Vec<String> {
    options
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nfs::config::{Client, ClientKind};

    #[test]
    fn issue_9_the_generated_file_reads_back_as_written() {
        let export = |path: &str, clients: &[&str], options: &[&str]| Export {
            path: path.into(),
            clients: clients
                .iter()
                .map(|c| Client {
                    spec: (*c).into(),
                    kind: ClientKind::Network,
                })
                .collect(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            at: phoenix_core::Location::new("", ""),
        };
        let text = format_exports(&[
            export(
                "/quickOS/shared-prod-data",
                &["10.0.0.0/24", "127.0.0.1"],
                &["rw", "sync", "no_subtree_check", "no_root_squash"],
            ),
            export("/fastData/shared-iso", &["*"], &[]),
        ]);
        insta::assert_snapshot!(text, @r"
        # Managed by Phoenix from nfs.exports in phoenix_hypervisor_config.json; changes made here are overwritten.
        # Put other exports in /etc/exports or another file in /etc/exports.d.
        /quickOS/shared-prod-data 10.0.0.0/24(rw,sync,no_subtree_check,no_root_squash) 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)
        /fastData/shared-iso *()
        ");
        let (entries, error) = parse_exports(&text);
        assert_eq!(error, None);
        let read: Vec<(usize, &str, &str, String)> = entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.path.as_str(),
                    e.client.as_str(),
                    e.options.join(","),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (
                    3,
                    "/quickOS/shared-prod-data",
                    "10.0.0.0/24",
                    "rw,sync,no_subtree_check,no_root_squash".into()
                ),
                (
                    3,
                    "/quickOS/shared-prod-data",
                    "127.0.0.1",
                    "rw,sync,no_subtree_check,no_root_squash".into()
                ),
                (4, "/fastData/shared-iso", "*", String::new()),
            ]
        );
    }

    #[test]
    fn issue_9_hand_written_exports_files_read_as_exportfs_reads_them() {
        let text = "# comment\n\n/srv/a -rw,sync host1 host2(ro)\n\"/srv/b c\" \\\n  10.0.0.0/8(rw)\n/srv/world\n/srv/bad 1.2.3.4(rw\n/srv/never *(rw)\n";
        let (entries, error) = parse_exports(text);
        let read: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(
                    "{}:{} {}({})",
                    e.line,
                    e.path,
                    e.client,
                    e.options.join(",")
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                "3:/srv/a host1(rw,sync)",
                "3:/srv/a host2(rw,sync,ro)",
                "4:/srv/b c 10.0.0.0/8(rw)",
                "6:/srv/world *()",
            ]
        );
        assert_eq!(
            error,
            Some(SyntaxError {
                line: 7,
                message: "syntax error: bad option list".into()
            })
        );
    }
}
