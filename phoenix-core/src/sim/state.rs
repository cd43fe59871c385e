//! `SimState`: everything a simulated node knows, and its JSON state file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::AuditEntry;
use super::error::SimError;
use super::fault::Fault;
use crate::host::FileData;

/// The state-file format this build reads and writes.
pub const STATE_FORMAT: u32 = 1;

/// Everything a simulated node knows; saved as pretty JSON so consecutive command-line runs see
/// the same node.
///
/// Every field has a default, so a hand-written state such as
/// `{"files": {"/etc/hostname": {"content": "pve\n"}}}` is a valid state. Unknown fields are
/// errors, so that a misspelt key is not silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SimState {
    /// The state-file format; [`STATE_FORMAT`].
    pub format: u32,
    /// The name of the latency profile, such as `zero` or `proxmox-typical`.
    pub latency: String,
    /// The in-memory filesystem: absolute, normalised path to file. Directories are implicit.
    pub files: BTreeMap<String, SimFile>,
    /// Per-tool state namespaces, such as `zfs` for the pools an emulator keeps.
    pub tools: BTreeMap<String, serde_json::Value>,
    /// Injected failures, with their match counters.
    pub faults: Vec<Fault>,
    /// How many times each program was run, over the node's whole life.
    pub call_counts: BTreeMap<String, u64>,
    /// The current run number; `SimNode::begin_run` increments it.
    pub run: u64,
    /// Every operation, oldest first.
    pub audit: Vec<AuditEntry>,
}

impl SimState {
    /// An empty node: no files, no tool state, latency `zero`.
    pub fn new() -> SimState {
        SimState {
            format: STATE_FORMAT,
            latency: "zero".to_owned(),
            files: BTreeMap::new(),
            tools: BTreeMap::new(),
            faults: Vec::new(),
            call_counts: BTreeMap::new(),
            run: 0,
            audit: Vec::new(),
        }
    }

    /// The state as pretty JSON with a trailing newline, as the state file holds it.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect(
            "invariant: a SimState serialises (string map keys, no custom serialisers that fail)",
        );
        text.push('\n');
        text
    }
}

impl Default for SimState {
    fn default() -> SimState {
        SimState::new()
    }
}

/// One file of the in-memory filesystem.
///
/// In JSON, `mode` is an octal string such as `"0644"` (an integer is accepted too); `mode`
/// defaults to `0644` and `owner` to `root:root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SimFile {
    /// The content.
    pub content: String,
    /// The permission bits, such as `0o644`.
    #[serde(default = "default_mode", with = "octal_mode")]
    pub mode: u32,
    /// The owner as `user:group`.
    #[serde(default = "default_owner")]
    pub owner: String,
}

impl SimFile {
    /// A file with `content`, `mode` and `owner` (`user:group`).
    pub fn new(content: impl Into<String>, mode: u32, owner: impl Into<String>) -> SimFile {
        SimFile {
            content: content.into(),
            mode,
            owner: owner.into(),
        }
    }

    /// A file with `content`, mode `0644`, owned by `root:root`.
    pub fn text(content: impl Into<String>) -> SimFile {
        SimFile::new(content, default_mode(), default_owner())
    }
}

impl From<SimFile> for FileData {
    fn from(file: SimFile) -> FileData {
        FileData::new(file.content, file.mode, file.owner)
    }
}

/// The owner of files written without one.
pub(crate) const DEFAULT_OWNER: &str = "root:root";

fn default_mode() -> u32 {
    0o644
}

fn default_owner() -> String {
    DEFAULT_OWNER.to_owned()
}

/// Reads the state file; `None` when it does not exist.
pub(crate) fn read_state(file: &Path) -> Result<Option<SimState>, SimError> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse_state(&text, file).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SimError::Io {
            op: "read",
            file: file.to_owned(),
            source,
        }),
    }
}

/// Parses a state file's text; `file` names it in errors.
pub(crate) fn parse_state(text: &str, file: &Path) -> Result<SimState, SimError> {
    let bad_state = |json_path: String, source: serde_json::Error| SimError::BadState {
        file: file.to_owned(),
        line: source.line(),
        column: source.column(),
        json_path,
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let state: SimState = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| bad_state(err.path().to_string(), err.into_inner()))?;
    deserializer
        .end()
        .map_err(|source| bad_state(String::new(), source))?;
    Ok(state)
}

/// Writes the state file atomically and durably: a temporary file `.NAME.tmp-PID` beside it,
/// written and fsynced, renamed over the file, then the directory fsynced.
///
/// The file keeps its mode (a new one is created 0600: the state holds whatever the node's files
/// hold). Temporary files left by runs that died mid-write (their pid is gone) are removed first.
pub(crate) fn write_state(file: &Path, state: &SimState) -> Result<(), SimError> {
    let io = |source| SimError::Io {
        op: "write",
        file: file.to_owned(),
        source,
    };
    remove_stale_temps(file);
    let mode = match std::fs::metadata(file) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0o600,
        Err(err) => return Err(io(err)),
    };
    let temp = temp_path(file, std::process::id());
    let result = write_synced(&temp, state.to_json().as_bytes(), mode)
        .and_then(|()| std::fs::rename(&temp, file))
        .and_then(|()| sync_dir(file));
    if result.is_err() {
        // The temporary file may or may not exist; the write error is the one worth reporting.
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io)
}

