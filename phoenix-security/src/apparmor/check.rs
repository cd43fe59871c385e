//! What `apparmor_parser` checks, for the emulator: includes, variable assignments, profile
//! blocks and the shape of rules, with the messages AppArmor 3.0.8 prints for each (every case
//! of the table test was run through the real parser; `tests/it/real_parser.rs` runs them again).
//!
//! It is not a full AppArmor grammar: a rule whose first word it knows (capability, network,
//! mount, ...) is taken as the parser would take it when it ends in `,`; a file rule must have a
//! known mode. The distro's own files that Phoenix's profile includes are virtual (Debian 12's
//! apparmor and liblxc-common, reduced to the variables they declare and the files they include)
//! unless the node has a file at that path; the directories they include (`tunables/home.d`,
//! ...) are the node's.

use std::collections::BTreeSet;

/// The base directory includes are resolved in.
const BASE: &str = "/etc/apparmor.d";

/// The stock files, reduced to their declarations and includes.
const STOCK: &[(&str, &str)] = &[
    (
        "tunables/global",
        "include <tunables/home>\ninclude <tunables/multiarch>\ninclude <tunables/proc>\ninclude <tunables/alias>\ninclude <tunables/kernelvars>\ninclude <tunables/xdg-user-dirs>\ninclude <tunables/share>\ninclude <tunables/etc>\ninclude <tunables/run>\n",
    ),
    (
        "tunables/home",
        "@{HOME}=@{HOMEDIRS}/*/ /root/\n@{HOMEDIRS}=/home/\ninclude <tunables/home.d>\n",
    ),
    (
        "tunables/multiarch",
        "@{multiarch}=*-linux-gnu*\ninclude <tunables/multiarch.d>\n",
    ),
    ("tunables/proc", "@{PROC}=/proc/\n"),
    ("tunables/alias", ""),
    (
        "tunables/kernelvars",
        "@{pid}=[0-9]*\n@{tid}=@{pid}\n@{pids}=@{pid}\n@{uid}=[0-9]*\n@{uids}=@{uid}\n@{sys}=/sys/\n",
    ),
    (
        "tunables/xdg-user-dirs",
        "@{XDG_DESKTOP_DIR}=\"Desktop\"\n@{XDG_DOWNLOAD_DIR}=\"Downloads\"\n@{XDG_TEMPLATES_DIR}=\"Templates\"\n@{XDG_PUBLICSHARE_DIR}=\"Public\"\n@{XDG_DOCUMENTS_DIR}=\"Documents\"\n@{XDG_MUSIC_DIR}=\"Music\"\n@{XDG_PICTURES_DIR}=\"Pictures\"\n@{XDG_VIDEOS_DIR}=\"Videos\"\ninclude <tunables/xdg-user-dirs.d>\n",
    ),
    (
        "tunables/share",
        "@{flatpak_exports_root}=flatpak/exports\n@{system_share_dirs}=/usr/share\n@{user_share_dirs}=@{HOME}/.local/share\n",
    ),
    (
        "tunables/etc",
        "@{etc_ro}=/etc/ /usr/etc/\n@{etc_rw}=/etc/\ninclude if exists <tunables/etc.d>\n",
    ),
    ("tunables/run", "@{run}=/run/ /var/run/\n"),
    ("abstractions/lxc/container-base", "  network,\n"),
    ("abstractions/lxc/start-container", "  capability,\n"),
];

/// Stock directories (their files are the node's).
const STOCK_DIRS: &[&str] = &[
    "tunables/home.d",
    "tunables/multiarch.d",
    "tunables/xdg-user-dirs.d",
];

/// Variables the parser defines itself.
const BUILTIN_VARIABLES: &[&str] = &["profile_name", "exec_path", "attach_path"];

/// Rule keywords taken as valid when the rule ends in `,`.
const KEYWORDS: &[&str] = &[
    "capability",
    "network",
    "mount",
    "remount",
    "umount",
    "pivot_root",
    "change_profile",
    "signal",
    "ptrace",
    "dbus",
    "unix",
    "rlimit",
    "set",
    "link",
    "file",
    "userns",
    "mqueue",
    "io_uring",
];

