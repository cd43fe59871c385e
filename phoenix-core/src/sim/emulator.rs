//! The `Emulator` trait provider crates implement for their tools, and what an emulator sees
//! (`SimSys`) and returns (`SimOutput`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::cache::{Kept, ToolCache};
use super::fault::{Fault, check_nested_faults};
use super::guest::GuestSys;
use super::path::{dir_prefix, normalize};
use super::state::SimFile;

/// Emulates one or more command-line tools against a simulated node's state.
///
/// Each provider crate supplies the emulator of the tools it drives, so the knowledge of a tool's
/// output format lives in one crate, both ways. Emulators are registered with `SimNode::new`; a
/// program claimed by two emulators is an error.
pub trait Emulator: Send + Sync + std::fmt::Debug {
    /// Programs this emulator answers, such as `["zfs", "zpool"]`.
    fn programs(&self) -> Vec<String>;

    /// Runs one command against the node's state. Must print exactly what the real tool prints.
    ///
    /// `argv` starts with the program, so one emulator can tell `zfs` from `zpool`. The node
    /// holds its lock while this runs: keep it quick and never block.
    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput;

    /// Programs this emulator answers inside a simulated guest (a container), through
    /// [`Emulator::run_in_guest`]; none by default. A program may be answered on the node
    /// ([`Emulator::programs`]), in guests, or both, and two emulators may not answer one
    /// program in guests.
    fn guest_programs(&self) -> Vec<String> {
        Vec::new()
    }

    /// Runs one command inside `guest`, a program of [`Emulator::guest_programs`] that the
    /// guest's `PATH` finds (so whatever installs it must put an executable there), or a script
    /// file of that name run as `sh FILE ARG...`. `argv[0]` is the program's name (for a script,
    /// its path as given, so the emulator can read it). Must print exactly what the real tool prints
    /// inside a container. `None` refuses a command line this emulator does not emulate (the
    /// guest provider reports it as not emulated); the returned `mutated` covers the guest's
    /// files and the node's namespaces alike.
    fn run_in_guest(
        &self,
        _argv: &[String],
        _stdin: Option<&str>,
        _guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        None
    }

    /// The content this emulator's world serves at `url` (a runfile, a key, an install script),
    /// for the downloads programs make inside guests (`curl -o`); `None` when it serves nothing
    /// there. The first emulator that serves a URL answers it.
    fn download(&self, _url: &str) -> Option<String> {
        None
    }

    /// How long `program` typically takes on a real Proxmox VE host, used by the
    /// `proxmox-typical` latency profile. Each provider states its own tools' costs (and the
    /// assumption behind them) here, so core names no provider tool. `None` takes the profile's
    /// default.
    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        None
    }

    /// How long this whole command line typically takes, for a command whose cost depends on
    /// its arguments or standard input (one command that does work for every container, say).
    /// The node asks this; the default is [`Emulator::typical_latency`] of the program.
    fn typical_latency_of(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
    ) -> Option<std::time::Duration> {
        self.typical_latency(argv.first().map_or("", String::as_str))
    }
}

/// What an emulated command returned, and whether it changed the node.
///
/// The node checks the claim: an emulator that changes files or tool state but returns
/// `mutated: false` makes the command fail with a host error, so that a read-only command can
/// be trusted to be read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimOutput {
    /// The exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether the command changed the node.
    pub mutated: bool,
}

impl SimOutput {
    /// Builds an output.
    pub fn new(
        status: i32,
        stdout: impl Into<String>,
        stderr: impl Into<String>,
        mutated: bool,
    ) -> SimOutput {
        SimOutput {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
            mutated,
        }
    }

    /// Status 0 with `stdout`, nothing changed.
    pub fn ok(stdout: impl Into<String>) -> SimOutput {
        SimOutput::new(0, stdout, "", false)
    }

    /// Status 0 with `stdout`, after changing the node.
    pub fn ok_mutated(stdout: impl Into<String>) -> SimOutput {
        SimOutput::new(0, stdout, "", true)
    }

    /// A failure with `status` and `stderr`, nothing changed.
    pub fn fail(status: i32, stderr: impl Into<String>) -> SimOutput {
        SimOutput::new(status, "", stderr, false)
    }

