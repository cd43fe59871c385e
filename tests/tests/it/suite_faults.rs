//! Suite: a fault at every command of a full converge of `examples/lab`.
//!
//! For each k, the k-th command of an apply (at parallelism 1, so k is the same command on every
//! run) fails before its effect (it changes nothing); and each command that changes the node
//! fails after it too (it did its work, then exited non-zero), and times out after it. Each time
//! the apply exits 1 (or, for a command that only feeds a report such as `smartctl`, exits 0 with
//! a warning that names the error), a resource that failed has no applied dependent, and nothing
//! is destroyed (the in-process harness checks the audit log of every run). Then the same apply without the
//! fault exits 0, the plan is empty, and the node is the node of a clean converge, running states
//! included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use phoenix_core::config::ConfigSet;
use phoenix_core::sim::{AuditOp, SimState};
use phoenix_core::{ApplyReport, Engine, ResourceId, Status};
use serde_json::{Value, json};

use crate::support::{Scratch, arg, lab, on};

/// When the injected fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The command fails and changes nothing.
    Before,
    /// The command does its work, then exits 1.
    After,
    /// The command does its work, then times out.
    Timeout,
}

impl Mode {
    fn fault(self, k: usize) -> Value {
        let mut fault = json!({"nth": k, "status": 1, "stderr": format!("{INJECTED}\n")});
        if self != Mode::Before {
            fault["after_effect"] = json!(true);
        }
        if self == Mode::Timeout {
            fault["timeout"] = json!(true);
        }
        fault
    }
}

/// The apply the suite runs: one change at a time, so the k-th command is always the same.
const APPLY: &[&str] = &["--yes", "--json", "--parallelism", "1"];

/// What every injected fault prints on standard error.
const INJECTED: &str = "phoenix-suite: injected fault";

