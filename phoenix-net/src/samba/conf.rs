//! smb.conf: the one reader (used by the provider to find its include line and the operator's
//! share names, and by the `testparm` emulator) and the writer of Phoenix's include file.
//!
//! The reader follows Samba's `lib/util/params.c`: `#` and `;` start comment lines, `[name]`
//! starts a section, `name = value` is a parameter (blanks around both trimmed), a trailing `\`
//! joins the next line, a line that is none of these is ignored (testparm says nothing about it),
//! and parameters before the first section belong to `[global]`. A section header without its
//! `]` is the one error (testparm: `Error loading services.`).

use phoenix_core::parse::ParseError;

use super::params::{normalize_name, params};

/// One `name = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfParam {
    /// The name as written.
    pub name: String,
    /// The value, trimmed.
    pub value: String,
    /// Its line number (from 1; the first line of a continued line).
    pub line: usize,
    /// Its last line (a continued line ends later).
    pub end_line: usize,
}

/// A section: `[global]` (also for parameters before the first header) or a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfSection {
    /// The name between the brackets.
    pub name: String,
    /// The header's line number, 0 for the parameters before the first header.
    pub line: usize,
    /// Its parameters in file order.
    pub params: Vec<ConfParam>,
}

/// A parsed smb.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conf {
    /// Sections in file order (a name given twice appears twice; Samba merges them).
    pub sections: Vec<ConfSection>,
}

/// Parses smb.conf text. Comment and header lines never continue (as in Samba).
pub fn parse_smb_conf(text: &str) -> Result<Conf, ParseError> {
    let mut conf = Conf::default();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let first = raw.trim();
        if first.is_empty() || first.starts_with('#') || first.starts_with(';') {
            continue;
        }
        if let Some(rest) = first.strip_prefix('[') {
            let name = rest
                .split_once(']')
                .map(|(name, _)| name.trim())
                .ok_or_else(|| {
                    ParseError::new(i + 1, format!("section header without ]: {first:?}"))
                })?;
            conf.sections.push(ConfSection {
                name: name.to_owned(),
                line: i + 1,
                params: Vec::new(),
            });
            continue;
        }
        let mut line = raw.to_owned();
        let mut end = i;
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((j, next)) => {
                    line.push_str(next);
                    end = j;
                }
                None => break,
            }
        }
        let Some((name, value)) = line.trim().split_once('=') else {
            continue;
        };
        if conf.sections.is_empty() {
            conf.sections.push(ConfSection {
                name: "global".to_owned(),
                line: 0,
                params: Vec::new(),
            });
        }
        let section = conf
            .sections
            .last_mut()
            .expect("invariant: a section was pushed above");
        section.params.push(ConfParam {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            line: i + 1,
            end_line: end + 1,
        });
    }
    Ok(conf)
}

impl Conf {
    /// Whether some section has `include = path` (any spelling of the name).
    pub fn includes(&self, path: &str) -> bool {
        self.sections
            .iter()
            .flat_map(|s| &s.params)
            .any(|p| normalize_name(&p.name) == "include" && p.value == path)
    }

    /// The share sections' names (not `[global]`), in file order.
    pub fn share_names(&self) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| !n.eq_ignore_ascii_case("global"))
    }
}

/// `text` with one `include = path` line at the end of its global part: after the last
/// parameter (or header) of `[global]` before the first share's header, so Samba reads the
/// included shares where `[global]` ends and the operator's own sections follow unchanged; at
/// the top of a file that starts with a share; at the end of a file without shares (or one
/// that does not read as smb.conf, which Phoenix never edits). `None` for a file with a
/// continued line (a trailing backslash) or a carriage return: where Samba joins lines, a new
/// line could join one of them, so Phoenix leaves such a file to the operator rather than risk
/// changing what it says.
pub fn append_include(text: &str, path: &str) -> Option<String> {
    if text.contains('\r') || text.lines().any(|l| l.ends_with('\\')) {
        return None;
    }
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = parse_smb_conf(text).map_or(lines.len(), |conf| end_of_global(&conf, lines.len()));
    lines.insert(at, include_line(path));
    Some(lines.join("\n") + "\n")
}

/// Where the global part ends: the line after its last parameter or header.
fn end_of_global(conf: &Conf, n_lines: usize) -> usize {
    let mut after: Option<usize> = None;
    for section in &conf.sections {
        if !section.name.eq_ignore_ascii_case("global") {
            return after.unwrap_or(0);
        }
        let last = section.params.last().map_or(section.line, |p| p.end_line);
        after = Some(after.map_or(last, |a| a.max(last)));
    }
    after.unwrap_or(n_lines)
}

/// The one line Phoenix adds to smb.conf.
pub fn include_line(path: &str) -> String {
    format!("include = {path}")
}

/// One share of the include file: its name, path, valid users and options (canonical name,
/// value as given), in the config's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShareSection {
    /// The share name.
    pub(crate) name: String,
    /// The resolved absolute path.
    pub(crate) path: String,
    /// `valid users`, empty for none.
    pub(crate) valid_users: Vec<String>,
    /// Other parameters: canonical name and value as testparm prints it.
    pub(crate) options: Vec<(String, String)>,
}

