//! Tidy: the house-style rules that are checked as tests over the whole workspace.
//!
//! Each rule is a pure function in `source_rules` or `manifest_rules`, with a self-test there that
//! feeds it a violating in-memory file list, so a rule cannot silently pass. The tests below run
//! every rule over the files of the real workspace and list every offending `file:line`; they are
//! named after the `**Architecture invariant:**` lines of ARCHITECTURE.md they check.

mod manifest_rules;
mod rust_items;
mod source_rules;
mod workspace;

use std::sync::OnceLock;

use workspace::{SourceFile, assert_clean};

/// The workspace files, read once and shared by the tests.
fn workspace_files() -> &'static [SourceFile] {
    static FILES: OnceLock<Vec<SourceFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        workspace::load(&crate::project_root()).expect("the workspace sources are readable")
    })
}

/// Guards every other test: an empty or misplaced walk would make the rules pass vacuously.
#[test]
fn the_walk_reads_the_workspace() {
    let paths: Vec<&str> = workspace_files()
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    for expected in [
        "Cargo.toml",
        "phoenix-core/Cargo.toml",
        "phoenix-core/src/lib.rs",
        "phoenix-core/src/host/local.rs",
        "xtask/Cargo.toml",
        "xtask/src/main.rs",
        "xtask/src/tidy.rs",
    ] {
        assert!(paths.contains(&expected), "tidy did not read {expected}");
    }
    assert!(
        paths.iter().all(|path| !path.starts_with("target/")),
        "tidy read files under target/"
    );
}

#[test]
fn local_host_is_the_only_place_that_spawns_a_process() {
    assert_clean(
        "process spawning outside LocalHost",
        &source_rules::process_spawning(workspace_files()),
    );
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    assert_clean(
        "module doc on the first line",
        &source_rules::module_docs(workspace_files()),
    );
}

#[test]
fn no_test_is_skipped_or_expected_to_panic() {
    assert_clean(
        "forbidden test attributes",
        &source_rules::test_attributes(workspace_files()),
    );
}

#[test]
fn libraries_never_print() {
    assert_clean(
        "printing in a library crate",
        &source_rules::print_macros(workspace_files()),
    );
}

#[test]
fn phoenix_core_names_no_provider() {
    assert_clean(
        "provider named in phoenix-core",
        &source_rules::provider_names(workspace_files()),
    );
}

#[test]
fn diff_is_pure_and_synchronous() {
    assert_clean("diff purity", &source_rules::diff_purity(workspace_files()));
}

/// ARCHITECTURE.md's invariants are each checked by a test that exists.
#[test]
fn every_invariant_names_a_test_that_exists() {
    let path = crate::project_root().join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("ARCHITECTURE.md is readable");
    let architecture = SourceFile::new("ARCHITECTURE.md", &text);
    assert_clean(
        "invariants and their tests",
        &source_rules::invariant_tests(&architecture, workspace_files()),
    );
}

#[test]
fn dependencies_point_cli_to_providers_to_core() {
    assert_clean(
        "dependency direction",
        &manifest_rules::dependency_direction(workspace_files()),
    );
}

#[test]
fn every_crate_uses_the_workspace_lints() {
    assert_clean(
        "workspace lints",
        &manifest_rules::workspace_lints(workspace_files()),
    );
}
