//! Shared helpers: the CLI run in-process, scratch directories with configs and sim state files,
//! the converge-then-check-idempotence sequence, and small test resources with the `kv` emulator
//! they drive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use phoenix_core::file::File;
use phoenix_core::resource::run_steps;
use phoenix_core::sim::{AuditEntry, Emulator, SimNode, SimOutput, SimState, SimSys};
use phoenix_core::{
    BoxError, Capability, Change, Cmd, Ctx, Delta, Desired, Disruption, DynResource, Engine, Fact,
    FieldChange, FileWrite, Host, Kind, Resource, ResourceId,
};
use serde_json::Value;

/// What one in-process `phoenix` run returned.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `phoenix ARGS...` in-process on captured, non-interactive streams with an empty stdin.
pub(crate) fn phoenix(args: &[&str]) -> Ran {
    let (mut io, captured) = phoenix_cli::Io::captured("");
    run_with(args, &mut io, &captured)
}

/// Runs `phoenix ARGS...` like [`phoenix`], with its tracing subscriber at trace level (`-vvv`)
/// writing log lines into the captured stderr, as the binary does on a non-terminal stderr.
pub(crate) fn phoenix_logged(args: &[&str]) -> Ran {
    let (mut io, captured) = phoenix_cli::Io::captured("");
    let subscriber = phoenix_cli::logging::subscriber(3, io.color_stderr, captured.log_writer());
    tracing::subscriber::with_default(subscriber, || run_with(args, &mut io, &captured))
}

/// Runs `phoenix ARGS...` on streams the caller prepared.
pub(crate) fn run_with(
    args: &[&str],
    io: &mut phoenix_cli::Io,
    captured: &phoenix_cli::Captured,
) -> Ran {
    let code = phoenix_cli::run(std::iter::once("phoenix").chain(args.iter().copied()), io);
    assert_nothing_destroyed_without_the_flag(args);
    Ran {
        code,
        stdout: captured.stdout(),
        stderr: captured.stderr(),
    }
}

/// Commands that destroy data: none may run unless the operator passed `--allow-destroy`.
fn is_destructive(argv: &[String]) -> bool {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["wipefs", ..] if words.iter().any(|w| *w == "-a" || *w == "--all")
    ) || matches!(
        words.as_slice(),
        ["zpool", "destroy", ..] | ["zfs", "destroy", ..] | ["pct", "destroy", ..]
    )
}

/// Every in-process run on a persisted simulated node is checked: without `--allow-destroy`, its
/// run of the audit log holds no destructive command. This makes the guarantee hold across the
/// whole test suite, not only in the tests written for it.
fn assert_nothing_destroyed_without_the_flag(args: &[&str]) {
    if args.contains(&"--allow-destroy") {
        return;
    }
    let Some(file) = args
        .iter()
        .skip_while(|a| **a != "--target")
        .nth(1)
        .and_then(|t| t.strip_prefix("sim:"))
    else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let state: SimState = serde_json::from_str(&text).expect("the sim state file is a SimState");
    let destroyed: Vec<String> = state
        .audit
        .iter()
        .filter(|e| e.run == state.run && is_destructive(&e.argv))
        .map(|e| e.argv.join(" "))
        .collect();
    assert!(
        destroyed.is_empty(),
        "phoenix {} ran destructive commands without --allow-destroy: {destroyed:?}",
        args.join(" ")
    );
}

/// The repository's `examples/` directory.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The shipped example config, `examples/lab`.
pub(crate) fn lab() -> PathBuf {
    examples().join("lab")
}

/// A config of three managed files only, for tests of the CLI and engine that do not need ZFS.
pub(crate) fn files_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/files")
}

/// The verbatim upstream config files, named `<commit>__etc__<name>`.
pub(crate) fn upstream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/upstream")
}