/// One command of the clean converge.
#[derive(Debug)]
struct Command {
    argv: String,
    mutated: bool,
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the suite prints its counts, shown by the CI step that runs suite_* tests"
)]
fn suite_faults() {
    let config = lab();
    let config = arg(&config).to_owned();
    let (commands, clean) = clean_converge(&config);
    let dependents = dependents_of(&config);
    let commands = &commands;
    let cases: Vec<(Mode, usize)> = [Mode::Before, Mode::After, Mode::Timeout]
        .into_iter()
        .flat_map(|mode| {
            (1..=commands.len())
                .filter(move |k| mode == Mode::Before || commands[k - 1].mutated)
                .map(move |k| (mode, k))
        })
        .collect();
    let warned = Mutex::new(0);
    let absorbed = Mutex::new(0);
    let next = Mutex::new(cases.iter());
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&(mode, k)) = next.lock().expect("queue").next() {
                    let command = &commands[k - 1].argv;
                    match fault_case(&config, mode, k, command, &clean, &dependents) {
                        Ok(()) => {}
                        Err(Failure::Warned) => *warned.lock().expect("count") += 1,
                        Err(Failure::Absorbed) => *absorbed.lock().expect("count") += 1,
                        Err(Failure::Broken(why)) => failures
                            .lock()
                            .expect("failures")
                            .push(format!("{mode:?} fault at command {k} ({command}): {why}")),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    let warned = warned.into_inner().expect("count");
    let absorbed = absorbed.into_inner().expect("count");
    let mutating = commands.iter().filter(|c| c.mutated).count();
    println!(
        "suite faults: {} faults injected at {} commands ({} before the effect, {} after it, {} timing out after it), {} recovered ({} of them reported as a warning by an apply that succeeded, {} absorbed by a health poll that retried), {} lost",
        cases.len(),
        commands.len(),
        commands.len(),
        mutating,
        mutating,
        cases.len() - failures.len(),
        warned,
        absorbed,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Converges the lab on a fresh node: every command of the apply, and the node.
fn clean_converge(config: &str) -> (Vec<Command>, Value) {
    let scratch = Scratch::in_memory();
    scratch.seed_lab_state();
    let ran = on(&scratch, "apply", config, APPLY);
    assert_eq!(ran.code, 0, "clean apply: {}", ran.stderr);
    let state = scratch.state();
    let commands = commands_of(&state, state.run);
    assert!(commands.len() > 50, "a full converge: {commands:?}");
    let ran = on(&scratch, "plan", config, &["--detailed-exitcode"]);
    assert_eq!(ran.code, 0, "clean converge: {}", ran.stdout);
    (commands, node_of(&scratch.state()))
}

/// Every resource's transitive dependents.
fn dependents_of(config: &str) -> BTreeMap<ResourceId, BTreeSet<ResourceId>> {
    let set = ConfigSet::load(std::path::Path::new(config)).expect("the lab loads");
    let engine = Engine::new(phoenix_cli::registry().decode(&set)).expect("the lab has no cycle");
    let graph = engine.graph();
    let mut all = BTreeMap::new();
    for start in 0..graph.len() {
        let mut seen = BTreeSet::new();
        let mut todo = graph.dependents(start);
        while let Some(index) = todo.pop() {
            if seen.insert(graph.id(index).clone()) {
                todo.extend(graph.dependents(index));
            }
        }
        all.insert(graph.id(start).clone(), seen);
    }
    all
}

/// Why a fault case did not pass.
#[derive(Debug)]
enum Failure {
    /// The apply succeeded and said what failed (a warning): the fault recovered, and is counted.
    Warned,
    /// A health poll (`curl` on the node, a read) failed and the bounded wait polled again, as it
    /// does while a service starts: the apply succeeded and the node is a clean converge's.
    Absorbed,
    /// What went wrong.
    Broken(String),
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure::Broken(why)
    }
}

/// One fault, then the recovery.
fn fault_case(
    config: &str,
    mode: Mode,
    k: usize,
    command: &str,
    clean: &Value,
    dependents: &BTreeMap<ResourceId, BTreeSet<ResourceId>>,
) -> Result<(), Failure> {
    let scratch = Scratch::in_memory();
    scratch.seed_lab_state();
    scratch.edit_state(|state| state["faults"] = json!([mode.fault(k)]));
    let ran = on(&scratch, "apply", config, APPLY);
    let state = scratch.state();
    if state
        .faults
        .first()
        .is_none_or(|fault| fault.matched < k as u64)
    {
        return Err("the fault never fired".to_owned().into());
    }
    if ran.code == 0 && mode == Mode::Before && command.starts_with("curl ") {
        recover(config, &scratch, clean)?;
        return Err(Failure::Absorbed);
    }
    // `--json` puts the warnings in the report.
    if ran.code == 0 && ran.stdout.contains(INJECTED) {
        recover(config, &scratch, clean)?;
        return Err(Failure::Warned);
    }
    if ran.code != 1 {
        return Err(format!("the faulted apply exited {}: {}", ran.code, ran.stderr).into());
    }
    // A refused apply (the fault struck the plan's inspection) prints no report.
    if let Ok(report) = serde_json::from_str::<ApplyReport>(&ran.stdout) {
        check_skipped(&report, dependents)?;
    }
    recover(config, &scratch, clean)
}

/// The apply after the fault: exits 0, leaves an empty plan and the node of a clean converge.
fn recover(config: &str, scratch: &Scratch, clean: &Value) -> Result<(), Failure> {
    let ran = on(scratch, "apply", config, APPLY);
    if ran.code != 0 {
        return Err(format!("the next apply exited {}: {}", ran.code, ran.stderr).into());
    }
    let ran = on(scratch, "plan", config, &["--detailed-exitcode"]);
    if ran.code != 0 {
        return Err(format!("the plan after recovery is not empty: {}", ran.stdout).into());
    }
    let node = node_of(&scratch.state());
    if node != *clean {
        return Err(format!(
            "the recovered node differs from a clean converge: {}",
            first_difference(clean, &node, String::new())
        )
        .into());
    }
    Ok(())
}

/// No dependent of a resource whose apply failed was applied. (A resource that applied but did
/// not converge is found so by the verification after every apply, so its dependents ran.)
fn check_skipped(
    report: &ApplyReport,
    dependents: &BTreeMap<ResourceId, BTreeSet<ResourceId>>,
) -> Result<(), String> {
    let failed: Vec<&ResourceId> = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Failed { .. }))
        .map(|o| &o.id)
        .collect();
    if report.succeeded() {
        return Err("the report shows no failure".to_owned());
    }
    for id in failed {
        for outcome in &report.outcomes {
            let depends = dependents.get(id).is_some_and(|d| d.contains(&outcome.id));
            if depends && !matches!(outcome.status, Status::Skipped { .. }) {
                return Err(format!(
                    "{} failed but its dependent {} was not skipped: {:?}",
                    id, outcome.id, outcome.status
                ));
            }
        }
    }
    Ok(())
}

/// Every command run `run` executed.
fn commands_of(state: &SimState, run: u64) -> Vec<Command> {
    state
        .audit
        .iter()
        .filter(|e| e.run == run && e.op == AuditOp::Run)
        .map(|e| Command {
            argv: e.argv.join(" "),
            mutated: e.mutated,
        })
        .collect()
}

