//! One run per target at a time (the run lock), and what a run writes to a simulated node's state
//! file: `plan` only its audit entries, every run keeps the file's mode, and the temporary files
//! of killed runs do not pile up.

use std::os::unix::fs::PermissionsExt;

use phoenix_core::lock::lock_beside;
use phoenix_core::{Holder, RunLock};

use crate::support::{Scratch, files_example, on};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn issue_8_a_second_run_refuses_naming_the_holder_and_changes_nothing() {
    let scratch = Scratch::new();
    let config = files_example();
    let config = config.to_str().expect("utf-8");
    let holder = Holder::this_process("phoenix apply --config other --target sim:state.json");
    let held = RunLock::beside(&scratch.state_file(), &holder).expect("the lock is free");
    for command in ["apply", "plan", "status"] {
        let extra: &[&str] = if command == "apply" { &["--yes"] } else { &[] };
        let ran = on(&scratch, command, config, extra);
        assert_eq!(ran.code, 1, "{command}: {}", ran.stdout);
        let expected = format!(
            "error: target {}: another phoenix run holds the run lock {} (pid {} on ",
            scratch.target(),
            lock_beside(&scratch.state_file()).display(),
            std::process::id()
        );
        assert!(
            ran.stderr.starts_with(&expected),
            "{command}: {}",
            ran.stderr
        );
        assert!(
            ran.stderr.ends_with(
                ": phoenix apply --config other --target sim:state.json); nothing was done: try again when it has finished\n"
            ),
            "{command}: {}",
            ran.stderr
        );
        assert!(!scratch.state_file().exists(), "{command} created no state");
    }
    drop(held);
    let ran = on(&scratch, "apply", config, &["--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn the_lock_of_a_dead_run_is_taken_over() {
    let scratch = Scratch::new();
    let config = files_example();
    // A run killed with -9 leaves its lock file, with its holder line, but no lock.
    let lock = lock_beside(&scratch.state_file());
    std::fs::write(
        &lock,
        "{\"pid\":4194305,\"host\":\"gone\",\"started\":1,\"command\":\"phoenix apply\"}\n",
    )
    .expect("write");
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = on(&scratch, "plan", &config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn issue_8_plan_records_its_audit_entries_and_never_writes_the_node() {
    let scratch = Scratch::new();
    let config = files_example();
    // A hand-written state: the node a plan reads is not what it would save (its paths are
    // normalised), so a plan that saved its node would show here.
    std::fs::write(
        scratch.state_file(),
        r#"{"files": {"etc//motd/": {"content": "old\n"}}, "run": 3}"#,
    )
    .expect("write");
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let saved: serde_json::Value =
        serde_json::from_slice(&scratch.state_bytes()).expect("the state is JSON");
    assert_eq!(
        saved["files"],
        serde_json::json!({"etc//motd/": {"content": "old\n", "mode": "0644", "owner": "root:root"}}),
        "the node's files are as they were (the path not normalised as the node read it)"
    );
    assert_eq!(saved["run"], 4);
    let state = scratch.state();
    assert!(!state.audit.is_empty());
    assert!(
        state.audit.iter().all(|e| e.run == 4 && !e.is_mutation()),
        "{:?}",
        state.audit
    );
}

#[test]
fn issue_8_runs_keep_the_state_file_mode_and_create_it_private() {
    let scratch = Scratch::new();
    let config = files_example();
    let ran = on(&scratch, "apply", &config, &["--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        mode(&scratch.state_file()),
        0o600,
        "a new state file is 0600"
    );
    for (command, wanted) in [("plan", 0o640), ("apply", 0o600), ("status", 0o644)] {
        std::fs::set_permissions(
            scratch.state_file(),
            std::fs::Permissions::from_mode(wanted),
        )
        .expect("chmod");
        let extra: &[&str] = if command == "apply" { &["--yes"] } else { &[] };
        let ran = on(&scratch, command, &config, extra);
        assert_eq!(ran.code, 0, "{command}: {}", ran.stderr);
        assert_eq!(
            mode(&scratch.state_file()),
            wanted,
            "{command} kept the mode"
        );
    }
}

#[test]
fn issue_8_the_temporary_file_of_a_killed_run_is_removed() {
    let scratch = Scratch::new();
    let config = files_example();
    // What a run killed while it wrote the state leaves: a torn temporary file named after its
    // pid (above the kernel's pid_max, so never alive).
    let temp = scratch.path().join(".state.json.tmp-4194305");
    std::fs::write(&temp, "{\"files\": {\"/etc/mo").expect("write");
    let ran = on(&scratch, "plan", &config, &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!temp.exists(), "the dead run's temporary file is gone");
    let temps: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("ls")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert_eq!(temps, Vec::<String>::new(), "no temporary file is left");
}