/// Copies one commit's upstream files into `dir` (created if need be) under their real names.
///
/// One edit, the operator's fix of a real conflict: 0017fa8's container 950 gives vLLM two
/// values for two flags (`max_model_len` 4096 in `vllm_max_model_len` and `vllm_args`, 8192 in
/// `vllm_parameters`; `gpu_memory_utilization` 0.9 against 0.75), which Phoenix refuses
/// (issue 12). `vllm_parameters` takes the values of `vllm_args`, the words upstream's script
/// really ran; lines stay where they are, so locations in messages are the fixture's.
/// `issue_12_upstream_950_gives_vllm_two_values_for_two_flags` checks the file as it is.
pub(crate) fn copy_upstream(commit: &str, names: &[&str], dir: &Path) {
    std::fs::create_dir_all(dir).expect("config dir");
    for name in names {
        let from = upstream().join(format!("{commit}__etc__{name}"));
        let mut text = std::fs::read_to_string(&from).expect("read upstream");
        if commit == "0017fa8" && *name == "phoenix_lxc_configs.json" {
            text = fix_upstream_950(&text);
        }
        std::fs::write(dir.join(name), text).expect("copy upstream");
    }
}

/// 950's `vllm_parameters` with the values of its `vllm_args` (see [`copy_upstream`]).
pub(crate) fn fix_upstream_950(text: &str) -> String {
    let conflict = "\"max_model_len\": 8192,\n                \"gpu_memory_utilization\": 0.75,";
    assert_eq!(
        text.matches(conflict).count(),
        1,
        "950's vllm_parameters as in the fixture"
    );
    text.replace(
        conflict,
        "\"max_model_len\": 4096,\n                \"gpu_memory_utilization\": 0.90,",
    )
}

/// A path as a `&str` for argv.
pub(crate) fn arg(path: &Path) -> &str {
    path.to_str().expect("temp and repository paths are UTF-8")
}

/// A scratch directory with a config directory and a sim state file in it.
#[derive(Debug)]
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// A scratch in memory (`/dev/shm`) where there is one, for suites that write the state file
    /// thousands of times: there an fsync costs nothing.
    pub(crate) fn in_memory() -> Scratch {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return Scratch::new();
        }
        Scratch {
            dir: tempfile::tempdir_in(shm).expect("a temp dir in /dev/shm"),
        }
    }

    /// The scratch directory itself.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The sim state file (it may not exist yet).
    pub(crate) fn state_file(&self) -> PathBuf {
        self.path().join("state.json")
    }

    /// `sim:<state file>`, for `--target`.
    pub(crate) fn target(&self) -> String {
        format!("sim:{}", self.state_file().display())
    }

    /// The config directory (created on first write).
    pub(crate) fn config_dir(&self) -> PathBuf {
        self.path().join("config")
    }

    /// The hypervisor config file in the config directory.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.config_dir().join("phoenix_hypervisor_config.json")
    }

    /// Writes `text` as the hypervisor config file and returns the config directory.
    pub(crate) fn write_config(&self, text: &str) -> PathBuf {
        std::fs::create_dir_all(self.config_dir()).expect("create the config dir");
        std::fs::write(self.config_file(), text).expect("write the config");
        self.config_dir()
    }

    /// Copies the shipped example's `names` into the config directory and returns it.
    pub(crate) fn copy_lab_config(&self, names: &[&str]) -> PathBuf {
        std::fs::create_dir_all(self.config_dir()).expect("config dir");
        for name in names {
            std::fs::copy(lab().join(name), self.config_dir().join(name)).expect("copy");
        }
        self.config_dir()
    }

    /// Copies upstream 0017fa8's `names` into the directory `upstream` and returns it.
    pub(crate) fn copy_upstream_config(&self, names: &[&str]) -> PathBuf {
        let dir = self.path().join("upstream");
        copy_upstream("0017fa8", names, &dir);
        dir
    }

    /// Seeds the sim state file with the shipped example's node (disks, storage.cfg, ZFS module).
    pub(crate) fn seed_lab_state(&self) {
        std::fs::copy(lab().join("sim-state.json"), self.state_file())
            .expect("copy the example state");
    }

    /// Writes `state` as the sim state file.
    pub(crate) fn write_state(&self, state: &SimState) {
        std::fs::write(self.state_file(), state.to_json()).expect("write the sim state");
    }

    /// The sim state file's bytes.
    pub(crate) fn state_bytes(&self) -> Vec<u8> {
        std::fs::read(self.state_file()).expect("the sim state file exists")
    }

    /// The sim state file, parsed.
    pub(crate) fn state(&self) -> SimState {
        serde_json::from_slice(&self.state_bytes()).expect("the sim state file is a SimState")
    }

    /// Edits the sim state file as JSON (the tools' namespaces are JSON to `SimState` too).
    /// Defines on the node the storage the upstream 0017fa8 containers use but upstream's own
    /// config never creates (`quickOS-shared-prod-data-volumes`, for 952's volume).
    pub(crate) fn add_upstream_storage(&self) {
        self.edit_state(|state| {
            let cfg = state["files"]["/etc/pve/storage.cfg"]["content"]
                .as_str()
                .expect("storage.cfg")
                .to_owned();
            state["files"]["/etc/pve/storage.cfg"]["content"] = Value::String(format!(
                "{cfg}\nzfspool: quickOS-shared-prod-data-volumes\n\tpool quickOS/shared-prod-data\n\tcontent images,rootdir\n"
            ));
        });
    }

    pub(crate) fn edit_state(&self, edit: impl FnOnce(&mut Value)) {
        let mut state: Value = serde_json::from_slice(&self.state_bytes()).expect("state");
        edit(&mut state);
        std::fs::write(
            self.state_file(),
            serde_json::to_string_pretty(&state).expect("JSON"),
        )
        .expect("write state");
    }
}

