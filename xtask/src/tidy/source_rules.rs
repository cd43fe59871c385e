//! The tidy rules read from Rust source text: process spawning, module docs, test attributes,
//! printing in libraries, and provider names in phoenix-core.
//!
//! Every needle that would match this file is built with `concat!`, so the rules never flag
//! their own source, and the self-tests build their violating inputs from the same needles.

use super::rust_items::library_code_lines;
use super::workspace::{SourceFile, Violation};

/// The one file allowed to spawn processes: phoenix-core's `LocalHost`.
const LOCAL_HOST: &str = "phoenix-core/src/host/local.rs";

/// Text that spawns or names a process builder, split so this file does not contain it.
const PROCESS_NEEDLES: [&str; 2] = [concat!("Command", "::new"), concat!("process", "::Command")];

/// Test attributes the house style forbids (item 24).
const TEST_ATTRIBUTE_NEEDLES: [&str; 2] = [concat!("#[", "ignore"), concat!("#[", "should_panic")];

/// Print macros: libraries emit tracing events instead (item 26).
const PRINT_NEEDLES: [&str; 4] = [
    concat!("print", "!"),
    concat!("print", "ln!"),
    concat!("eprint", "!"),
    concat!("eprint", "ln!"),
];

/// Crates that may print: the command-line tools.
const PRINTING_CRATES: [&str; 2] = ["phoenix-cli", "xtask"];

/// Provider crate names, in both spellings, matched as whole words.
const PROVIDER_CRATES: [&str; 10] = [
    "phoenix_zfs",
    "phoenix_lxc",
    "phoenix_net",
    "phoenix_gpu",
    "phoenix_security",
    "phoenix-zfs",
    "phoenix-lxc",
    "phoenix-net",
    "phoenix-gpu",
    "phoenix-security",
];

/// String literals naming a tool that a provider drives.
const PROVIDER_TOOLS: [&str; 11] = [
    "\"zfs\"",
    "\"zpool\"",
    "\"pct\"",
    "\"pvesm\"",
    "\"qm\"",
    "\"pveam\"",
    "\"exportfs\"",
    "\"testparm\"",
    "\"nginx\"",
    "\"apparmor_parser\"",
    "\"nvidia-smi\"",
];

/// Only `LocalHost` spawns processes (items 11 and 12); the text is matched anywhere, comments
/// included.
pub(crate) fn process_spawning(files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in files
        .iter()
        .filter(|file| file.is_rust() && file.path != LOCAL_HOST)
    {
        for (number, line) in file.numbered_lines() {
            for needle in PROCESS_NEEDLES
                .iter()
                .filter(|needle| line.contains(*needle))
            {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("`{needle}`: only {LOCAL_HOST} (LocalHost) may spawn processes"),
                ));
            }
        }
    }
    violations
}

/// Every Rust file opens with a `//!` line saying what it is for (item 32).
pub(crate) fn module_docs(files: &[SourceFile]) -> Vec<Violation> {
    files
        .iter()
        .filter(|file| file.is_rust() && !file.text.starts_with("//!"))
        .map(|file| {
            Violation::new(
                file,
                1,
                "the first line is not a `//!` comment saying what the file is for",
            )
        })
        .collect()
}

/// No test is skipped or expected to panic (item 24): a test that cannot fail proves nothing.
pub(crate) fn test_attributes(files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in files.iter().filter(|file| file.is_rust()) {
        for (number, line) in file.numbered_lines() {
            for needle in TEST_ATTRIBUTE_NEEDLES
                .iter()
                .filter(|needle| line.contains(*needle))
            {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("`{needle}]` is forbidden: tests neither skip nor expect a panic"),
                ));
            }
        }
    }
    violations
}

/// Library crates never print: only the command-line crates write to the terminal (item 26).
pub(crate) fn print_macros(files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in files.iter().filter(|file| is_library_source(file)) {
        for (number, line) in file.numbered_lines() {
            for needle in PRINT_NEEDLES
                .iter()
                .filter(|needle| contains_word(line, needle))
            {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("`{needle}` in a library: emit a tracing event or return the text"),
                ));
            }
        }
    }
    violations
}

/// phoenix-core names no provider (item 3): its manifest and library code name no provider crate,
/// and its library code has no string literal naming a provider's tool.
///
/// Comment lines and `#[cfg(test)]` items are not library code: a unit test or a doc example may
/// use a real tool's name as sample data. Provider crate names are matched as whole words, so
/// `phoenix_lxc_configs.json`, the upstream config file, is not a crate name.
pub(crate) fn provider_names(files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in files {
        let lines = if file.path == "phoenix-core/Cargo.toml" {
            file.numbered_lines().collect()
        } else if file.path.starts_with("phoenix-core/src/") && file.is_rust() {
            library_code_lines(&file.text)
        } else {
            continue;
        };
        for (number, line) in lines {
            let crates = PROVIDER_CRATES
                .iter()
                .filter(|needle| contains_word(line, needle));
            let tools = PROVIDER_TOOLS
                .iter()
                .filter(|needle| file.is_rust() && line.contains(*needle));
            for needle in crates.chain(tools) {
                violations.push(Violation::new(
                    file,
                    number,
                    format!("names the provider `{needle}`: phoenix-core names no provider"),
                ));
            }
        }
    }
    violations
}

