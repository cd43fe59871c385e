//! `SimNode`: the stateful simulated Proxmox node, a `Host` with an in-memory filesystem and
//! emulated tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::audit::{AuditEntry, AuditOp};
use super::builtin::builtin_emulators;
use super::cache::ToolCache;
use super::emulator::{Emulator, SimOutput, SimSys};
use super::error::SimError;
use super::fault::{Fault, check_faults};
use super::latency::LatencyProfile;
use super::path::{dir_prefix, normalize};
use super::state::{DEFAULT_OWNER, STATE_FORMAT, SimFile, SimState, read_state, write_state};
use crate::cmd::{Cmd, Effect, Output};
use crate::host::{FileData, FileWrite, Host, HostError};

/// A simulated Proxmox node: in-memory files plus emulated tools that change state and print
/// what the real tools print.
///
/// Used for whole plan/apply/re-plan cycles in tests and as the command line's embedded target.
/// Every operation is recorded in an audit log; the whole state (files, tool state, faults,
/// counters, audit) can be saved as JSON so consecutive command-line runs see the same node.
///
/// Operations are synchronous under one lock; the latency profile's sleep happens outside it.
#[derive(Debug)]
pub struct SimNode {
    inner: Mutex<Inner>,
    emulators: BTreeMap<String, Arc<dyn Emulator>>,
    /// The emulators of programs run inside guests ([`Emulator::guest_programs`]).
    guest_emulators: BTreeMap<String, Arc<dyn Emulator>>,
    file: Option<PathBuf>,
    /// The records as the node was built or loaded, so that [`SimNode::save_records`] can tell
    /// this node's own from those already saved.
    baseline: Baseline,
}

/// The node's records (not its files or tool state) when it was built or loaded.
#[derive(Debug, Clone)]
struct Baseline {
    run: u64,
    audit_len: usize,
    call_counts: BTreeMap<String, u64>,
    faults: Vec<Fault>,
}