/// `phoenix <command> --config <config> --target <scratch> EXTRA...`.
pub(crate) fn on(
    scratch: &Scratch,
    command: &str,
    config: &(impl AsRef<Path> + ?Sized),
    extra: &[&str],
) -> Ran {
    let target = scratch.target();
    let mut args = vec![
        command,
        "--config",
        arg(config.as_ref()),
        "--target",
        &target,
    ];
    args.extend_from_slice(extra);
    phoenix(&args)
}

/// `plan --json` of `config` on the scratch node, which may have changes pending.
pub(crate) fn plan_json(config: &str, scratch: &Scratch) -> Value {
    let ran = on(scratch, "plan", config, &["--json"]);
    assert!(ran.code == 0 || ran.code == 2, "{}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("the plan is JSON")
}

/// `apply --yes` of `config` on the scratch node, which must succeed.
pub(crate) fn apply(config: &str, scratch: &Scratch) {
    let ran = on(scratch, "apply", config, &["--yes"]);
    assert_eq!(ran.code, 0, "apply: {}\n{}", ran.stdout, ran.stderr);
}

/// Applies, then checks the re-plan is empty and a second apply mutates nothing; returns the
/// JSON of the no-op plan.
pub(crate) fn converge(config: &str, scratch: &Scratch) -> Value {
    converge_with(config, scratch, |_| {})
}

/// [`converge`], with `check_second_apply` run on the scratch right after the second apply.
pub(crate) fn converge_with(
    config: &str,
    scratch: &Scratch,
    check_second_apply: impl FnOnce(&Scratch),
) -> Value {
    apply(config, scratch);
    let ran = on(scratch, "plan", config, &["--detailed-exitcode"]);
    assert_eq!(
        ran.code, 0,
        "the re-plan is empty: {}\n{}",
        ran.stdout, ran.stderr
    );
    apply(config, scratch);
    let state = scratch.state();
    assert_eq!(
        mutations_in(&state.audit, state.run),
        Vec::<String>::new(),
        "a second apply mutates nothing"
    );
    check_second_apply(scratch);
    plan_json(config, scratch)
}

/// Copies the shipped lab's two config files into the scratch config, applies `edit` to its
/// `lxc_configs`, and returns the config directory as an argument.
pub(crate) fn lab_config_with(scratch: &Scratch, edit: impl Fn(&mut Value)) -> String {
    let config =
        scratch.copy_lab_config(&["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"]);
    edit_lab_lxc(scratch, edit);
    arg(&config).to_owned()
}

/// Edits the `lxc_configs` of the scratch config's LXC file.
pub(crate) fn edit_lab_lxc(scratch: &Scratch, edit: impl Fn(&mut Value)) {
    let file = scratch.config_dir().join("phoenix_lxc_configs.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    edit(&mut json["lxc_configs"]);
    std::fs::write(&file, serde_json::to_string_pretty(&json).expect("JSON")).expect("write");
}

/// The commands the scratch node's last run ran, each argv joined by spaces.
pub(crate) fn last_run_commands(scratch: &Scratch) -> Vec<String> {
    let state = scratch.state();
    state
        .audit
        .iter()
        .filter(|e| e.run == state.run && e.op.to_string() == "run")
        .map(|e| e.argv.join(" "))
        .collect()
}

/// Runs `argv` on the scratch node with every provider's emulators (as `phoenix` does), saving
/// what it changed: status, stdout and stderr.
pub(crate) fn run_on_scratch(scratch: &Scratch, cmd: &Cmd) -> (Option<i32>, String, String) {
    let node = SimNode::from_state(scratch.state(), phoenix_cli::target::emulators())
        .expect("the scratch node opens");
    let out = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(Host::run(&node, cmd))
        .expect("the command runs");
    scratch.write_state(&node.state());
    (out.status, out.stdout, out.stderr)
}

/// The audit entries of `run` that changed the node, rendered one per line.
pub(crate) fn mutations_in(audit: &[AuditEntry], run: u64) -> Vec<String> {
    audit
        .iter()
        .filter(|entry| entry.run == run && entry.is_mutation())
        .map(ToString::to_string)
        .collect()
}

/// The argv of every audit entry of `run`, each joined by spaces, with the operation first.
pub(crate) fn operations_in(audit: &[AuditEntry], run: u64) -> Vec<String> {
    audit
        .iter()
        .filter(|entry| entry.run == run)
        .map(|entry| format!("{} {}", entry.op, entry.argv.join(" ")))
        .collect()
}

/// A `Desired` made of resources built in Rust, with no diagnostics.
pub(crate) fn desired(resources: Vec<Box<dyn DynResource>>) -> Desired {
    let mut desired = Desired::default();
    desired.resources = resources;
    desired
}

/// An engine for resources built in Rust; panics on a cycle.
pub(crate) fn engine(resources: Vec<Box<dyn DynResource>>) -> Engine {
    Engine::new(desired(resources)).expect("the test resources have no cycle")
}

/// A simulated node answering `kv` with `kv`, whose `kv` namespace starts as `preset`.
pub(crate) fn node(kv: &Kv, preset: &[(&str, &str)]) -> Arc<SimNode> {
    let mut state = SimState::new();
    if !preset.is_empty() {
        let values: BTreeMap<&str, &str> = preset.iter().copied().collect();
        state.tools.insert(
            "kv".to_owned(),
            serde_json::to_value(values).expect("a string map is JSON"),
        );
    }
    Arc::new(SimNode::from_state(state, vec![Arc::new(kv.clone())]).expect("one emulator"))
}

/// The node as the engine takes it.
pub(crate) fn host(node: &Arc<SimNode>) -> Arc<dyn Host> {
    Arc::clone(node) as Arc<dyn Host>
}

/// The node's `kv` namespace now.
pub(crate) fn kv_values(node: &SimNode) -> BTreeMap<String, String> {
    node.state()
        .tools
        .get("kv")
        .map(|value| serde_json::from_value(value.clone()).expect("kv state is a string map"))
        .unwrap_or_default()
}

/// How many commands ran, and at most how many at once, per lock domain and in total.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    running: BTreeMap<String, usize>,
    max: BTreeMap<String, usize>,
    running_total: usize,
    max_total: usize,
}

impl Tracker {
    /// The most applies that were ever running at once, in any lock domains.
    pub(crate) fn max_total(&self) -> usize {
        self.max_total
    }

    /// The most applies that were ever running at once per lock domain.
    pub(crate) fn max_by_domain(&self) -> &BTreeMap<String, usize> {
        &self.max
    }
}

/// The `kv` tool: a key-value store in the node's `kv` namespace.
///
/// `kv list` prints `key=value` lines, `kv get KEY` prints the value (status 1 when missing),
/// `kv set KEY VALUE` stores it (and, for a frozen key, says it did but changes nothing).
/// `kv begin DOMAIN` and `kv end DOMAIN` bracket an apply, so the emulator can count how many
/// applies run at once: the node sleeps each command's latency before running it, so the span
/// between a `begin` and its `end` is at least one latency long.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kv {
    latency: Option<Duration>,
    frozen: BTreeSet<String>,
    tracker: Arc<Mutex<Tracker>>,
}