/// The trait declaration that keeps `diff` pure: no `Ctx`, no `Host`, no `async`.
const PURE_DIFF_DECLARATION: &str = "fn diff(&self, observed: Option<&Self::State>) -> Delta;";

/// The file that declares the `Resource` trait.
const RESOURCE_TRAIT: &str = "phoenix-core/src/resource.rs";

/// `diff` is pure and synchronous (item 6): the `Resource` trait declares it without a context,
/// and no library source defines a `diff` that awaits or takes a `Ctx` or a `Host`.
pub(crate) fn diff_purity(files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for file in files {
        if file.path == RESOURCE_TRAIT && !file.text.contains(PURE_DIFF_DECLARATION) {
            violations.push(Violation::new(
                file,
                1,
                format!("the Resource trait must declare `{PURE_DIFF_DECLARATION}`"),
            ));
        }
        if !is_library_source(file) {
            continue;
        }
        for (number, line) in file.numbered_lines() {
            let Some(at) = line.find("fn diff(") else {
                continue;
            };
            let impure = line[..at].contains("async")
                || ["Ctx", "Host"]
                    .iter()
                    .any(|word| contains_word(&line[at..], word));
            if impure {
                violations.push(Violation::new(
                    file,
                    number,
                    "`diff` awaits or takes a context or host: diff is pure and synchronous",
                ));
            }
        }
    }
    violations
}

/// The marker that opens an invariant line of ARCHITECTURE.md.
const INVARIANT_MARKER: &str = "**Architecture invariant:**";

/// Every `**Architecture invariant:**` line of `architecture` names at least one test, and every
/// test-like name it quotes (a backticked lowercase identifier with two or more underscores or a
/// `suite_` one, maybe after a `module::` path) is a function defined somewhere in `files`.
pub(crate) fn invariant_tests(architecture: &SourceFile, files: &[SourceFile]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (number, line) in architecture.numbered_lines() {
        if !line.starts_with(INVARIANT_MARKER) {
            continue;
        }
        let names = quoted_test_names(line);
        if names.is_empty() {
            violations.push(Violation::new(architecture, number, "names no test"));
        }
        for name in names {
            let definition = format!("fn {name}(");
            if !files
                .iter()
                .any(|file| file.is_rust() && file.text.contains(&definition))
            {
                violations.push(Violation::new(
                    architecture,
                    number,
                    format!("names `{name}`, which no Rust file defines"),
                ));
            }
        }
    }
    violations
}

