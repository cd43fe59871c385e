//! The workspace as the tidy rules see it: every `.rs` file and crate manifest, as path and text.
//!
//! The rules are pure functions over a `&[SourceFile]`, so their self-tests feed them in-memory
//! files and the real tests feed them the files [`load`] reads from disk.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

/// One file of the workspace: its path relative to the root, with `/` separators, and its text.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) path: String,
    pub(crate) text: String,
}

impl SourceFile {
    pub(crate) fn new(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.to_owned(),
            text: text.to_owned(),
        }
    }

    pub(crate) fn is_rust(&self) -> bool {
        self.path.ends_with(".rs")
    }

    /// Whether this is a `Cargo.toml`; [`load`] reads only the root's and the crates' own.
    pub(crate) fn is_manifest(&self) -> bool {
        self.path == "Cargo.toml" || self.path.ends_with("/Cargo.toml")
    }

    /// The lines with their 1-based numbers, as error messages count them.
    pub(crate) fn numbered_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line))
    }
}

/// One broken rule, at one line of one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Violation {
    pub(crate) path: String,
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl Violation {
    pub(crate) fn new(file: &SourceFile, line: usize, message: impl Into<String>) -> Violation {
        Violation {
            path: file.path.clone(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// Reads every `.rs` file under `root` and the `Cargo.toml` of the root and of each crate
/// directory, skipping `target` and hidden directories, in path order.
pub(crate) fn load(root: &Path) -> io::Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    walk(root, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(dir: &Path, relative: &str, files: &mut Vec<SourceFile>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name == "target" || name.starts_with('.') {
            continue;
        }
        let path = if relative.is_empty() {
            name.to_owned()
        } else {
            format!("{relative}/{name}")
        };
        // Symbolic links are not followed, so a link cannot make the walk loop.
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(&entry.path(), &path, files)?;
            continue;
        }
        // Manifests deeper than a crate directory are fixtures, not workspace crates.
        let is_crate_manifest = name == "Cargo.toml" && path.matches('/').count() <= 1;
        if file_type.is_file() && (name.ends_with(".rs") || is_crate_manifest) {
            let text = fs::read_to_string(entry.path())
                .map_err(|err| io::Error::new(err.kind(), format!("cannot read {path}: {err}")))?;
            files.push(SourceFile { path, text });
        }
    }
    Ok(())
}

/// Fails the calling test with every violation, one `file:line: message` per line.
pub(crate) fn assert_clean(rule: &str, violations: &[Violation]) {
    assert!(violations.is_empty(), "{}", report(rule, violations));
}

fn report(rule: &str, violations: &[Violation]) -> String {
    let mut text = format!("tidy: {rule}: {} violation(s)", violations.len());
    for violation in violations {
        text.push_str("\n  ");
        text.push_str(&violation.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use std::env;
    use std::process;

    use super::*;

    /// Builds a small tree on disk with files the walk must skip, and checks what it reads.
    #[test]
    fn load_skips_target_hidden_directories_and_nested_manifests() {
        let root = env::temp_dir().join(format!("xtask-tidy-walk-{}", process::id()));
        let create = |path: &str, text: &str| {
            let path = root.join(path);
            let dir = path.parent().expect("every test path has a parent");
            fs::create_dir_all(dir).expect("the temporary directory is writable");
            fs::write(path, text).expect("the temporary directory is writable");
        };
        create("Cargo.toml", "[workspace]\n");
        create("core/Cargo.toml", "[package]\n");
        create("core/src/lib.rs", "//! Core.\n");
        create("core/tests/fixtures/crate/Cargo.toml", "[package]\n");
        create("target/debug/build/out.rs", "generated\n");
        create("core/target/out.rs", "generated\n");
        create(".git/hooks/hook.rs", "hidden\n");

        let loaded = load(&root);
        fs::remove_dir_all(&root).expect("the temporary directory is removable");

        let paths: Vec<String> = loaded
            .expect("the temporary tree is readable")
            .into_iter()
            .map(|file| file.path)
            .collect();
        assert_eq!(paths, ["Cargo.toml", "core/Cargo.toml", "core/src/lib.rs"]);
    }

    #[test]
    fn the_report_lists_every_violation_as_file_and_line() {
        let file = SourceFile::new("a/src/lib.rs", "");
        let violations = [
            Violation::new(&file, 3, "first"),
            Violation::new(&file, 9, "second"),
        ];
        assert_eq!(
            report("rule", &violations),
            "tidy: rule: 2 violation(s)\n  a/src/lib.rs:3: first\n  a/src/lib.rs:9: second"
        );
    }
}