impl Kv {
    pub(crate) fn new() -> Kv {
        Kv::default()
    }

    /// Each `kv` command takes `latency` under the `proxmox-typical` profile.
    pub(crate) fn latency(mut self, latency: Duration) -> Kv {
        self.latency = Some(latency);
        self
    }

    /// `kv set KEY ...` succeeds but stores nothing.
    pub(crate) fn frozen(mut self, key: &str) -> Kv {
        self.frozen.insert(key.to_owned());
        self
    }

    /// What `begin` and `end` recorded.
    pub(crate) fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Emulator for Kv {
    fn programs(&self) -> Vec<String> {
        vec!["kv".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let mut values: BTreeMap<String, String> = sys.load("kv");
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["kv", "list"] => SimOutput::ok(
                values
                    .iter()
                    .map(|(key, value)| format!("{key}={value}\n"))
                    .collect::<String>(),
            ),
            ["kv", "get", key] => match values.get(*key) {
                Some(value) => SimOutput::ok(format!("{value}\n")),
                None => SimOutput::fail(1, format!("kv: no such key: {key}\n")),
            },
            ["kv", "set", key, _] if self.frozen.contains(*key) => SimOutput::ok(""),
            ["kv", "set", key, value] => {
                values.insert((*key).to_owned(), (*value).to_owned());
                sys.store("kv", &values);
                SimOutput::ok_mutated("")
            }
            ["kv", "begin", domain] => {
                let mut tracker = self.tracker();
                let running = tracker.running.entry((*domain).to_owned()).or_default();
                *running += 1;
                let running = *running;
                let max = tracker.max.entry((*domain).to_owned()).or_default();
                *max = (*max).max(running);
                tracker.running_total += 1;
                tracker.max_total = tracker.max_total.max(tracker.running_total);
                SimOutput::ok("")
            }
            ["kv", "end", domain] => {
                let mut tracker = self.tracker();
                if let Some(running) = tracker.running.get_mut(*domain) {
                    *running = running.saturating_sub(1);
                }
                tracker.running_total = tracker.running_total.saturating_sub(1);
                SimOutput::ok("")
            }
            _ => SimOutput::fail(2, "usage: kv list|get KEY|set KEY VALUE|begin D|end D\n"),
        }
    }

    fn typical_latency(&self, _program: &str) -> Option<Duration> {
        self.latency
    }
}

/// Every key and value, from one `kv list`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KvAll;

#[async_trait]
impl Fact for KvAll {
    type Value = BTreeMap<String, String>;