/// Characters of a file rule's mode.
const MODE_CHARS: &str = "rwamlkixupcUPCb";

/// The node's files, as the emulator sees them.
pub(crate) trait Tree {
    /// The content of the file at `path`, if it is a file.
    fn read(&self, path: &str) -> Option<String>;
    /// The files directly in directory `dir`, sorted; empty when it is not a directory.
    fn files_in(&self, dir: &str) -> Vec<String>;
}

/// A parse that failed: what the parser prints (standard error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) String);

/// Parses `file` (named `given` on the command line) and everything it includes; returns the
/// profiles it declares, in order.
pub(crate) fn check(given: &str, tree: &dyn Tree) -> Result<Vec<String>, Refusal> {
    let mut parse = Parse {
        given: given.to_owned(),
        tree,
        included: BTreeSet::new(),
        declared: BTreeSet::new(),
        referenced: Vec::new(),
        profiles: Vec::new(),
        prelude: String::new(),
    };
    let text = tree
        .read(&absolute(given))
        .ok_or_else(|| Refusal(format!("File {given} not found, skipping...\n")))?;
    parse.file(given, &text, 0)?;
    for variable in &parse.referenced {
        if !parse.declared.contains(variable) && !BUILTIN_VARIABLES.contains(&variable.as_str()) {
            return Err(Refusal(format!(
                "Found reference to variable {variable}, but is never declared\n"
            )));
        }
    }
    Ok(parse.profiles)
}

fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

struct Parse<'a> {
    given: String,
    tree: &'a dyn Tree,
    included: BTreeSet<String>,
    declared: BTreeSet<String>,
    referenced: Vec<String>,
    profiles: Vec<String>,
    /// Lines the parser prints before its error (`'X' is already defined`).
    prelude: String,
}

/// A line's first token as the parser's lexer names it.
fn token_of(line: Option<&str>) -> &'static str {
    let Some(line) = line else {
        return "end of file";
    };
    let word = line.split_whitespace().next().unwrap_or("");
    if word.starts_with("@{") {
        "TOK_SET_VAR"
    } else if word == "}" {
        "TOK_CLOSE"
    } else if word.contains('=') {
        "TOK_CONDID"
    } else {
        "TOK_ID"
    }
}

