//! Golden plans: every example config under `examples/`, planned against a fresh simulated node,
//! rendered as text and as JSON.

use std::path::PathBuf;

use crate::support::{arg, examples, phoenix};

#[test]
fn durations_are_redacted() {
    assert_eq!(
        redact_ms("0 command(s), 3 file read(s), 12 ms\nv2 ms 7 msec 40 ms"),
        "0 command(s), 3 file read(s), [ms]\nv2 ms 7 msec [ms]"
    );
}

/// Every example config directory, sorted by name.
fn example_dirs() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(examples())
        .expect("the examples directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            let name = path
                .file_name()
                .expect("a directory name")
                .to_string_lossy()
                .into_owned();
            (name, path)
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no example config under examples/");
    dirs
}

#[test]
fn every_example_plans_as_text() {
    for (name, dir) in example_dirs() {
        let ran = phoenix(&["plan", "--config", arg(&dir), "--target", "sim"]);
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        assert!(!ran.stderr.contains("error:"), "{name}: {}", ran.stderr);
        insta::assert_snapshot!(format!("plan_text_{name}"), redact_ms(&ran.stdout));
    }
}

#[test]
fn every_example_plans_as_json() {
    for (name, dir) in example_dirs() {
        let ran = phoenix(&["plan", "--config", arg(&dir), "--target", "sim", "--json"]);
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        let mut plan: serde_json::Value =
            serde_json::from_str(&ran.stdout).expect("stdout is JSON");
        // Config diagnostics carry the checkout's absolute path.
        let root = dir.display().to_string();
        redact_paths(&mut plan, &root);
        insta::assert_json_snapshot!(format!("plan_json_{name}"), plan, {
            ".stats.wall_ms" => "[ms]",
        });
    }
}

/// Replaces every duration such as `12 ms` with `[ms]`.
///
/// insta's `filters` feature would do this with a regex, but it needs crates this workspace does
/// not vendor.
fn redact_ms(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let digits = rest[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len(), |len| start + len);
        let preceded_by_word = rest[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..start]);
        let unit = rest[digits..].strip_prefix(" ms");
        let whole_unit = unit.is_some_and(|after| {
            !after
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if !preceded_by_word && whole_unit {
            out.push_str("[ms]");
            rest = &rest[digits + " ms".len()..];
        } else {
            out.push_str(&rest[start..digits]);
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces `root` with `[example]` in every string of `value`.
fn redact_paths(value: &mut serde_json::Value, root: &str) {
    match value {
        serde_json::Value::String(text) => *text = text.replace(root, "[example]"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_paths(v, root)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_paths(v, root)),
        _ => {}
    }
}