/// The include file: a header naming its owner, then one section per share, each parameter
/// with its canonical name in testparm's order.
pub(crate) fn format_shares(shares: &[ShareSection]) -> String {
    let mut out = String::from(
        "# Managed by Phoenix from samba.shares in the host config; edits here are overwritten.\n",
    );
    for share in shares {
        let mut lines: Vec<(usize, String, String)> = Vec::new();
        let mut add = |name: &str, value: String| {
            let order = params().resolve(name).map_or(usize::MAX, |r| r.param.order);
            lines.push((order, name.to_owned(), value));
        };
        add("path", share.path.clone());
        if !share.valid_users.is_empty() {
            add("valid users", share.valid_users.join(" "));
        }
        for (name, value) in &share.options {
            add(name, value.clone());
        }
        lines.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        out.push_str(&format!("\n[{}]\n", share.name));
        for (_, name, value) in lines {
            out.push_str(&format!("\t{name} = {value}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(conf: &Conf) -> String {
        conf.sections
            .iter()
            .map(|s| {
                let params: Vec<String> = s
                    .params
                    .iter()
                    .map(|p| format!("{}={}@{}", p.name, p.value, p.line))
                    .collect();
                format!("[{}] {}", s.name, params.join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn issue_9_smb_conf_reads_as_samba_reads_it() {
        let cases = [
            (
                "workgroup = LAB\n[s]\n path = /x\n",
                "[global] workgroup=LAB@1\n[s] path=/x@3",
            ),
            (
                "# c\n; c\n[global]\n\tworkgroup = A\\\n B\n",
                "[global] workgroup=A B@4",
            ),
            ("[s]\n justaword\n  Read Only=no  \n", "[s] Read Only=no@3"),
            // A comment never continues (testparm applies the next line).
            (
                "[s]\n path = /x\n# comment \\\n comment = visible\n",
                "[s] path=/x@2 comment=visible@4",
            ),
            (
                "[s]\npath=/x\n[s]\ncomment = again\n",
                "[s] path=/x@2\n[s] comment=again@4",
            ),
        ];
        for (text, expect) in cases {
            assert_eq!(
                render(&parse_smb_conf(text).expect("parses")),
                expect,
                "{text:?}"
            );
        }
        let err = parse_smb_conf("[broken\n path = /x\n").expect_err("no ]");
        assert_eq!(
            err.to_string(),
            "parse line 1: section header without ]: \"[broken\""
        );
    }

    #[test]
    fn issue_9_the_include_line_is_found_in_any_spelling_and_appended_once() {
        let path = "/etc/samba/phoenix-shares.conf";
        let debian = phoenix_core::sim::read_fixture(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/samba/fixtures/smb.conf.debian-12"
        )))
        .expect("the sample");
        let conf = parse_smb_conf(&debian).expect("parses");
        assert!(!conf.includes(path));
        assert_eq!(
            conf.share_names().collect::<Vec<_>>(),
            ["homes", "printers", "print$"]
        );
        let with = append_include(&debian, path).expect("an edit");
        let parsed = parse_smb_conf(&with).expect("parses");
        assert!(parsed.includes(path));
        assert!(
            parsed.sections[0]
                .params
                .iter()
                .any(|p| p.name == "include"),
            "the line is in [global]"
        );
        let removed: Vec<&str> = with
            .lines()
            .filter(|l| !l.starts_with("include = "))
            .collect();
        assert_eq!(
            removed,
            debian.lines().collect::<Vec<_>>(),
            "the operator's file is kept"
        );
        let cases = [
            ("", "include = P\n"),
            ("[global]", "[global]\ninclude = P\n"),
            (
                "a = 1\n[s]\n\tpath = /x\n",
                "a = 1\ninclude = P\n[s]\n\tpath = /x\n",
            ),
            ("[s]\n\tpath = /x\n", "include = P\n[s]\n\tpath = /x\n"),
            // A continued line at the end would swallow the include: a blank line ends it.
            // A continued line where the include would go: no edit.
            ("a = b\\", "(refused)"),
            ("\\\\\\", "(refused)"),
            (
                "[homes]\n[global]\n\tx = 1\n",
                "include = P\n[homes]\n[global]\n\tx = 1\n",
            ),
            ("[global]\n\ta = b\\\n c\n# share\n[s]\n", "(refused)"),
            ("[global]\r\n\ta = b\r\n", "(refused)"),
            (
                "[global]\n# only a comment\n",
                "[global]\ninclude = P\n# only a comment\n",
            ),
        ];
        for (text, expect) in cases {
            assert_eq!(
                append_include(text, "P").as_deref().unwrap_or("(refused)"),
                expect,
                "{text:?}"
            );
        }
        assert!(
            parse_smb_conf("[global]\n   INCLUDE=/etc/samba/phoenix-shares.conf\n")
                .expect("parses")
                .includes(path)
        );
    }

    #[test]
    fn issue_9_the_include_file_lists_parameters_in_testparms_order() {
        let text = format_shares(&[ShareSection {
            name: "shared-prod-data".into(),
            path: "/quickOS/shared-prod-data".into(),
            valid_users: vec!["heads".into()],
            options: vec![
                ("read only".into(), "No".into()),
                ("browseable".into(), "Yes".into()),
            ],
        }]);
        insta::assert_snapshot!(text, @r"
        # Managed by Phoenix from samba.shares in the host config; edits here are overwritten.

        [shared-prod-data]
        	browseable = Yes
        	path = /quickOS/shared-prod-data
        	read only = No
        	valid users = heads
        ");
    }
}
