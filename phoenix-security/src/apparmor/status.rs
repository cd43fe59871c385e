//! Which AppArmor profiles the kernel has loaded, read from `aa-status --json` (one parser, used
//! by the provider and written by the emulator from the same types).
//!
//! The command is a query of the node's one probe, so reading it costs no command of its own.
//! `aa-status` 3.0.8 prints `{"version": "2", "profiles": {NAME: MODE}, "processes": {...}}` on a
//! host with AppArmor (`../shared/fixtures/host/aa-status-json.txt`), and nothing at all, with
//! exit 0, where the kernel has no AppArmor (`tests/it/fixtures/aa-status-json.disabled.txt`).

use std::collections::BTreeMap;

use phoenix_core::parse::ParseError;
use serde::{Deserialize, Serialize};

/// The probe query's name.
pub const QUERY: &str = "aa-status";

/// The probe query's argv.
pub const QUERY_ARGV: [&str; 2] = ["aa-status", "--json"];

/// What `aa-status --json` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The format version (`"2"` in AppArmor 3.0).
    pub version: String,
    /// Loaded profiles and their modes (`enforce`, `complain`, `kill`, `unconfined`).
    pub profiles: BTreeMap<String, String>,
    /// Confined processes by executable; kept as printed.
    #[serde(default)]
    pub processes: serde_json::Map<String, serde_json::Value>,
}

impl Status {
    /// The mode profile `name` is loaded in, if it is loaded.
    pub fn mode_of(&self, name: &str) -> Option<&str> {
        self.profiles.get(name).map(String::as_str)
    }
}

/// Why the loaded profiles cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The kernel has no AppArmor: `aa-status --json` printed nothing.
    #[error("AppArmor is not enabled on this host (`aa-status --json` printed nothing)")]
    Disabled,
    /// `aa-status` failed.
    #[error("`aa-status --json` failed (exit {status}): {output}")]
    Failed {
        /// Its exit status.
        status: i32,
        /// What it printed.
        output: String,
    },
    /// The output is not the JSON `aa-status` prints.
    #[error("cannot read `aa-status --json`: {0}")]
    Parse(ParseError),
}

/// Reads the output and exit status of `aa-status --json`.
pub fn parse_status(status: i32, output: &str) -> Result<Status, StatusError> {
    if status != 0 {
        return Err(StatusError::Failed {
            status,
            output: output.trim().to_owned(),
        });
    }
    if output.trim().is_empty() {
        return Err(StatusError::Disabled);
    }
    serde_json::from_str(output.trim())
        .map_err(|err| StatusError::Parse(ParseError::new(err.line(), format!("{err}"))))
}

/// Writes `status` as `aa-status --json` does: one line, `", "` and `": "` separators, keys in
/// byte order.
pub fn format_status(status: &Status) -> String {
    let object = |entries: Vec<(String, String)>| {
        let inner: Vec<String> = entries
            .into_iter()
            .map(|(key, value)| format!("{}: {value}", quote(&key)))
            .collect();
        format!("{{{}}}", inner.join(", "))
    };
    let profiles = object(
        status
            .profiles
            .iter()
            .map(|(name, mode)| (name.clone(), quote(mode)))
            .collect(),
    );
    let processes = object(
        status
            .processes
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect(),
    );
    format!(
        "{{\"version\": {}, \"profiles\": {profiles}, \"processes\": {processes}}}\n",
        quote(&status.version)
    )
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every recorded `aa-status --json` reads, snapshotted (`fixtures/README.md` says where each
    /// was captured).
    #[test]
    fn issue_9_the_recorded_aa_status_outputs_read() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for name in ["aa-status-json.txt", "aa-status-json.disabled.txt"] {
            let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
            let (status, output) = recorded(&text);
            insta::assert_debug_snapshot!(name, parse_status(status, output));
        }
    }

    /// The exit status and output of a recorded run (`$ cmd`, `# exit=N`, output).
    fn recorded(text: &str) -> (i32, &str) {
        let (_, rest) = text.split_once('\n').expect("a command line");
        let (exit, output) = rest.split_once('\n').unwrap_or((rest, ""));
        let status = exit
            .strip_prefix("# exit=")
            .and_then(|s| s.parse().ok())
            .expect("an exit line");
        (status, output)
    }

    #[test]
    fn statuses_read_as_expected() {
        let cases: [(i32, &str, &str); 5] = [
            (
                0,
                r#"{"version": "2", "profiles": {"lxc-phoenix-v2": "enforce", "x": "complain"}, "processes": {}}"#,
                r#"Ok(["lxc-phoenix-v2=enforce", "x=complain"])"#,
            ),
            (0, "", "Err(Disabled)"),
            (
                4,
                "aa-status: error: insufficient privileges\n",
                r#"Err(Failed { status: 4, output: "aa-status: error: insufficient privileges" })"#,
            ),
            (0, "{\"version\": \"2\"}", "Err(Parse"),
            (0, "apparmor module is loaded.", "Err(Parse"),
        ];
        for (status, output, expect) in cases {
            let got = match parse_status(status, output) {
                Ok(status) => format!(
                    "Ok({:?})",
                    status
                        .profiles
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                ),
                Err(err) => format!("Err({err:?})"),
            };
            assert!(got.starts_with(expect), "{output:?}: {got}");
        }
    }
}