    fn key(&self) -> String {
        "kv.all".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let output = phoenix_core::host::run_checked(host, &Cmd::read("kv", ["list"])).await?;
        Ok(output
            .stdout
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect())
    }
}

/// The kind of [`Item`].
pub(crate) const ITEM: &str = "test.item";

/// The id of the item called `name`.
pub(crate) fn item_id(name: &str) -> ResourceId {
    ResourceId::new(Kind::from_static(ITEM), name)
}

/// A key of the `kv` tool that should hold a value: the engine's test resource.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    name: String,
    value: String,
    depends_on: Vec<ResourceId>,
    lock: Option<String>,
    tracked: bool,
    read_own: bool,
    destroys: bool,
    provides: Vec<Capability>,
}

impl Item {
    pub(crate) fn new(name: &str, value: &str) -> Item {
        Item {
            name: name.to_owned(),
            value: value.to_owned(),
            depends_on: Vec::new(),
            lock: None,
            tracked: false,
            read_own: false,
            destroys: false,
            provides: Vec::new(),
        }
    }

    /// Must converge after the item called `name`.
    pub(crate) fn after(mut self, name: &str) -> Item {
        self.depends_on.push(item_id(name));
        self
    }

    /// Must converge after `id`.
    pub(crate) fn after_id(mut self, id: ResourceId) -> Item {
        self.depends_on.push(id);
        self
    }

    /// Uses `domain` as its only lock domain instead of its id.
    pub(crate) fn lock(mut self, domain: &str) -> Item {
        self.lock = Some(domain.to_owned());
        self
    }

    /// Brackets its apply with `kv begin`/`kv end` so the emulator counts concurrent applies.
    pub(crate) fn tracked(mut self) -> Item {
        self.tracked = true;
        self
    }

    /// Inspects with its own `kv get` instead of the shared `kv list` fact.
    pub(crate) fn read_own(mut self) -> Item {
        self.read_own = true;
        self
    }