impl Parse<'_> {
    fn refuse(&self, file: &str, line: usize, message: &str) -> Refusal {
        Refusal(format!(
            "{}AppArmor parser error for {} in profile {file} at line {line}: {message}\n",
            self.prelude, self.given
        ))
    }

    /// One file: `shown` is how messages name it (as given for the main file, the full path for
    /// an include); an include inside a profile is read at the profile's depth.
    fn file(&mut self, shown: &str, text: &str, base_depth: usize) -> Result<(), Refusal> {
        let lines: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, strip_comment(line)))
            .filter(|(_, line)| !line.is_empty())
            .collect();
        let last_line = text.lines().count() + 1;
        let mut depth = base_depth;
        for (at, (number, line)) in lines.iter().enumerate() {
            let next = lines.get(at + 1);
            let next_token = token_of(next.map(|(_, l)| l.as_str()));
            let next_number = next.map_or(last_line, |(n, _)| *n);
            if let Some(include) = parse_include(line) {
                self.include(shown, *number, &include, depth)?;
                continue;
            }
            if depth == 0 {
                if line.starts_with("@{") {
                    self.assignment(shown, *number, line, (next_token, next_number))?;
                } else if line.starts_with("abi ") || line.starts_with("alias ") {
                } else if line.ends_with('{') {
                    self.open_profile(line);
                    depth = 1;
                } else {
                    return Err(self.refuse(
                        shown,
                        *number,
                        &format!(
                            "syntax error, unexpected {}, expecting end of file",
                            token_of(Some(line))
                        ),
                    ));
                }
                continue;
            }
            if line == "}" {
                depth -= 1;
            } else if line.ends_with('{') {
                depth += 1;
            } else {
                self.rule(shown, *number, line, (next_token, next_number))?;
            }
        }
        if depth > base_depth {
            return Err(self.refuse(
                shown,
                last_line,
                "syntax error, unexpected end of file, expecting TOK_ID or TOK_MODE or TOK_SET_VAR",
            ));
        }
        Ok(())
    }

    fn include(
        &mut self,
        shown: &str,
        number: usize,
        include: &Include,
        depth: usize,
    ) -> Result<(), Refusal> {
        let path = if include.name.starts_with('/') {
            include.name.clone()
        } else {
            format!("{BASE}/{}", include.name)
        };
        let relative = path
            .strip_prefix(&format!("{BASE}/"))
            .unwrap_or(&path)
            .to_owned();
        let files = self.tree.files_in(&path);
        let content = self.tree.read(&path).or_else(|| {
            STOCK
                .iter()
                .find(|(name, _)| *name == relative)
                .map(|(_, text)| (*text).to_owned())
        });
        if let Some(content) = content {
            if self.included.insert(path.clone()) {
                self.file(&path, &content, depth)?;
            }
            return Ok(());
        }
        if !files.is_empty() || STOCK_DIRS.contains(&relative.as_str()) {
            for file in files {
                let name = file.rsplit('/').next().unwrap_or("");
                if name.starts_with('.') || !self.included.insert(file.clone()) {
                    continue;
                }
                let content = self.tree.read(&file).unwrap_or_default();
                self.file(&file, &content, depth)?;
            }
            return Ok(());
        }
        if include.if_exists {
            return Ok(());
        }
        Err(self.refuse(shown, number, &format!("Could not open '{}'", include.name)))
    }

    /// `@{NAME} = values` or `@{NAME} += values` outside a profile.
    fn assignment(
        &mut self,
        shown: &str,
        number: usize,
        line: &str,
        (next_token, next_number): (&str, usize),
    ) -> Result<(), Refusal> {
        let Some(end) = line.find('}') else {
            return Err(self.refuse(
                shown,
                number,
                "syntax error, unexpected TOK_ID, expecting end of file",
            ));
        };
        let name = line[2..end].to_owned();
        let rest = line[end + 1..].trim_start();
        let (add, values) = if let Some(values) = rest.strip_prefix("+=") {
            (true, values)
        } else if let Some(values) = rest.strip_prefix('=') {
            (false, values)
        } else {
            return Err(self.refuse(
                shown,
                number,
                "syntax error, unexpected TOK_ID, expecting TOK_EQUALS or TOK_ADD_ASSIGN",
            ));
        };
        if values.trim().is_empty() {
            return Err(self.refuse(
                shown,
                next_number,
                &format!("syntax error, unexpected {next_token}, expecting TOK_VALUE"),
            ));
        }
        // The lexer has read the end of the line when the assignment is checked.
        if add && !self.declared.contains(&name) {
            self.prelude = format!("Failed to find declaration for: {name}\n");
            return Err(self.refuse(
                shown,
                number + 1,
                &format!(
                    "variable @{{{name}}} was not previously declared, but is being assigned additional values"
                ),
            ));
        }
        if !add && !self.declared.insert(name.clone()) {
            self.prelude = format!("'{name}' is already defined\n");
            return Err(self.refuse(
                shown,
                number + 1,
                &format!("variable @{{{name}}} was previously declared"),
            ));
        }
        self.referenced.extend(variables_in(values));
        Ok(())
    }

    fn open_profile(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        let name = if first == "profile" {
            words.next().unwrap_or("")
        } else {
            first
        };
        self.profiles.push(name.trim_end_matches('{').to_owned());
    }

    /// A rule inside a profile.
    fn rule(
        &mut self,
        shown: &str,
        number: usize,
        line: &str,
        (next_token, next_number): (&str, usize),
    ) -> Result<(), Refusal> {
        let mut words: Vec<&str> = line.trim_end_matches(',').split_whitespace().collect();
        while words
            .first()
            .is_some_and(|w| matches!(*w, "audit" | "deny" | "allow" | "owner" | "quiet"))
        {
            words.remove(0);
        }
        let first = words.first().copied().unwrap_or("");
        if !KEYWORDS.contains(&first) {
            if !(first.starts_with('/') || first.starts_with("@{") || first.starts_with('"')) {
                return Err(self.refuse(
                    shown,
                    number,
                    "syntax error, unexpected TOK_ID, expecting TOK_MODE",
                ));
            }
            let mode = words.get(1).copied().unwrap_or("");
            if mode.starts_with("@{") {
                return Err(self.refuse(
                    shown,
                    number,
                    "syntax error, unexpected TOK_SET_VAR, expecting TOK_MODE",
                ));
            }
            if mode.is_empty() || !mode.chars().all(|c| MODE_CHARS.contains(c)) {
                return Err(self.refuse(
                    shown,
                    number,
                    "syntax error, unexpected TOK_ID, expecting TOK_MODE",
                ));
            }
        }
        if !line.ends_with(',') {
            return Err(self.refuse(
                shown,
                next_number,
                &format!("syntax error, unexpected {next_token}, expecting TOK_END_OF_RULE"),
            ));
        }
        self.referenced.extend(variables_in(line));
        Ok(())
    }
}