/// The test-like names quoted in backticks on `line`.
fn quoted_test_names(line: &str) -> Vec<&str> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(|quoted| quoted.rsplit("::").next().unwrap_or(quoted))
        .filter(|name| {
            (name.matches('_').count() >= 2 || name.starts_with("suite_"))
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

/// Whether the file is in the `src/` of a crate other than the command-line ones.
fn is_library_source(file: &SourceFile) -> bool {
    let mut components = file.path.split('/');
    match (components.next(), components.next()) {
        (Some(krate), Some("src")) => file.is_rust() && !PRINTING_CRATES.contains(&krate),
        _ => false,
    }
}

/// Whether `needle` occurs in `line` with no identifier character right before or after it.
fn contains_word(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(start, _)| {
        let before = line[..start].chars().next_back();
        let after = line[start + needle.len()..].chars().next();
        !before.is_some_and(is_identifier_char) && !after.is_some_and(is_identifier_char)
    })
}

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impure_diff_is_caught_and_the_pure_declaration_is_required() {
        let trait_file = SourceFile::new(RESOURCE_TRAIT, "pub trait Resource {}\n");
        let provider = SourceFile::new(
            "phoenix-zfs/src/pool.rs",
            "fn diff(&self, observed: Option<&State>) -> Delta {}\n\
             async fn diff(&self, observed: Option<&State>) -> Delta {}\n\
             fn diff(&self, cx: &Ctx<'_>) -> Delta {}\n",
        );
        let found = diff_purity(&[trait_file, provider]);
        assert_eq!(
            places(&found),
            vec![
                (RESOURCE_TRAIT, 1),
                ("phoenix-zfs/src/pool.rs", 2),
                ("phoenix-zfs/src/pool.rs", 3)
            ]
        );
        let pure = SourceFile::new(RESOURCE_TRAIT, PURE_DIFF_DECLARATION);
        assert!(diff_purity(&[pure]).is_empty());
    }

    #[test]
    fn an_invariant_without_a_test_or_with_an_unknown_one_is_caught() {
        let architecture = SourceFile::new(
            "ARCHITECTURE.md",
            "# Architecture\n\
             **Architecture invariant:** all is well (test: `a_defined_test_name`).\n\
             **Architecture invariant:** nothing checks this.\n\
             **Architecture invariant:** checked by `support::an_undefined_test_name`.\n",
        );
        let code = SourceFile::new("tests/it/x.rs", "fn a_defined_test_name() {}\n");
        assert_eq!(
            places(&invariant_tests(&architecture, &[code])),
            vec![("ARCHITECTURE.md", 3), ("ARCHITECTURE.md", 4)]
        );
    }

    /// The (path, line) of each violation, for compact assertions.
    fn places(violations: &[Violation]) -> Vec<(&str, usize)> {
        violations
            .iter()
            .map(|violation| (violation.path.as_str(), violation.line))
            .collect()
    }

    #[test]
    fn process_spawning_is_caught_outside_local_host_only() {
        let spawn = format!(
            "//! Spawns.\nfn run() {{\n    let _ = std::{}(\"ls\");\n}}\n",
            PROCESS_NEEDLES[0]
        );
        let import = format!("//! Imports.\nuse tokio::{};\n", PROCESS_NEEDLES[1]);
        let files = [
            SourceFile::new("phoenix-zfs/src/pool.rs", &spawn),
            SourceFile::new("xtask/src/ci.rs", &import),
            SourceFile::new(LOCAL_HOST, &spawn),
            SourceFile::new("phoenix-core/src/host/mod.rs", "//! Clean.\n"),
        ];
        assert_eq!(
            places(&process_spawning(&files)),
            [("phoenix-zfs/src/pool.rs", 3), ("xtask/src/ci.rs", 2)]
        );
    }

    #[test]
    fn a_file_without_a_leading_module_doc_is_caught() {
        let files = [
            SourceFile::new("a/src/lib.rs", "//! Documented.\nfn f() {}\n"),
            SourceFile::new("a/src/bare.rs", "fn f() {}\n"),
            SourceFile::new("a/src/late.rs", "\n//! Too late.\n"),
            SourceFile::new("a/src/empty.rs", ""),
            SourceFile::new("a/Cargo.toml", "[package]\n"),
        ];
        assert_eq!(
            places(&module_docs(&files)),
            [
                ("a/src/bare.rs", 1),
                ("a/src/late.rs", 1),
                ("a/src/empty.rs", 1)
            ]
        );
    }

    #[test]
    fn skipped_and_panicking_tests_are_caught() {
        let text = format!(
            "//! Tests.\n#[test]\n{}]\nfn a() {{}}\n#[test]\n{}(expected = \"boom\")]\nfn b() {{}}\n",
            TEST_ATTRIBUTE_NEEDLES[0], TEST_ATTRIBUTE_NEEDLES[1]
        );
        let files = [SourceFile::new("tests/it/main.rs", &text)];
        assert_eq!(
            places(&test_attributes(&files)),
            [("tests/it/main.rs", 3), ("tests/it/main.rs", 6)]
        );
    }

    #[test]
    fn printing_is_caught_in_library_sources_only() {
        let text = format!(
            "//! Prints.\nfn f() {{\n    {}(\"a\");\n    {}(\"b\");\n    {}(\"c\");\n    {}(\"d\");\n    my_{}(\"e\");\n}}\n",
            PRINT_NEEDLES[0],
            PRINT_NEEDLES[1],
            PRINT_NEEDLES[2],
            PRINT_NEEDLES[3],
            PRINT_NEEDLES[1],
        );
        let files = [
            SourceFile::new("phoenix-core/src/plan.rs", &text),
            SourceFile::new("phoenix-cli/src/main.rs", &text),
            SourceFile::new("xtask/src/main.rs", &text),
            SourceFile::new("tests/benches/engine.rs", &text),
        ];
        assert_eq!(
            places(&print_macros(&files)),
            [
                ("phoenix-core/src/plan.rs", 3),
                ("phoenix-core/src/plan.rs", 4),
                ("phoenix-core/src/plan.rs", 5),
                ("phoenix-core/src/plan.rs", 6),
            ]
        );
    }

    #[test]
    fn provider_names_in_core_library_code_and_manifest_are_caught() {
        let source = "\
//! Latency.
use phoenix_zfs::Dataset;
// A comment may say \"zfs\".
const COSTS: &[(&str, u64)] = &[(\"pct\", 400), (\"cat\", 2)];
const FILE: &str = \"phoenix_lxc_configs.json\";

#[cfg(test)]
mod tests {
    fn sample() -> &'static str {
        \"zfs\"
    }
}

#[cfg(test)]
use phoenix_lxc::Container;

fn after_the_tests() -> &'static str {
    \"nvidia-smi\"
}
";
        let manifest =
            "[package]\nname = \"phoenix-core\"\n\n[dependencies]\nphoenix-net.workspace = true\n";
        let files = [
            SourceFile::new("phoenix-core/src/sim/latency.rs", source),
            SourceFile::new("phoenix-core/Cargo.toml", manifest),
            SourceFile::new("phoenix-zfs/src/lib.rs", source),
            SourceFile::new("phoenix-core/tests/it/main.rs", source),
        ];
        assert_eq!(
            places(&provider_names(&files)),
            [
                ("phoenix-core/src/sim/latency.rs", 2),
                ("phoenix-core/src/sim/latency.rs", 4),
                ("phoenix-core/src/sim/latency.rs", 18),
                ("phoenix-core/Cargo.toml", 5),
            ]
        );
    }
}