impl Baseline {
    fn of(state: &SimState) -> Baseline {
        Baseline {
            run: state.run,
            audit_len: state.audit.len(),
            call_counts: state.call_counts.clone(),
            faults: state.faults.clone(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: SimState,
    latency: LatencyProfile,
    /// Tool state kept deserialised between commands; `state.tools` is brought up to date from it
    /// before the state is handed out.
    cache: ToolCache,
}

impl SimNode {
    /// A fresh, empty node with latency `zero`, answering the built-in programs (`cat`, `true`,
    /// `false`) and those of `emulators`.
    pub fn new(emulators: Vec<Arc<dyn Emulator>>) -> Result<SimNode, SimError> {
        SimNode::from_state(SimState::new(), emulators)
    }

    /// A node with `state`, such as one built by a test. File paths are normalised, so a
    /// hand-written `etc/hosts/` is `/etc/hosts`.
    pub fn from_state(
        mut state: SimState,
        emulators: Vec<Arc<dyn Emulator>>,
    ) -> Result<SimNode, SimError> {
        if state.format != STATE_FORMAT {
            return Err(SimError::UnsupportedFormat {
                found: state.format,
                supported: STATE_FORMAT,
            });
        }
        let latency = LatencyProfile::named(&state.latency)?;
        state.files = std::mem::take(&mut state.files)
            .into_iter()
            .map(|(path, file)| (normalize(&path), file))
            .collect();
        Ok(SimNode {
            baseline: Baseline::of(&state),
            inner: Mutex::new(Inner {
                state,
                latency,
                cache: ToolCache::default(),
            }),
            guest_emulators: register_guest(&emulators)?,
            emulators: register(emulators)?,
            file: None,
        })
    }

    /// The node saved in `file`, or a fresh one when `file` does not exist; [`SimNode::save`]
    /// writes back to `file`.
    pub fn open(file: &Path, emulators: Vec<Arc<dyn Emulator>>) -> Result<SimNode, SimError> {
        let state = read_state(file)?.unwrap_or_default();
        let mut node = SimNode::from_state(state, emulators)?;
        node.file = Some(file.to_owned());
        Ok(node)
    }

    /// Saves the state to the file the node was opened from, atomically; does nothing for a node
    /// that was not opened from a file.
    pub fn save(&self) -> Result<(), SimError> {
        match &self.file {
            Some(file) => write_state(file, &self.state()),
            None => Ok(()),
        }
    }

    /// Saves only this node's records into its state file as the file is now: the audit entries,
    /// command counts, fault counters and run numbers added since the node was opened. The
    /// node's files and tool state are not written, so a read-only run (`plan`) never puts back
    /// the node it read, even if another process changed the file since. Does nothing for a node
    /// that was not opened from a file.
    pub fn save_records(&self) -> Result<(), SimError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut saved = read_state(file)?.unwrap_or_default();
        let ours = self.state();
        merge_records(&mut saved, &ours, &self.baseline);
        write_state(file, &saved)
    }

    /// The state file, for a node opened from one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A copy of the whole state.
    pub fn state(&self) -> SimState {
        let mut inner = self.lock();
        let Inner { state, cache, .. } = &mut *inner;
        cache.flush_all(&mut state.tools);
        state.clone()
    }

    /// Starts a new run (one command-line invocation, or one phase of a test) and returns its
    /// number; later audit entries carry it.
    pub fn begin_run(&self) -> u64 {
        let mut inner = self.lock();
        inner.state.run += 1;
        inner.state.run
    }

    /// A copy of the audit log, oldest first.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.lock().state.audit.clone()
    }

    /// Switches to the latency profile called `name` (see [`LatencyProfile`]).
    pub fn set_latency(&self, name: &str) -> Result<(), SimError> {
        let profile = LatencyProfile::named(name)?;
        let mut inner = self.lock();
        inner.state.latency = profile.name().to_owned();
        inner.latency = profile;
        Ok(())
    }

    /// Adds an injected failure.
    pub fn add_fault(&self, fault: Fault) {
        self.lock().state.faults.push(fault);
    }

    /// Locks the state. An emulator that panicked left the state as plain data, possibly half
    /// changed, which is still worth inspecting, so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `cmd` against the state, under the lock.
    fn execute(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let argv = cmd.argv();
        let stdin = cmd.stdin_text()?;
        let mut inner = self.lock();
        let Inner { state, cache, .. } = &mut *inner;
        *state.call_counts.entry(cmd.program.clone()).or_default() += 1;
        let fault = check_faults(&mut state.faults, &argv).cloned();
        let outcome = if let Some(fault) = fault.as_ref().filter(|fault| !fault.after_effect) {
            Ok(SimOutput::fail(fault.status, fault.stderr.clone()))
        } else if let Some(emulator) = self.emulators.get(&cmd.program) {
            let mut sys = SimSys::new(&mut state.files, &mut state.tools, cache)
                .with_programs(&self.emulators)
                .with_guest_programs(&self.guest_emulators)
                .with_faults(&mut state.faults);
            let output = emulator.run(&argv, stdin, &mut sys);
            let report = sys.finish();
            if let Some(error) = report.error {
                Err((error, output.mutated || report.changed))
            } else if report.changed && !output.mutated {
                Err((
                    format!(
                        "the `{}` emulator changed the node but reported no mutation",
                        cmd.program
                    ),
                    true,
                ))
            } else if cmd.effect == Effect::Read && (output.mutated || report.changed) {
                // `ReadOnly` lets a read through during plan, so a write declared as a read would
                // change the host while planning: the node refuses it (a provider bug).
                Err((
                    "the command is declared a read (Cmd::read) but changed the node; declare it with Cmd::write".to_owned(),
                    true,
                ))
            } else {
                Ok(output)
            }
        } else {
            Ok(SimOutput::fail(
                127,
                format!("bash: line 1: {}: command not found\n", cmd.program),
            ))
        };
        let outcome = match (&fault, outcome) {
            (Some(fault), Ok(output)) if fault.after_effect => Ok(SimOutput::new(
                fault.status,
                output.stdout,
                fault.stderr.clone(),
                output.mutated,
            )),
            (_, outcome) => outcome,
        };
        let (status, mutated) = match &outcome {
            Ok(output) => (Some(output.status), output.mutated),
            Err((_, mutated)) => (None, *mutated),
        };
        // A command that timed out has no exit status.
        let status = status.filter(|_| !fault.as_ref().is_some_and(|fault| fault.timeout));
        push_audit(state, AuditOp::Run, argv, status, mutated);
        tracing::debug!(argv = %cmd, status = ?status, mutated, "simulated");
        if fault.is_some_and(|fault| fault.timeout) {
            return Err(HostError::Timeout {
                argv: cmd.to_string(),
                seconds: cmd.timeout.unwrap_or_default().as_secs_f64(),
            });
        }
        match outcome {
            Ok(output) => {
                if !output.stderr.is_empty() {
                    tracing::trace!(argv = %cmd, stderr = %output.stderr, "stderr");
                }
                Ok(Output::new(
                    Some(output.status),
                    output.stdout,
                    output.stderr,
                ))
            }
            Err((message, _)) => Err(HostError::Other(format!("simulate `{cmd}`: {message}"))),
        }
    }

    /// Runs one file operation on the state, under the lock, and audits it. `apply` returns its
    /// result and whether it changed the node.
    fn file_op<T>(
        &self,
        op: AuditOp,
        path: &Path,
        apply: impl FnOnce(&mut BTreeMap<String, SimFile>, &str) -> std::io::Result<(T, bool)>,
    ) -> Result<T, HostError> {
        let key = normalize(&path.to_string_lossy());
        let mut inner = self.lock();
        let state = &mut inner.state;
        let result = apply(&mut state.files, &key);
        let mutated = matches!(result, Ok((_, true)));
        push_audit(state, op, vec![key.clone()], None, mutated);
        tracing::debug!(op = %op, path = %key, mutated, ok = result.is_ok(), "simulated");
        result
            .map(|(value, _)| value)
            .map_err(|source| HostError::File {
                op: match op {
                    AuditOp::Run => "run",
                    AuditOp::ReadFile => "read",
                    AuditOp::WriteFile => "write",
                    AuditOp::RemoveFile => "remove",
                },
                path: key,
                source,
            })
    }

    fn file_latency(&self) -> Duration {
        self.lock().latency.file_op()
    }
}

#[async_trait]
impl Host for SimNode {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let typical = self
            .emulators
            .get(&cmd.program)
            .and_then(|e| e.typical_latency_of(&cmd.argv(), cmd.stdin_text().ok().flatten()));
        let delay = self.lock().latency.for_program(&cmd.program, typical);
        sleep(delay).await;
        self.execute(cmd)
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        sleep(self.file_latency()).await;
        self.file_op(AuditOp::ReadFile, path, |files, key| {
            if let Some(file) = files.get(key) {
                Ok((Some(FileData::from(file.clone())), false))
            } else if is_dir(files, key) {
                Err(std::io::ErrorKind::IsADirectory.into())
            } else {
                Ok((None, false))
            }
        })
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        sleep(self.file_latency()).await;
        self.file_op(AuditOp::WriteFile, path, |files, key| {
            if is_dir(files, key) {
                return Err(std::io::ErrorKind::IsADirectory.into());
            }
            if ancestors(key).any(|dir| files.contains_key(dir)) {
                return Err(std::io::ErrorKind::NotADirectory.into());
            }
            let owner = file
                .owner
                .clone()
                .unwrap_or_else(|| DEFAULT_OWNER.to_owned());
            files.insert(
                key.to_owned(),
                SimFile::new(file.content.clone(), file.mode, owner),
            );
            Ok(((), true))
        })
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        sleep(self.file_latency()).await;
        self.file_op(AuditOp::RemoveFile, path, |files, key| {
            if is_dir(files, key) {
                return Err(std::io::ErrorKind::IsADirectory.into());
            }
            Ok(((), files.remove(key).is_some()))
        })
    }

