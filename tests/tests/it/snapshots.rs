//! Golden plans: every example config under `examples/` (on its own `sim-state.json` node when it
//! ships one, else on a fresh node) and the upstream 0017fa8 config on the example's node,
//! rendered as text and as JSON.

use std::path::PathBuf;

use crate::support::{Scratch, arg, examples, on, phoenix};

/// A scratch target for an example: its own node state when it ships one.
fn target_for(dir: &std::path::Path) -> (Scratch, String) {
    let scratch = Scratch::new();
    let state = dir.join("sim-state.json");
    let target = if state.exists() {
        std::fs::copy(&state, scratch.state_file()).expect("copy the example state");
        scratch.target()
    } else {
        "sim".to_owned()
    };
    (scratch, target)
}

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
        let (scratch, target) = target_for(&dir);
        let ran = phoenix(&["plan", "--config", arg(&dir), "--target", &target]);
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        assert!(!ran.stderr.contains("error:"), "{name}: {}", ran.stderr);
        let text = ran
            .stdout
            .replace(&scratch.path().display().to_string(), "[scratch]");
        insta::assert_snapshot!(format!("plan_text_{name}"), redact_ms(&text));
    }
}

#[test]
fn every_example_plans_as_json() {
    for (name, dir) in example_dirs() {
        let (scratch, target) = target_for(&dir);
        let ran = phoenix(&["plan", "--config", arg(&dir), "--target", &target, "--json"]);
        assert_eq!(ran.code, 0, "{name}: {}", ran.stderr);
        let mut plan: serde_json::Value =
            serde_json::from_str(&ran.stdout).expect("stdout is JSON");
        // Config diagnostics carry the checkout's absolute path.
        let root = dir.display().to_string();
        redact_paths(&mut plan, &root);
        redact_paths(&mut plan, &scratch.path().display().to_string());
        // A fingerprint is keyed with the scratch node's random plan key.
        insta::assert_json_snapshot!(format!("plan_json_{name}"), plan, {
            ".stats.wall_ms" => "[ms]",
            ".stats.slowest_command_ms" => "[ms]",
            ".stats.host_busy_ms" => "[ms]",
            ".changes[].fingerprint" => "[hmac]",
        });
    }
}

/// The upstream 0017fa8 config (hypervisor and LXC files as they are) on the example's node, plus
/// the storage upstream's containers use but its config never creates.
#[test]
fn the_upstream_config_plans_on_the_example_node() {
    let scratch = Scratch::new();
    let config = scratch
        .copy_upstream_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    scratch.seed_lab_state();
    scratch.add_upstream_storage();
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let text = ran
        .stdout
        .replace(&scratch.path().display().to_string(), "[scratch]");
    insta::assert_snapshot!("plan_text_upstream_0017fa8", redact_ms(&text));
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