/// An include line.
#[derive(Debug, PartialEq, Eq)]
struct Include {
    name: String,
    if_exists: bool,
}

fn parse_include(line: &str) -> Option<Include> {
    let rest = line
        .strip_prefix("#include")
        .or_else(|| line.strip_prefix("include"))?
        .trim_start();
    let (if_exists, rest) = match rest.strip_prefix("if exists") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, rest),
    };
    let name = rest
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')))?;
    Some(Include {
        name: name.to_owned(),
        if_exists,
    })
}

/// The line without its comment (`#` at the start or after a blank, but not `#include`),
/// trimmed.
fn strip_comment(line: &str) -> String {
    let trimmed = line.trim();
    if trimmed.starts_with("#include") {
        return trimmed.to_owned();
    }
    let mut previous_blank = true;
    for (i, c) in trimmed.char_indices() {
        if c == '#' && previous_blank {
            return trimmed[..i].trim_end().to_owned();
        }
        previous_blank = c.is_whitespace();
    }
    trimmed.to_owned()
}

/// The variables `@{NAME}` a text refers to.
fn variables_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Files by absolute path.
    pub(crate) struct Files(pub(crate) BTreeMap<String, String>);

    impl Tree for Files {
        fn read(&self, path: &str) -> Option<String> {
            self.0.get(path).cloned()
        }
        fn files_in(&self, dir: &str) -> Vec<String> {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            self.0
                .keys()
                .filter(|p| {
                    p.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.contains('/'))
                })
                .cloned()
                .collect()
        }
    }

    /// The cases of the table test: (files besides `/tmp/case`, its text, what the real
    /// parser 3.0.8 answers: the profiles, or its message with `/tmp/case` as given).
    /// Files besides `/tmp/case` (path, text), the case's text, and the expected answer.
    pub(crate) type Case = (
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
    );

    pub(crate) const CASES: &[Case] = &[
        (
            &[],
            "include <tunables/nosuch>\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 1: Could not open 'tunables/nosuch'\n",
        ),
        (
            &[],
            "#include <tunables/nosuch>\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 1: Could not open 'tunables/nosuch'\n",
        ),
        (&[], "include if exists <tunables/nosuch>\n", "ok: []"),
        (
            &[],
            "@{HOMEDIRS}+=/srv/home/\n",
            "Failed to find declaration for: HOMEDIRS\nAppArmor parser error for /tmp/case in profile /tmp/case at line 2: variable @{HOMEDIRS} was not previously declared, but is being assigned additional values\n",
        ),
        (
            &[],
            "include <tunables/global>\n@{HOMEDIRS}+=/srv/home/\n",
            "ok: []",
        ),
        (
            &[],
            "@{X}=a\n@{X}=b\n",
            "'X' is already defined\nAppArmor parser error for /tmp/case in profile /tmp/case at line 3: variable @{X} was previously declared\n",
        ),
        (
            &[],
            "@{X}=\n@{Y}=b\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 2: syntax error, unexpected TOK_SET_VAR, expecting TOK_VALUE\n",
        ),
        (
            &[],
            "@{apparmor_nesting_profiles} = \n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 2: syntax error, unexpected end of file, expecting TOK_VALUE\n",
        ),
        (
            &[],
            "@{X} /srv/\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 1: syntax error, unexpected TOK_ID, expecting TOK_EQUALS or TOK_ADD_ASSIGN\n",
        ),
        (
            &[],
            "profile p {\n  /x r\n}\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 3: syntax error, unexpected TOK_CLOSE, expecting TOK_END_OF_RULE\n",
        ),
        (
            &[],
            "profile p {\n  /x r,\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 3: syntax error, unexpected end of file, expecting TOK_ID or TOK_MODE or TOK_SET_VAR\n",
        ),
        (
            &[],
            "profile p {\n  broken rule here\n}\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 2: syntax error, unexpected TOK_ID, expecting TOK_MODE\n",
        ),
        (
            &[],
            "profile p {\n  /x rz,\n}\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 2: syntax error, unexpected TOK_ID, expecting TOK_MODE\n",
        ),
        (
            &[],
            "profile p {\n  /x @{NOPE} r,\n}\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 2: syntax error, unexpected TOK_SET_VAR, expecting TOK_MODE\n",
        ),
        (
            &[],
            "profile p {\n  change_profile -> @{nope},\n}\n",
            "Found reference to variable nope, but is never declared\n",
        ),
        (
            &[],
            "HOMEDIRS=/x\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 1: syntax error, unexpected TOK_CONDID, expecting end of file\n",
        ),
        (
            &[],
            "profile bad-profile flags=(complain) {\n  mount fstype=nonsense -> /x/**,\n  broken rule here\n}\n",
            "AppArmor parser error for /tmp/case in profile /tmp/case at line 3: syntax error, unexpected TOK_ID, expecting TOK_MODE\n",
        ),
        (
            &[(
                "/etc/apparmor.d/tunables/home.d/site-broken",
                "# A site tunable with upstream's TOK_EQUALS mistake.\n@{HOMEDIRS} /srv/home/\n",
            )],
            "include <tunables/global>\nprofile p {\n  /x r,\n}\n",
            "AppArmor parser error for /tmp/case in profile /etc/apparmor.d/tunables/home.d/site-broken at line 2: syntax error, unexpected TOK_ID, expecting TOK_EQUALS or TOK_ADD_ASSIGN\n",
        ),
        (
            &[(
                "/etc/apparmor.d/tunables/home.d/.hidden",
                "not apparmor at all\n",
            )],
            "include <tunables/global>\ninclude <tunables/global>\nprofile p flags=(attach_disconnected) {\n  include <abstractions/lxc/container-base>\n  /x r, # a comment\n  @{PROC}/x r,\n  change_profile -> @{HOME},\n}\nprofile q {\n}\n",
            "ok: [\"p\", \"q\"]",
        ),
    ];

    pub(crate) fn run(extra: &[(&str, &str)], text: &str) -> String {
        let mut files: BTreeMap<String, String> = extra
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect();
        files.insert("/tmp/case".to_owned(), text.to_owned());
        match check("/tmp/case", &Files(files)) {
            Ok(profiles) => format!("ok: {profiles:?}"),
            Err(Refusal(message)) => message,
        }
    }

    #[test]
    fn issue_9_the_checker_answers_as_apparmor_parser_3_0_8() {
        for (extra, text, expect) in CASES {
            assert_eq!(run(extra, text), *expect, "{text}");
        }
    }

    #[test]
    fn issue_9_the_shipped_profile_and_tunable_pass_the_checker() {
        let profile = crate::apparmor::policy::profile_text("lxc-phoenix-v2").expect("shipped");
        let tunable = crate::apparmor::policy::tunable_text();
        let files = Files(BTreeMap::from([
            ("/etc/apparmor.d/lxc/lxc-phoenix-v2".to_owned(), profile),
            (
                "/etc/apparmor.d/tunables/phoenix-nesting".to_owned(),
                tunable,
            ),
        ]));
        assert_eq!(
            check("/etc/apparmor.d/lxc/lxc-phoenix-v2", &files),
            Ok(vec!["lxc-phoenix-v2".to_owned()])
        );
        assert_eq!(
            check("/etc/apparmor.d/tunables/phoenix-nesting", &files),
            Ok(vec![])
        );
    }
}