/// The node itself (files and tool state, running states included), without what only a clock
/// or a counter decides (the emulated clock, start times, snapshot times, dataset creation times,
/// and the transaction groups and guids derived from them) and with the
/// sections of `/etc/pve/storage.cfg` sorted: `pvesm add` appends, so a storage added by the
/// recovering apply comes last, and Proxmox gives their order no meaning.
pub(crate) fn node_of(state: &SimState) -> Value {
    let mut node = json!({"files": state.files, "tools": state.tools});
    if let Some(pct) = node["tools"].get_mut("pct").and_then(Value::as_object_mut) {
        pct.remove("clock");
        if let Some(containers) = pct.get_mut("containers").and_then(Value::as_object_mut) {
            for container in containers.values_mut() {
                if let Some(container) = container.as_object_mut() {
                    container.remove("started");
                }
            }
        }
    }
    if let Some(datasets) = node["tools"]["zfs"]
        .get_mut("datasets")
        .and_then(Value::as_object_mut)
    {
        for dataset in datasets.values_mut() {
            if let Some(dataset) = dataset.as_object_mut() {
                dataset.remove("createtxg");
                dataset.remove("creation");
                // The emulator derives it from the name and the creation time.
                dataset.remove("guid");
            }
        }
    }
    // How often smbd reloaded is history, not state: a recovery that writes the share file
    // while smbd already runs (a clean converge writes it before smbd starts) must reload it.
    if let Some(samba) = node["tools"]
        .get_mut("samba")
        .and_then(Value::as_object_mut)
    {
        samba.remove("reloads");
    }
    if let Some(cfg) = node["files"]["/etc/pve/storage.cfg"]["content"].as_str() {
        let mut sections: Vec<&str> = cfg.trim_end().split("\n\n").collect();
        sections.sort_unstable();
        node["files"]["/etc/pve/storage.cfg"]["content"] = Value::String(sections.join("\n\n"));
    }
    if let Some(files) = node["files"].as_object_mut() {
        for file in files.values_mut() {
            if let Some(content) = file["content"].as_str() {
                let kept: String = content
                    .split_inclusive('\n')
                    .filter(|line| !line.starts_with("snaptime: "))
                    .collect();
                file["content"] = Value::String(kept);
            }
        }
    }
    name_pem_blocks(&mut node, &mut Vec::new());
    drop_default_dir_attrs(&mut node);
    node
}

/// What `stat` shows of a directory nothing changed: `0755 root:root`.
fn default_dir() -> Value {
    json!({"mode": 0o755, "owner": "root:root"})
}

/// One real state, two records: a directory `mkdir -p` made is recorded with its default mode
/// and owner, one implied by a file written under it (or a guest directory `chmod` never
/// touched) is not; both `stat` as `0755 root:root`. Drops the recorded defaults: a node's
/// directory with a file under it, a guest's `dir_attrs` entry.
fn drop_default_dir_attrs(node: &mut Value) {
    let files: Vec<String> = node["files"]
        .as_object()
        .map(|files| files.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(dirs) = node["tools"]["dirs"]
        .get_mut("dirs")
        .and_then(Value::as_object_mut)
    {
        dirs.retain(|path, attrs| {
            let implied = files.iter().any(|f| f.starts_with(&format!("{path}/")));
            !(implied && *attrs == default_dir())
        });
    }
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(attrs)) = map.get_mut("dir_attrs") {
                    attrs.retain(|_, a| *a != default_dir());
                    if attrs.is_empty() {
                        map.remove("dir_attrs");
                    }
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(pct) = node["tools"].get_mut("pct") {
        walk(pct);
    }
}

/// Replaces each PEM block (the local CA's and the gateway's keys and certificates, random by
/// design: made at apply) with `<PEM n>`, n numbering the distinct blocks in the order they are
/// met; two nodes then compare equal when they hold the same files with the same blocks in the
/// same places (the CA in every trust store is the node's CA), whatever the random bytes.
fn name_pem_blocks(value: &mut Value, seen: &mut Vec<String>) {
    match value {
        Value::String(text) if text.contains("-----BEGIN ") => {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(start) = rest.find("-----BEGIN ") {
                let Some(end) = rest[start..]
                    .find("-----END ")
                    .and_then(|e| rest[start + e..].find("-----\n").map(|f| start + e + f + 6))
                else {
                    break;
                };
                let block = &rest[start..end];
                let n = match seen.iter().position(|b| b == block) {
                    Some(n) => n,
                    None => {
                        seen.push(block.to_owned());
                        seen.len() - 1
                    }
                };
                out.push_str(&rest[..start]);
                out.push_str(&format!("<PEM {n}>\n"));
                rest = &rest[end..];
            }
            out.push_str(rest);
            *text = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| name_pem_blocks(v, seen)),
        Value::Object(map) => map.values_mut().for_each(|v| name_pem_blocks(v, seen)),
        _ => {}
    }
}

/// Where two JSON values first differ, as a JSON path with both values.
pub(crate) fn first_difference(want: &Value, got: &Value, at: String) -> String {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let (x, y) = (a.get(key), b.get(key));
                if x != y {
                    return first_difference(
                        x.unwrap_or(&Value::Null),
                        y.unwrap_or(&Value::Null),
                        format!("{at}.{key}"),
                    );
                }
            }
            at
        }
        _ => {
            let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            format!("{at}: clean {} vs recovered {}", short(want), short(got))
        }
    }
}