/// `.NAME.tmp-PID` beside `file`.
fn temp_path(file: &Path, pid: u32) -> PathBuf {
    file.with_file_name(format!("{}{pid}", temp_prefix(file)))
}

/// `.NAME.tmp-`: the start of the name of every temporary file of `file`.
fn temp_prefix(file: &Path) -> String {
    let name = file
        .file_name()
        .map_or_else(|| "sim-state".into(), |name| name.to_string_lossy());
    format!(".{name}.tmp-")
}

fn write_synced(temp: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(temp)?;
    // `mode` above is filtered by the umask; the state file keeps its mode exactly.
    out.set_permissions(std::fs::Permissions::from_mode(mode))?;
    out.write_all(bytes)?;
    out.sync_all()
}

/// Makes the rename durable: fsyncs the directory that holds `file`.
fn sync_dir(file: &Path) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Removes the temporary files of `file` whose writer is dead (a run killed mid-write). The pid
/// is the file name's suffix; a process is alive while `/proc/PID` exists.
pub(crate) fn remove_stale_temps(file: &Path) {
    let prefix = temp_prefix(file);
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            tracing::debug!(temp = %entry.path().display(), "removing a dead run's temporary state file");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

mod octal_mode {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        d.deserialize_any(ModeVisitor)
    }

    struct ModeVisitor;

    impl Visitor<'_> for ModeVisitor {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a file mode as an octal string such as \"0644\", or an integer")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u32, E> {
            u32::try_from(value)
                .ok()
                .filter(|mode| *mode <= 0o7777)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(value), &self))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u32, E> {
            let digits = value.strip_prefix("0o").unwrap_or(value);
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|mode| !digits.is_empty() && *mode <= 0o7777)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_partial_state_loads_with_defaults() {
        let text = r#"{"files": {"/etc/hostname": {"content": "pve\n"}, "/etc/shadow": {"content": "", "mode": "0640", "owner": "root:shadow"}}}"#;
        let state = parse_state(text, Path::new("example.json")).expect("valid state");
        assert_eq!(state.format, STATE_FORMAT);
        assert_eq!(state.latency, "zero");
        assert_eq!(
            state.files["/etc/hostname"],
            SimFile::new("pve\n", 0o644, "root:root")
        );
        assert_eq!(
            state.files["/etc/shadow"],
            SimFile::new("", 0o640, "root:shadow")
        );
    }

    #[test]
    fn mode_is_an_octal_string_and_integers_are_accepted() {
        let state = parse_state(
            r#"{"files": {"/x": {"content": "", "mode": 420}}}"#,
            Path::new("s.json"),
        )
        .expect("integer mode");
        assert_eq!(state.files["/x"].mode, 0o644);
        assert!(state.to_json().contains(r#""mode": "0644""#));
    }

    #[test]
    fn bad_state_names_file_line_column_and_json_path() {
        let text =
            "{\n  \"files\": {\n    \"/x\": {\"content\": \"\", \"mode\": \"rw-\"}\n  }\n}\n";
        let err = parse_state(text, Path::new("/tmp/state.json")).expect_err("bad mode");
        let SimError::BadState {
            line, json_path, ..
        } = &err
        else {
            panic!("expected BadState, got {err:?}");
        };
        assert_eq!(*line, 3);
        assert_eq!(json_path, "files./x.mode");
        assert!(
            err.to_string()
                .starts_with("load sim state /tmp/state.json:3:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_and_trailing_content_are_errors() {
        let err = parse_state(r#"{"file": {}}"#, Path::new("s.json")).expect_err("misspelt key");
        assert!(
            err.to_string().starts_with("load sim state s.json:1:"),
            "{err}"
        );
        let err = parse_state("{} {}", Path::new("s.json")).expect_err("trailing content");
        assert_eq!(err.to_string(), "load sim state s.json:1:4");
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn issue_8_the_state_file_keeps_its_mode_and_new_ones_are_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("state.json");
        write_state(&file, &SimState::new()).expect("create");
        assert_eq!(mode_of(&file), 0o600, "a new state file is private");
        for mode in [0o600, 0o640, 0o644] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
            write_state(&file, &SimState::new()).expect("rewrite");
            assert_eq!(mode_of(&file), mode, "mode {mode:o} is kept");
        }
    }

    #[test]
    fn issue_8_temporary_files_of_dead_runs_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("state.json");
        // A pid above the kernel's pid_max is never alive.
        let dead = temp_path(&file, 4_194_305);
        let alive = temp_path(&file, 1);
        let other = dir.path().join(".other.json.tmp-4194305");
        for path in [&dead, &alive, &other] {
            std::fs::write(path, "{\"tor").expect("write");
        }
        write_state(&file, &SimState::new()).expect("write");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".other.json.tmp-4194305", ".state.json.tmp-1", "state.json"],
            "only the dead run's temporary file of this state is removed"
        );
    }

    #[test]
    fn to_json_is_pretty_with_a_trailing_newline() {
        let text = SimState::new().to_json();
        assert!(text.starts_with("{\n  \"format\": 1,\n"), "{text}");
        assert!(text.ends_with("}\n"));
    }
}