/// The same cases, and the files Phoenix generates, through the real `apparmor_parser` (the
/// `apparmor` package; `cargo xtask ci` installs it, and a missing parser fails the test): its
/// answers must be the checker's, and it must accept what Phoenix writes.
#[cfg(test)]
mod real_parser {
    use std::path::Path;

    use phoenix_core::{Cmd, Host, LocalHost};

    use super::tests::{CASES, run};
    use crate::apparmor::policy;

    /// A copy of the host's `/etc/apparmor.d` (the distro's tunables and LXC abstractions) to
    /// add files to.
    async fn policy_copy(host: &LocalHost, dir: &Path) -> String {
        let base = dir.join("apparmor.d").display().to_string();
        let copied = host
            .run(&Cmd::read("cp", ["-a", "/etc/apparmor.d", base.as_str()]))
            .await
            .expect("cp runs");
        assert!(copied.success(), "{copied:?}");
        base
    }

    /// What `apparmor_parser -Q -K --base BASE FILE` answers, in the checker's terms: the
    /// profile names (`-N`) or its message, with the copy's paths written as the host's. The
    /// "Cache read/write disabled" line is printed only where the kernel has no AppArmor (this
    /// build machine; the testbed's capture has none) and is left out.
    async fn real(host: &LocalHost, base: &str, file: &str) -> String {
        let parser = Cmd::read("apparmor_parser", ["-Q", "-K", "--base", base, file]);
        let output = match host.run(&parser).await {
            Ok(output) => output,
            Err(err) => panic!(
                "the real apparmor_parser must be installed for this test (apt-get install apparmor liblxc-common): {err}"
            ),
        };
        let message: String = output
            .stderr
            .lines()
            .filter(|line| !line.starts_with("Cache read/write disabled"))
            .map(|line| format!("{line}\n"))
            .collect();
        let message = message
            .replace(base, "/etc/apparmor.d")
            .replace(file, "/tmp/case");
        if output.status != Some(0) {
            return message;
        }
        let names = host
            .run(&Cmd::read("apparmor_parser", ["-N", "--base", base, file]))
            .await
            .expect("apparmor_parser -N runs");
        let names: Vec<String> = names.stdout.lines().map(str::to_owned).collect();
        format!("ok: {names:?}")
    }