    fn describe(&self) -> String {
        match &self.file {
            Some(file) => format!("sim:{}", file.display()),
            None => "sim".to_owned(),
        }
    }
}

/// Adds to `saved` the records `ours` made since `baseline`: the runs (renumbered after
/// `saved`'s), their audit entries (renumbered after `saved`'s), the command counts, and the
/// fault counters when `saved` holds the same faults.
fn merge_records(saved: &mut SimState, ours: &SimState, baseline: &Baseline) {
    let first_run = saved.run;
    saved.run += ours.run.saturating_sub(baseline.run);
    let mut seq = saved.audit.last().map_or(0, |last| last.seq);
    for entry in ours.audit.iter().skip(baseline.audit_len) {
        seq += 1;
        let mut entry = entry.clone();
        entry.seq = seq;
        entry.run = first_run + entry.run.saturating_sub(baseline.run);
        saved.audit.push(entry);
    }
    for (program, count) in &ours.call_counts {
        let before = baseline.call_counts.get(program).copied().unwrap_or(0);
        *saved.call_counts.entry(program.clone()).or_default() += count.saturating_sub(before);
    }
    let same_faults = |a: &[Fault], b: &[Fault]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_rule(y))
    };
    if same_faults(&saved.faults, &baseline.faults) && same_faults(&ours.faults, &baseline.faults) {
        for ((fault, now), before) in saved
            .faults
            .iter_mut()
            .zip(&ours.faults)
            .zip(&baseline.faults)
        {
            fault.matched += now.matched.saturating_sub(before.matched);
        }
    }
}

