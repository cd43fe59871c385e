//! `SimState`: everything a simulated node knows, and its JSON state file.

use std::collections::BTreeMap;
use std::path::Path;

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

/// Writes the state file atomically: a temporary file beside it, then a rename.
pub(crate) fn write_state(file: &Path, state: &SimState) -> Result<(), SimError> {
    let name = file
        .file_name()
        .map_or_else(|| "sim-state".into(), |name| name.to_string_lossy());
    let temp = file.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&temp, state.to_json()).and_then(|()| std::fs::rename(&temp, file));
    if result.is_err() {
        // The temporary file may or may not exist; the write error is the one worth reporting.
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|source| SimError::Io {
        op: "write",
        file: file.to_owned(),
        source,
    })
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

    #[test]
    fn to_json_is_pretty_with_a_trailing_newline() {
        let text = SimState::new().to_json();
        assert!(text.starts_with("{\n  \"format\": 1,\n"), "{text}");
        assert!(text.ends_with("}\n"));
    }
}