    #[tokio::test]
    async fn issue_9_the_real_apparmor_parser_answers_as_the_emulator_does() {
        let host = LocalHost::new();
        for (at, (extra, text, _)) in CASES.iter().enumerate() {
            let dir = tempfile::tempdir().expect("tempdir");
            let base = policy_copy(&host, dir.path()).await;
            for (path, content) in *extra {
                let relative = path
                    .strip_prefix("/etc/apparmor.d/")
                    .expect("under apparmor.d");
                std::fs::write(Path::new(&base).join(relative), content).expect("write");
            }
            let file = dir.path().join("case");
            std::fs::write(&file, text).expect("write");
            let file = file.display().to_string();
            assert_eq!(
                real(&host, &base, &file).await,
                run(extra, text),
                "case {at}: {text}"
            );
        }
    }

    #[tokio::test]
    async fn issue_9_the_real_apparmor_parser_accepts_the_generated_profile_and_tunable() {
        let host = LocalHost::new();
        let dir = tempfile::tempdir().expect("tempdir");
        let base = policy_copy(&host, dir.path()).await;
        let tunable = Path::new(&base).join("tunables/phoenix-nesting");
        std::fs::write(&tunable, policy::tunable_text()).expect("write");
        let profile = Path::new(&base).join("lxc/lxc-phoenix-v2");
        std::fs::write(
            &profile,
            policy::profile_text(policy::PHOENIX_V2).expect("shipped"),
        )
        .expect("write");
        // Each file on its own, as the validate step checks it.
        for file in [&tunable, &profile] {
            let file = file.display().to_string();
            let answer = real(&host, &base, &file).await;
            assert!(answer.starts_with("ok: "), "{file}: {answer}");
        }
        // And through the distro's lxc-containers, which loads the directory at boot.
        let containers = Path::new(&base)
            .join("lxc-containers")
            .display()
            .to_string();
        let answer = real(&host, &base, &containers).await;
        assert!(answer.contains("\"lxc-phoenix-v2\""), "{answer}");
        assert!(answer.contains("\"lxc-container-default\""), "{answer}");
    }
}