/// Builds the program table: the built-in emulators, then `emulators`.
fn register(
    emulators: Vec<Arc<dyn Emulator>>,
) -> Result<BTreeMap<String, Arc<dyn Emulator>>, SimError> {
    let mut by_program: BTreeMap<String, Arc<dyn Emulator>> = BTreeMap::new();
    for emulator in builtin_emulators().into_iter().chain(emulators) {
        for program in emulator.programs() {
            if by_program.contains_key(&program) {
                return Err(SimError::DuplicateProgram { program });
            }
            by_program.insert(program, Arc::clone(&emulator));
        }
    }
    Ok(by_program)
}

/// The table of programs answered inside guests; a program two emulators answer there is an
/// error.
fn register_guest(
    emulators: &[Arc<dyn Emulator>],
) -> Result<BTreeMap<String, Arc<dyn Emulator>>, SimError> {
    let mut by_program: BTreeMap<String, Arc<dyn Emulator>> = BTreeMap::new();
    for emulator in builtin_emulators().iter().chain(emulators) {
        for program in emulator.guest_programs() {
            if by_program.contains_key(&program) {
                return Err(SimError::DuplicateProgram { program });
            }
            by_program.insert(program, Arc::clone(emulator));
        }
    }
    Ok(by_program)
}

fn push_audit(
    state: &mut SimState,
    op: AuditOp,
    argv: Vec<String>,
    status: Option<i32>,
    mutated: bool,
) {
    let seq = state.audit.last().map_or(1, |last| last.seq + 1);
    state
        .audit
        .push(AuditEntry::new(seq, state.run, op, argv, status, mutated));
}

/// Whether any file lies under `key`.
fn is_dir(files: &BTreeMap<String, SimFile>, key: &str) -> bool {
    let prefix = dir_prefix(key);
    files
        .range(prefix.clone()..)
        .next()
        .is_some_and(|(path, _)| path.starts_with(&prefix))
}

/// The directories above a normalised path, outermost first, without `/`.
fn ancestors(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/')
        .map(|(index, _)| &key[..index])
        .filter(|dir| !dir.is_empty())
}