    /// Sets standard error, such as a warning printed by a command that succeeds.
    #[must_use]
    pub fn with_stderr(mut self, stderr: impl Into<String>) -> SimOutput {
        self.stderr = stderr.into();
        self
    }
}

/// An emulator's view of the node while it runs one command: the files and the per-tool state
/// namespaces.
///
/// Paths are normalised lexically; a relative path is taken from `/`.
#[derive(Debug)]
pub struct SimSys<'a> {
    files: &'a mut BTreeMap<String, SimFile>,
    tools: &'a mut BTreeMap<String, Value>,
    cache: &'a mut ToolCache,
    /// Namespaces as they were before this command first touched them as JSON.
    original_tools: BTreeMap<String, Option<Value>>,
    /// Cached namespaces as they were before this command first stored them.
    original_cached: BTreeMap<String, Original>,
    /// Namespaces whose stored value did not fit `load`'s type; `store` leaves them alone.
    poisoned: BTreeSet<String>,
    files_changed: bool,
    error: Option<String>,
    /// The node's program table, for a command that runs other programs (the scope probe's
    /// queries); `None` in unit tests of one emulator.
    programs: Option<&'a BTreeMap<String, Arc<dyn Emulator>>>,
    /// The node's table of programs answered inside guests ([`Emulator::guest_programs`]).
    guest_programs: Option<&'a BTreeMap<String, Arc<dyn Emulator>>>,
    /// The node's faults, which a command run through [`SimSys::run_program`] may fire too.
    faults: Option<&'a mut Vec<Fault>>,
}

/// A cached namespace before a command stored it.
#[derive(Debug)]
struct Original {
    /// The value; `None` when the namespace had no JSON.
    value: Option<Box<dyn Kept>>,
    /// Whether its JSON was out of date.
    stale: bool,
}

/// What a command did to the node, as `SimSys` observed it.
#[derive(Debug)]
pub(crate) struct SysReport {
    /// Whether any file or tool state differs from before the command.
    pub(crate) changed: bool,
    /// The first tool-state failure (a stored value that did not fit, or could not be stored).
    pub(crate) error: Option<String>,
}