    /// Reports that changing its value destroys data.
    pub(crate) fn destroys_data(mut self) -> Item {
        self.destroys = true;
        self
    }

    /// Provides `capability`.
    pub(crate) fn provides(mut self, capability: Capability) -> Item {
        self.provides.push(capability);
        self
    }

    /// Boxed for the engine.
    pub(crate) fn boxed(self) -> Box<dyn DynResource> {
        Box::new(self)
    }

    fn domain(&self) -> String {
        self.lock
            .clone()
            .unwrap_or_else(|| Resource::id(self).to_string())
    }
}

#[async_trait]
impl Resource for Item {
    type State = String;

    fn id(&self) -> ResourceId {
        item_id(&self.name)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        self.provides.clone()
    }

    fn locks(&self) -> Vec<String> {
        vec![self.domain()]
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<String>, BoxError> {
        if self.read_own {
            let output = cx.host().run(&Cmd::read("kv", ["get", &self.name])).await?;
            return Ok(output
                .success()
                .then(|| output.stdout.trim_end().to_owned()));
        }
        Ok(cx.fact(&KvAll).await?.get(&self.name).cloned())
    }

    fn diff(&self, observed: Option<&String>) -> Delta {
        if observed == Some(&self.value) {
            return Delta::none();
        }
        let mut delta = Delta::none().field(FieldChange::new(
            "value",
            observed.map(|value| value.clone().into()),
            Some(self.value.clone().into()),
        ));
        if self.tracked {
            delta = delta.run(Cmd::write("kv", ["begin", &self.domain()]));
        }
        delta = delta.run(Cmd::write("kv", ["set", &self.name, &self.value]));
        if self.tracked {
            delta = delta.run(Cmd::write("kv", ["end", &self.domain()]));
        }
        if self.destroys {
            delta = delta.disrupts(Disruption::DestroysData {
                what: format!("the old value of {}", self.name),
            });
        }
        delta
    }
}

/// How a [`Misbehaving`] resource breaks the provider contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misbehaviour {
    PanicInInspect,
    PanicInDiff,
    PanicInApply,
    RunWriteInInspect,
    WriteFileInInspect,
}

/// A resource whose provider is buggy in one way; otherwise a missing `kv` key to create.
#[derive(Debug, Clone)]
pub(crate) struct Misbehaving {
    name: String,
    how: Misbehaviour,
}

impl Misbehaving {
    pub(crate) fn new(name: &str, how: Misbehaviour) -> Misbehaving {
        Misbehaving {
            name: name.to_owned(),
            how,
        }
    }

    pub(crate) fn boxed(self) -> Box<dyn DynResource> {
        Box::new(self)
    }
}

/// The id of the misbehaving resource called `name`.
pub(crate) fn misbehaving_id(name: &str) -> ResourceId {
    ResourceId::new(Kind::from_static("test.misbehaving"), name)
}

#[async_trait]
impl Resource for Misbehaving {
    type State = String;

    fn id(&self) -> ResourceId {
        misbehaving_id(&self.name)
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<String>, BoxError> {
        match self.how {
            Misbehaviour::PanicInInspect => panic!("inspect exploded"),
            Misbehaviour::RunWriteInInspect => {
                cx.run(&Cmd::write("kv", ["set", &self.name, "sneaky"]))
                    .await?;
            }
            Misbehaviour::WriteFileInInspect => {
                cx.host()
                    .write_file(Path::new("/etc/sneaky"), &FileWrite::new("x\n", 0o644))
                    .await?;
            }
            Misbehaviour::PanicInApply | Misbehaviour::PanicInDiff => {}
        }
        Ok(None)
    }

    fn diff(&self, _observed: Option<&String>) -> Delta {
        if self.how == Misbehaviour::PanicInDiff {
            panic!("diff exploded");
        }
        Delta::none()
            .field(FieldChange::new("value", None, Some("1".into())))
            .run(Cmd::write("kv", ["set", &self.name, "1"]))
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        if self.how == Misbehaviour::PanicInApply {
            panic!("apply exploded");
        }
        run_steps(&change.steps, cx).await
    }
}

/// A managed file, boxed.
pub(crate) fn file(path: &str, content: &str) -> Box<dyn DynResource> {
    Box::new(File::new(path, content))
}