async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A tool that keeps a counter in the tool-state namespace `counter`.
    #[derive(Debug)]
    struct Counter;

    impl Emulator for Counter {
        fn programs(&self) -> Vec<String> {
            vec!["counter".to_owned()]
        }

        fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
            let mut count: u64 = sys.load("counter");
            match argv.get(1).map(String::as_str) {
                Some("incr") => {
                    count += 1;
                    sys.store("counter", &count);
                    SimOutput::ok_mutated(format!("{count}\n"))
                }
                Some("cached-incr") => {
                    let count = sys.load_cached::<u64>("counter") + 1;
                    sys.store_cached("counter", count);
                    SimOutput::ok_mutated(format!("{count}\n"))
                }
                Some("get") => SimOutput::ok(format!("{count}\n")),
                Some("echo") => SimOutput::ok(stdin.unwrap_or_default()),
                Some("sneaky") => {
                    sys.write("/tmp/sneaky", SimFile::text("x"));
                    SimOutput::ok("")
                }
                _ => SimOutput::fail(2, "usage: counter incr|get|echo\n"),
            }
        }
    }

    /// An emulator claiming `programs`.
    #[derive(Debug)]
    struct Claims(Vec<&'static str>);

    impl Emulator for Claims {
        fn programs(&self) -> Vec<String> {
            self.0.iter().map(|program| (*program).to_owned()).collect()
        }

        fn run(&self, _argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
            SimOutput::ok("")
        }
    }

    fn node() -> SimNode {
        SimNode::new(vec![Arc::new(Counter)]).expect("no duplicate programs")
    }

    async fn run(node: &SimNode, cmd: Cmd) -> Output {
        node.run(&cmd).await.expect("simulated command runs")
    }

    #[tokio::test]
    async fn state_round_trips_through_a_json_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("state.json");
        let first = SimNode::open(&file, vec![Arc::new(Counter)]).expect("fresh node");
        assert_eq!(first.state(), SimState::new());
        first.begin_run();
        first.set_latency("proxmox-typical").expect("known profile");
        first.add_fault(Fault::new(5, 1, "later\n").program("cat"));
        first
            .write_file(
                Path::new("/etc/hostname"),
                &FileWrite::new("pve\n", 0o600).owner("root:adm"),
            )
            .await
            .expect("write");
        run(&first, Cmd::write("counter", ["incr"])).await;
        run(&first, Cmd::read("cat", ["/etc/hostname"])).await;
        first.save().expect("save");

        let text = std::fs::read_to_string(&file).expect("saved");
        assert!(text.ends_with("}\n"));
        assert!(text.contains(r#""mode": "0600""#), "{text}");
        let second = SimNode::open(&file, vec![Arc::new(Counter)]).expect("load saved state");
        assert_eq!(second.state(), first.state());
        assert_eq!(second.file(), Some(file.as_path()));
        assert_eq!(second.describe(), format!("sim:{}", file.display()));

        second.set_latency("zero").expect("known profile");
        assert_eq!(second.begin_run(), 2);
        assert_eq!(
            run(&second, Cmd::write("counter", ["incr"])).await.stdout,
            "2\n"
        );
        assert_eq!(second.state().call_counts["counter"], 2);
        assert_eq!(second.state().faults[0].matched, 1);
        assert_eq!(
            second.audit().last().map(|entry| (entry.seq, entry.run)),
            Some((4, 2))
        );
    }

    #[tokio::test]
    async fn issue_8_save_records_never_writes_back_the_node_it_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("state.json");
        let mut seeded = SimState::new();
        seeded.faults.push(Fault::new(9, 1, "").program("counter"));
        write_state(&file, &seeded).expect("seed");
        // A plan opens the node and reads it...
        let plan = SimNode::open(&file, vec![Arc::new(Counter)]).expect("open");
        plan.begin_run();
        run(&plan, Cmd::read("counter", ["get"])).await;
        // ...while an apply (that did not honour the run lock) changes and saves it.
        let apply = SimNode::open(&file, vec![Arc::new(Counter)]).expect("open");
        apply.begin_run();
        run(&apply, Cmd::write("counter", ["incr"])).await;
        apply.save().expect("save");
        plan.save_records().expect("save the plan's records");

        let saved = read_state(&file).expect("read").expect("exists");
        assert_eq!(
            saved.tools["counter"],
            serde_json::json!(1),
            "the apply is kept"
        );
        let lines: Vec<String> = saved.audit.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "#1 run 1: run counter incr (status 0, mutated)",
                "#2 run 2: run counter get (status 0)",
            ]
        );
        assert_eq!(saved.run, 2);
        assert_eq!(saved.call_counts["counter"], 2);
        assert_eq!(saved.faults[0].matched, 2);
    }

    #[tokio::test]
    async fn opening_a_bad_state_file_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("state.json");
        std::fs::write(&file, "{\"format\": 1,\n \"run\": \"one\"}\n").expect("write");
        let err = SimNode::open(&file, Vec::new()).expect_err("bad state");
        assert!(
            err.to_string()
                .starts_with(&format!("load sim state {}:2:", file.display())),
            "{err}"
        );

        std::fs::write(&file, r#"{"latency": "slow"}"#).expect("write");
        let err = SimNode::open(&file, Vec::new()).expect_err("unknown latency");
        assert!(matches!(err, SimError::UnknownLatency { .. }), "{err:?}");

        std::fs::write(&file, r#"{"format": 2}"#).expect("write");
        let err = SimNode::open(&file, Vec::new()).expect_err("future format");
        assert!(
            matches!(err, SimError::UnsupportedFormat { found: 2, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn hand_written_state_paths_are_normalised() {
        let state: SimState =
            serde_json::from_str(r#"{"files": {"etc//hostname/": {"content": "pve\n"}}}"#)
                .expect("valid state");
        let node = SimNode::from_state(state, Vec::new()).expect("node");
        assert_eq!(
            run(&node, Cmd::read("cat", ["/etc/hostname"])).await.stdout,
            "pve\n"
        );
    }

    #[tokio::test]
    async fn unknown_program_fails_like_a_shell() {
        let node = node();
        let output = run(&node, Cmd::write("pct", ["start", "100"])).await;
        assert_eq!(
            output,
            Output::new(Some(127), "", "bash: line 1: pct: command not found\n")
        );
        let audit = node.audit();
        assert_eq!(audit.len(), 1);
        assert!(!audit[0].is_mutation());
        assert_eq!(audit[0].status, Some(127));
        assert_eq!(node.state().call_counts["pct"], 1);
    }

    #[tokio::test]
    async fn fault_fails_the_second_cat_call_only() {
        let node = node();
        node.write_file(Path::new("/etc/hostname"), &FileWrite::new("pve\n", 0o644))
            .await
            .expect("write");
        node.add_fault(Fault::new(2, 1, "cat: /etc/hostname: Input/output error\n").program("cat"));
        let cat = Cmd::read("cat", ["/etc/hostname"]);
        let outputs = [
            run(&node, cat.clone()).await,
            run(&node, Cmd::read("true", Vec::<String>::new())).await,
            run(&node, cat.clone()).await,
            run(&node, cat).await,
        ];
        assert_eq!(outputs[0], Output::new(Some(0), "pve\n", ""));
        assert_eq!(outputs[1], Output::new(Some(0), "", ""));
        assert_eq!(
            outputs[2],
            Output::new(Some(1), "", "cat: /etc/hostname: Input/output error\n")
        );
        assert_eq!(outputs[3], Output::new(Some(0), "pve\n", ""));
        assert_eq!(node.state().faults[0].matched, 3);
    }

    #[tokio::test]
    async fn a_fault_after_the_effect_changes_the_node_then_fails() {
        let node = node();
        node.add_fault(
            Fault::new(1, 3, "lost the reply\n")
                .program("counter")
                .after_effect(),
        );
        node.add_fault(
            Fault::new(2, 1, "")
                .program("counter")
                .after_effect()
                .timed_out(),
        );
        let output = run(&node, Cmd::write("counter", ["incr"])).await;
        assert_eq!(output, Output::new(Some(3), "1\n", "lost the reply\n"));
        let err = node
            .run(&Cmd::write("counter", ["incr"]))
            .await
            .expect_err("times out");
        assert!(matches!(err, HostError::Timeout { .. }), "{err:?}");
        assert_eq!(
            run(&node, Cmd::read("counter", ["get"])).await.stdout,
            "2\n"
        );
        let lines: Vec<String> = node.audit().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "#1 run 0: run counter incr (status 3, mutated)",
                "#2 run 0: run counter incr (mutated)",
                "#3 run 0: run counter get (status 0)",
            ]
        );
    }

    #[tokio::test]
    async fn audit_marks_mutations() {
        let node = node();
        assert_eq!(node.begin_run(), 1);
        let hosts = Path::new("/etc/hosts");
        node.write_file(hosts, &FileWrite::new("127.0.0.1 localhost\n", 0o644))
            .await
            .expect("write");
        let read = node
            .read_file(Path::new("/etc//hosts"))
            .await
            .expect("read");
        assert_eq!(
            read,
            Some(FileData::new("127.0.0.1 localhost\n", 0o644, "root:root"))
        );
        node.remove_file(Path::new("/etc/missing"))
            .await
            .expect("remove missing");
        run(&node, Cmd::write("counter", ["incr"])).await;
        run(&node, Cmd::read("counter", ["get"])).await;
        assert_eq!(
            run(&node, Cmd::read("counter", ["echo"]).stdin("hi\n"))
                .await
                .stdout,
            "hi\n"
        );
        node.remove_file(hosts).await.expect("remove");

        let lines: Vec<String> = node.audit().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "#1 run 1: write_file /etc/hosts (mutated)",
                "#2 run 1: read_file /etc/hosts",
                "#3 run 1: remove_file /etc/missing",
                "#4 run 1: run counter incr (status 0, mutated)",
                "#5 run 1: run counter get (status 0)",
                "#6 run 1: run counter echo (status 0)",
                "#7 run 1: remove_file /etc/hosts (mutated)",
            ]
        );
        let mutations: Vec<u64> = node
            .audit()
            .iter()
            .filter(|entry| entry.is_mutation())
            .map(|entry| entry.seq)
            .collect();
        assert_eq!(mutations, [1, 4, 7]);
    }

    #[tokio::test]
    async fn cached_tool_state_is_in_the_state_and_seen_as_json() {
        let node = node();
        for expected in ["1\n", "2\n"] {
            let output = run(&node, Cmd::write("counter", ["cached-incr"])).await;
            assert_eq!(output.stdout, expected);
        }
        assert_eq!(node.state().tools["counter"], serde_json::json!(2));
        run(&node, Cmd::write("counter", ["incr"])).await;
        let output = run(&node, Cmd::write("counter", ["cached-incr"])).await;
        assert_eq!(output.stdout, "4\n");
        assert_eq!(
            run(&node, Cmd::read("counter", ["get"])).await.stdout,
            "4\n"
        );
        assert!(
            node.audit()
                .iter()
                .all(|entry| entry.mutated == (entry.argv[1] != "get"))
        );
    }

    #[tokio::test]
    async fn an_unreported_mutation_is_a_host_error() {
        let node = node();
        let err = node
            .run(&Cmd::read("counter", ["sneaky"]))
            .await
            .expect_err("emulator lied about mutating");
        assert_eq!(
            err.to_string(),
            "simulate `counter sneaky`: the `counter` emulator changed the node but reported no mutation"
        );
        let last = node.audit().pop().expect("audited");
        assert_eq!((last.status, last.mutated), (None, true));
    }

    #[tokio::test]
    async fn issue_8_the_simulated_node_refuses_a_write_declared_as_a_read() {
        let node = node();
        let err = node
            .run(&Cmd::read("counter", ["incr"]))
            .await
            .expect_err("a mutating command declared as a read");
        assert_eq!(
            err.to_string(),
            "simulate `counter incr`: the command is declared a read (Cmd::read) but changed the node; declare it with Cmd::write"
        );
        let last = node.audit().pop().expect("audited");
        assert_eq!((last.status, last.mutated), (None, true));
        // Through `ReadOnly`, as during plan: the read passes the wrapper and the node refuses it.
        let read_only = crate::host::ReadOnly(&node);
        assert!(
            read_only
                .run(&Cmd::read("counter", ["incr"]))
                .await
                .is_err()
        );
        // Declared as a write, the same command runs.
        assert!(run(&node, Cmd::write("counter", ["incr"])).await.success());
        // A read that changes nothing is fine.
        assert!(run(&node, Cmd::read("counter", ["get"])).await.success());
    }

    #[tokio::test]
    async fn tool_state_that_does_not_fit_is_a_host_error() {
        let mut state = SimState::new();
        state
            .tools
            .insert("counter".to_owned(), serde_json::json!({"pools": []}));
        let node = SimNode::from_state(state, vec![Arc::new(Counter)]).expect("node");
        let err = node
            .run(&Cmd::write("counter", ["incr"]))
            .await
            .expect_err("bad tool state");
        assert!(
            err.to_string()
                .contains("tool state `counter` does not fit"),
            "{err}"
        );
        assert_eq!(
            node.state().tools["counter"],
            serde_json::json!({"pools": []})
        );
    }

    #[tokio::test]
    async fn file_operations_respect_implicit_directories() {
        let node = node();
        node.write_file(
            Path::new("/etc/pve/lxc/100.conf"),
            &FileWrite::new("arch: amd64\n", 0o640),
        )
        .await
        .expect("write");
        let err = node
            .read_file(Path::new("/etc/pve"))
            .await
            .expect_err("a directory");
        assert_eq!(err.to_string(), "could not read /etc/pve");
        let err = node
            .write_file(
                Path::new("/etc/pve/lxc/100.conf/x"),
                &FileWrite::new("", 0o644),
            )
            .await
            .expect_err("under a file");
        assert_eq!(err.to_string(), "could not write /etc/pve/lxc/100.conf/x");
        assert!(
            node.audit()
                .iter()
                .all(|entry| entry.seq == 1 || !entry.mutated)
        );
    }

    #[test]
    fn a_duplicate_program_is_an_error() {
        let err = SimNode::new(vec![Arc::new(Claims(vec!["cat"]))]).expect_err("cat is built in");
        assert_eq!(
            err.to_string(),
            "register emulators: program `cat` is emulated twice"
        );
        let err = SimNode::new(vec![
            Arc::new(Claims(vec!["zfs", "zpool"])),
            Arc::new(Claims(vec!["zfs"])),
        ])
        .expect_err("zfs twice");
        assert!(matches!(err, SimError::DuplicateProgram { program } if program == "zfs"));
    }

    /// An emulator answering `programs` inside guests only.
    #[derive(Debug)]
    struct InGuests(Vec<&'static str>);

    impl Emulator for InGuests {
        fn programs(&self) -> Vec<String> {
            Vec::new()
        }

        fn guest_programs(&self) -> Vec<String> {
            self.0.iter().map(|program| (*program).to_owned()).collect()
        }

        fn run(&self, _argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
            SimOutput::ok("")
        }
    }

    #[tokio::test]
    async fn issue_11_a_program_answered_in_guests_is_not_on_the_node_and_is_answered_once() {
        let node = SimNode::new(vec![Arc::new(InGuests(vec!["docker"]))]).expect("registers");
        let ran = run(&node, Cmd::read("docker", ["info"])).await;
        assert_eq!(ran.status, Some(127), "only inside guests");
        let err = SimNode::new(vec![
            Arc::new(InGuests(vec!["docker"])),
            Arc::new(InGuests(vec!["docker", "pip"])),
        ])
        .expect_err("docker twice in guests");
        assert!(matches!(err, SimError::DuplicateProgram { program } if program == "docker"));
        SimNode::new(vec![
            Arc::new(Claims(vec!["nvidia-smi"])),
            Arc::new(InGuests(vec!["nvidia-smi"])),
        ])
        .expect("one emulator on the node and one in guests");
    }

    #[tokio::test]
    async fn latency_profile_is_applied_and_saved() {
        // tokio's `test-util` feature (paused time) is not enabled, so this measures real time
        // with a 2 ms command; the 0.4 s `pct` cost is checked in the profile's table tests.
        let node = node();
        assert!(node.set_latency("slow").is_err());
        assert_eq!(node.state().latency, "zero");
        node.set_latency("proxmox-typical").expect("known profile");
        assert_eq!(node.state().latency, "proxmox-typical");
        assert!(node.lock().latency.for_program("cat", None) >= Duration::from_millis(2));
        let started = Instant::now();
        run(&node, Cmd::read("cat", ["/none"])).await;
        assert!(started.elapsed() >= Duration::from_millis(2));
    }
}