impl<'a> SimSys<'a> {
    pub(crate) fn new(
        files: &'a mut BTreeMap<String, SimFile>,
        tools: &'a mut BTreeMap<String, Value>,
        cache: &'a mut ToolCache,
    ) -> SimSys<'a> {
        SimSys {
            files,
            tools,
            cache,
            original_tools: BTreeMap::new(),
            original_cached: BTreeMap::new(),
            poisoned: BTreeSet::new(),
            files_changed: false,
            error: None,
            programs: None,
            guest_programs: None,
            faults: None,
        }
    }

    /// Lets commands run through this view reach the node's other emulators
    /// ([`SimSys::run_program`]).
    pub(crate) fn with_programs(
        mut self,
        programs: &'a BTreeMap<String, Arc<dyn Emulator>>,
    ) -> SimSys<'a> {
        self.programs = Some(programs);
        self
    }

    /// Lets a guest provider's emulator find the emulators that answer inside guests
    /// ([`SimSys::guest_emulator`]).
    pub(crate) fn with_guest_programs(
        mut self,
        guest_programs: &'a BTreeMap<String, Arc<dyn Emulator>>,
    ) -> SimSys<'a> {
        self.guest_programs = Some(guest_programs);
        self
    }

    /// The emulator that answers `program` inside guests ([`Emulator::guest_programs`]), for the
    /// provider that simulates guests to call [`Emulator::run_in_guest`] with.
    pub fn guest_emulator(&self, program: &str) -> Option<Arc<dyn Emulator>> {
        self.guest_programs
            .and_then(|programs| programs.get(program))
            .cloned()
    }

    /// What the node's emulators serve at `url` ([`Emulator::download`]).
    pub fn download(&self, url: &str) -> Option<String> {
        self.programs
            .into_iter()
            .chain(self.guest_programs)
            .flat_map(|table| table.values())
            .find_map(|emulator| emulator.download(url))
    }

    /// Lets commands run through [`SimSys::run_program`] fire the node's faults.
    pub(crate) fn with_faults(mut self, faults: &'a mut Vec<Fault>) -> SimSys<'a> {
        self.faults = Some(faults);
        self
    }

    /// Runs `argv` through the emulator that claims its program, as a shell script on the node
    /// would (without standard input); a program no emulator claims is not found (127). A fault
    /// of the node that names this program and matches `argv` fires here as it would for a
    /// command of its own (a timeout is exit status 124, as `timeout` reports it).
    pub fn run_program(&mut self, argv: &[String]) -> SimOutput {
        self.run_program_with_stdin(argv, None)
    }

    /// [`SimSys::run_program`] with `stdin` as the program's standard input (a body piped into
    /// a command, such as `curl --data-binary @-` run inside a container).
    pub fn run_program_with_stdin(&mut self, argv: &[String], stdin: Option<&str>) -> SimOutput {
        let program = argv.first().map_or("", String::as_str);
        let fault = self
            .faults
            .as_deref_mut()
            .and_then(|faults| check_nested_faults(faults, argv))
            .cloned();
        let status_of = |fault: &Fault| if fault.timeout { 124 } else { fault.status };
        if let Some(fault) = fault.as_ref().filter(|fault| !fault.after_effect) {
            return SimOutput::fail(status_of(fault), fault.stderr.clone());
        }
        let emulator = self
            .programs
            .and_then(|programs| programs.get(program))
            .cloned();
        let output = match emulator {
            Some(emulator) => emulator.run(argv, stdin, self),
            None => SimOutput::fail(127, format!("sh: 1: {program}: not found\n")),
        };
        match fault {
            Some(fault) => SimOutput::new(
                status_of(&fault),
                output.stdout,
                fault.stderr.clone(),
                output.mutated,
            ),
            None => output,
        }
    }

    /// The file at `path`, if there is one.
    pub fn read(&self, path: &str) -> Option<&SimFile> {
        self.files.get(&normalize(path))
    }

    /// Creates or replaces the file at `path`.
    pub fn write(&mut self, path: &str, file: SimFile) {
        let previous = self.files.insert(normalize(path), file.clone());
        if previous.as_ref() != Some(&file) {
            self.files_changed = true;
        }
    }

    /// Removes the file at `path` and returns it; `None` when there was none.
    pub fn remove(&mut self, path: &str) -> Option<SimFile> {
        let removed = self.files.remove(&normalize(path));
        self.files_changed |= removed.is_some();
        removed
    }

    /// The paths of all files under the directory `dir`, at any depth, sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let prefix = dir_prefix(dir);
        self.files
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Whether `path` is a directory, that is whether any file lies under it. `/` always is.
    pub fn is_dir(&self, path: &str) -> bool {
        let prefix = dir_prefix(path);
        prefix == "/"
            || self
                .files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(path, _)| path.starts_with(&prefix))
    }

    /// The tool-state namespace `ns` (such as `zfs`), `Value::Null` until something is stored.
    pub fn tool_state(&mut self, ns: &str) -> &mut Value {
        self.uncache(ns);
        if !self.original_tools.contains_key(ns) {
            self.original_tools
                .insert(ns.to_owned(), self.tools.get(ns).cloned());
        }
        self.tools.entry(ns.to_owned()).or_insert(Value::Null)
    }

    /// The namespace `ns` as a `T`; `T::default()` while it is empty.
    ///
    /// When the stored value does not fit `T` (a hand-edited state file, or an emulator whose
    /// types changed), this returns `T::default()`, later [`SimSys::store`]s to `ns` are ignored
    /// so the state is not overwritten, and the command fails with a host error naming `ns`.
    pub fn load<T: DeserializeOwned + Default>(&mut self, ns: &str) -> T {
        self.cache.flush(ns, self.tools);
        let Some(value) = self.tools.get(ns).filter(|value| !value.is_null()) else {
            return T::default();
        };
        match T::deserialize(value) {
            Ok(loaded) => loaded,
            Err(err) => {
                self.poisoned.insert(ns.to_owned());
                self.fail(format!(
                    "tool state `{ns}` does not fit its emulator's type: {err}"
                ));
                T::default()
            }
        }
    }

    /// Replaces the namespace `ns` with `value`.
    pub fn store<T: Serialize>(&mut self, ns: &str, value: &T) {
        if self.poisoned.contains(ns) {
            return;
        }
        match serde_json::to_value(value) {
            Ok(value) => *self.tool_state(ns) = value,
            Err(err) => self.fail(format!("tool state `{ns}` could not be stored: {err}")),
        }
    }

    /// The namespace `ns` as a `T`, like [`SimSys::load`], but kept deserialised by the node
    /// between commands: only the first command that loads it parses its JSON, later ones get a
    /// clone of the kept value. Pair it with [`SimSys::store_cached`].
    ///
    /// Meant for large states: make `T` cheap to clone and compare (share its big parts behind
    /// `Arc`s that compare by pointer first), since a command clones it and the node compares it
    /// with what the command stores. `T` must serialise without error and never to `null` (a
    /// struct or a map), and two values must be equal exactly when their JSON is, as derived
    /// `PartialEq` and `Serialize` impls are. A value that does not fit `T` is handled as by
    /// `load`.
    pub fn load_cached<T>(&mut self, ns: &str) -> T
    where
        T: Serialize
            + DeserializeOwned
            + Default
            + Clone
            + PartialEq
            + Debug
            + Send
            + Sync
            + 'static,
    {
        if let Some(value) = self.cache.get::<T>(ns) {
            return value.clone();
        }
        self.uncache(ns);
        let value: T = self.load(ns);
        if !self.poisoned.contains(ns) {
            self.cache.insert(ns, Box::new(value.clone()), false);
        }
        value
    }

    /// Replaces the namespace `ns` with `value`, kept deserialised (see
    /// [`SimSys::load_cached`]). Its JSON is written only when the node's state is read or saved,
    /// or an emulator reads `ns` as JSON; it is what [`SimSys::store`] would have written. A
    /// command changed the namespace when what it stored last differs from what it loaded.
    pub fn store_cached<T>(&mut self, ns: &str, value: T)
    where
        T: Serialize
            + DeserializeOwned
            + Default
            + Clone
            + PartialEq
            + Debug
            + Send
            + Sync
            + 'static,
    {
        if self.cache.get::<T>(ns).is_none() {
            let _: T = self.load_cached(ns);
        }
        if self.poisoned.contains(ns) {
            return;
        }
        let absent = !self.cache.is_stale(ns) && self.tools.get(ns).is_none_or(Value::is_null);
        let previous = self.cache.insert(ns, Box::new(value), true);
        if self.original_tools.contains_key(ns) {
            // Read as JSON earlier in this command: `finish` compares the JSON.
            return;
        }
        if let Some(previous) = previous {
            self.original_cached
                .entry(ns.to_owned())
                .or_insert_with(|| Original {
                    value: (!absent).then_some(previous.value),
                    stale: previous.stale,
                });
        }
    }

    /// Stops caching `ns` (bringing its JSON up to date), for JSON access to it.
    fn uncache(&mut self, ns: &str) {
        if let Some(original) = self.original_cached.remove(ns) {
            self.original_tools
                .entry(ns.to_owned())
                .or_insert_with(|| original.value.map(|value| value.to_json()));
        }
        self.cache.forget(ns, self.tools);
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }

    /// Ends the command: drops namespaces left empty and reports what changed.
    pub(crate) fn finish(self) -> SysReport {
        let mut changed = self.files_changed;
        for (ns, original) in self.original_cached {
            let same = self.cache.entry(&ns).is_some_and(|entry| {
                original
                    .value
                    .as_deref()
                    .is_some_and(|before| entry.value.same_as(before))
            });
            if same {
                // Stored back as it was: its JSON is as up to date as before.
                self.cache.set_stale(&ns, original.stale);
            } else {
                changed = true;
            }
        }
        for (ns, original) in self.original_tools {
            self.cache.flush(&ns, self.tools);
            let original = original.filter(|value| !value.is_null());
            let current = self.tools.get(&ns).filter(|value| !value.is_null());
            changed |= current != original.as_ref();
            if current.is_none() {
                self.tools.remove(&ns);
            }
        }
        SysReport {
            changed,
            error: self.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::cache::ToolCache;

    #[test]
    fn files_list_and_directories() {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::new();
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        sys.write("/etc/pve/lxc/100.conf", SimFile::text("a"));
        sys.write("etc/pve/lxc/101.conf", SimFile::text("b"));
        sys.write("/etc/pvefoo", SimFile::text("c"));
        assert_eq!(
            sys.list("/etc/pve/"),
            ["/etc/pve/lxc/100.conf", "/etc/pve/lxc/101.conf"]
        );
        assert!(sys.is_dir("/etc/pve"));
        assert!(!sys.is_dir("/etc/pve/lxc/100.conf"));
        assert!(sys.is_dir("/"));
        assert_eq!(
            sys.read("/etc//pve/lxc/101.conf")
                .map(|file| file.content.as_str()),
            Some("b")
        );
        assert!(sys.finish().changed);
    }

    #[test]
    fn rewriting_the_same_file_or_reading_state_is_no_change() {
        let mut files = BTreeMap::from([("/x".to_owned(), SimFile::text("a"))]);
        let mut tools = BTreeMap::from([("t".to_owned(), serde_json::json!([1]))]);
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        sys.write("/x", SimFile::text("a"));
        let list: Vec<u32> = sys.load("t");
        sys.store("t", &list);
        let _ = sys.tool_state("fresh");
        let report = sys.finish();
        assert!(!report.changed);
        assert!(report.error.is_none());
        assert!(
            !tools.contains_key("fresh"),
            "an untouched namespace is not kept as null"
        );
    }

    #[test]
    fn a_value_that_does_not_fit_is_reported_and_not_overwritten() {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::from([("t".to_owned(), serde_json::json!("not a list"))]);
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let list: Vec<u32> = sys.load("t");
        assert!(list.is_empty());
        sys.store("t", &vec![1_u32]);
        let report = sys.finish();
        assert!(!report.changed);
        assert!(
            report
                .error
                .is_some_and(|error| error.starts_with("tool state `t` does not fit"))
        );
        assert_eq!(tools["t"], serde_json::json!("not a list"));
    }

    #[test]
    fn a_cached_namespace_is_parsed_once_and_printed_when_read() {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::from([("t".to_owned(), serde_json::json!([1, 2]))]);
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let mut list: Vec<u32> = sys.load_cached("t");
        list.push(3);
        sys.store_cached("t", list);
        assert!(sys.finish().changed);
        assert_eq!(tools["t"], serde_json::json!([1, 2]), "printed lazily");
        assert_eq!(cache.get::<Vec<u32>>("t"), Some(&vec![1, 2, 3]));

        tools.insert("t".to_owned(), serde_json::json!("ignored while cached"));
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let list: Vec<u32> = sys.load_cached("t");
        assert_eq!(list, [1, 2, 3]);
        sys.store_cached("t", vec![0]);
        sys.store_cached("t", list);
        let report = sys.finish();
        assert!(!report.changed, "stored back as loaded");
        cache.flush_all(&mut tools);
        assert_eq!(tools["t"], serde_json::json!([1, 2, 3]));
    }

    #[test]
    fn a_cached_namespace_read_as_json_in_the_same_command_is_up_to_date() {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::new();
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        sys.store_cached("t", Vec::<u32>::new());
        let json: Vec<u32> = sys.load("t");
        assert!(json.is_empty());
        *sys.tool_state("t") = serde_json::json!([7]);
        let list: Vec<u32> = sys.load_cached("t");
        assert_eq!(list, [7]);
        assert!(sys.finish().changed, "a fresh namespace appeared");
        cache.flush_all(&mut tools);
        assert_eq!(tools["t"], serde_json::json!([7]));

        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let _: Vec<u32> = sys.load_cached("t");
        let _ = sys.tool_state("t");
        assert!(!sys.finish().changed);
    }

    #[test]
    fn a_cached_value_that_does_not_fit_is_reported_and_not_overwritten() {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::from([("t".to_owned(), serde_json::json!({"a": 1}))]);
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let list: Vec<u32> = sys.load_cached("t");
        assert!(list.is_empty());
        sys.store_cached("t", vec![1_u32]);
        let report = sys.finish();
        assert!(!report.changed);
        assert!(report.error.is_some());
        assert!(cache.get::<Vec<u32>>("t").is_none());
        cache.flush_all(&mut tools);
        assert_eq!(tools["t"], serde_json::json!({"a": 1}));
    }
}
