//! The emulators of `apparmor_parser` and `aa-status` for the simulated node.
//!
//! The kernel's loaded profiles live in the node's `apparmor` namespace
//! (`{"profiles": {NAME: MODE}, "loads": N}`); a node that never loaded one has the profiles of
//! the testbed's Debian 12 host (`fixtures/aa-status-json.txt`). `apparmor_parser` parses the
//! file and its includes from the node's files with the private `check` module (the real
//! parser's messages) and, for `-r` or `-a` without `-Q`, loads the profiles it declares;
//! `aa-status` prints them as `aa-status --json` or as its text report.

use std::collections::BTreeMap;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use super::check::{Refusal, Tree, check};
use super::status::{Status, format_status, parse_status};

/// The namespace of the loaded profiles.
pub const NAMESPACE: &str = "apparmor";

/// `aa-status --json` of the testbed's Debian 12 host.
const DEFAULT_STATUS: &str = include_str!("../../fixtures/aa-status-json.txt");

/// The kernel's AppArmor state on the node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kernel {
    /// Loaded profiles and their modes; `None` until the first load (the sample host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<BTreeMap<String, String>>,
    /// How many times `apparmor_parser` loaded or replaced profiles.
    #[serde(default)]
    pub loads: u64,
}

impl Kernel {
    /// The loaded profiles.
    pub fn loaded(&self) -> BTreeMap<String, String> {
        self.profiles.clone().unwrap_or_else(default_profiles)
    }
}

fn default_profiles() -> BTreeMap<String, String> {
    let output = phoenix_core::sim::capture_output(DEFAULT_STATUS).unwrap_or(DEFAULT_STATUS);
    parse_status(0, output)
        .expect("invariant: the recorded aa-status --json parses")
        .profiles
}

/// `apparmor_parser` and `aa-status`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AppArmorEmulator;

impl Emulator for AppArmorEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["apparmor_parser".to_owned(), "aa-status".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        match argv.first().map(String::as_str) {
            Some("aa-status") => aa_status(&argv[1..], sys),
            _ => apparmor_parser(&argv[1..], sys),
        }
    }

    /// A parse of a profile with its includes takes about 0.1 s on the testbed.
    fn typical_latency(&self, program: &str) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(match program {
            "aa-status" => 5,
            _ => 100,
        }))
    }
}

/// The node's files as the checker reads them.
struct NodeTree<'s, 'a>(&'s SimSys<'a>);

impl Tree for NodeTree<'_, '_> {
    fn read(&self, path: &str) -> Option<String> {
        self.0.read(path).map(|file| file.content.clone())
    }

    fn files_in(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.0
            .list(dir)
            .into_iter()
            .filter(|path| {
                path.strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains('/'))
            })
            .collect()
    }
}

/// `apparmor_parser [-Q] [-K] [-T] [-q] [-r|-a] FILE`.
fn apparmor_parser(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let mut skip_load = false;
    let mut load = false;
    let mut files = Vec::new();
    for arg in args {
        match arg.as_str() {
            "-Q" | "--skip-kernel-load" => skip_load = true,
            "-K" | "--skip-cache" | "-T" | "--skip-read-cache" | "-q" | "--quiet" => {}
            "-r" | "--replace" | "-a" | "--add" => load = true,
            other if other.starts_with('-') => {
                return SimOutput::fail(
                    1,
                    format!("apparmor_parser: unrecognized option '{other}'\n"),
                );
            }
            file => files.push(file.to_owned()),
        }
    }
    let [file] = &files[..] else {
        return SimOutput::fail(1, "phoenix sim: apparmor_parser takes one file here\n");
    };
    if sys.read(file).is_none() {
        // What apparmor_parser 3.0.8 prints for a file that does not exist, with exit 2.
        return SimOutput::fail(2, format!("File {file} not found, skipping...\n"));
    }
    let profiles = match check(file, &NodeTree(sys)) {
        Ok(profiles) => profiles,
        Err(Refusal(message)) => return SimOutput::fail(1, message),
    };
    if skip_load || !load {
        return SimOutput::ok("");
    }
    let mut kernel: Kernel = sys.load(NAMESPACE);
    let mut loaded = kernel.loaded();
    for name in profiles {
        loaded.insert(name, "enforce".to_owned());
    }
    kernel.profiles = Some(loaded);
    kernel.loads += 1;
    sys.store(NAMESPACE, &kernel);
    SimOutput::ok_mutated("")
}

/// `aa-status --json` or `aa-status`.
fn aa_status(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let kernel: Kernel = sys.load(NAMESPACE);
    let status = Status {
        version: "2".to_owned(),
        profiles: kernel.loaded(),
        processes: serde_json::Map::new(),
    };
    match args {
        [json] if json == "--json" => SimOutput::ok(format_status(&status)),
        [] => SimOutput::ok(text_report(&status)),
        _ => SimOutput::fail(1, "phoenix sim: aa-status takes --json or nothing here\n"),
    }
}

/// The text report, as `fixtures/aa-status.txt` shows it.
fn text_report(status: &Status) -> String {
    let mut out = format!(
        "apparmor module is loaded.\n{} profiles are loaded.\n",
        status.profiles.len()
    );
    for mode in ["enforce", "complain", "kill", "unconfined"] {
        let names: Vec<&String> = status
            .profiles
            .iter()
            .filter(|(_, m)| *m == mode)
            .map(|(name, _)| name)
            .collect();
        out.push_str(&format!("{} profiles are in {mode} mode.\n", names.len()));
        for name in names {
            out.push_str(&format!("   {name}\n"));
        }
    }
    out.push_str(
        "0 processes have profiles defined.\n0 processes are in enforce mode.\n0 processes are in complain mode.\n0 processes are unconfined but have a profile defined.\n0 processes are in mixed mode.\n0 processes are in kill mode.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phoenix_core::sim::{SimFile, SimNode, SimState};
    use phoenix_core::{Cmd, Host};

    use super::*;

    /// A recorded run: (exit status, output).
    fn recorded(text: &str) -> (i32, String) {
        let (_, rest) = text.split_once('\n').expect("a command line");
        let (exit, output) = rest.split_once('\n').unwrap_or((rest, ""));
        let status = exit
            .strip_prefix("# exit=")
            .and_then(|s| s.parse().ok())
            .expect("an exit line");
        (status, output.to_owned())
    }

    fn cmd(argv: &[&str]) -> Cmd {
        let (program, args) = argv.split_first().expect("a program");
        Cmd::write(program, args.iter().copied())
    }

    /// What the emulator answers for `argv`, as a recorded run: (exit status, stdout and stderr).
    async fn answer(node: &SimNode, argv: &[&str]) -> (i32, String) {
        let output = node.run(&cmd(argv)).await.expect("runs");
        (
            output.status.expect("exits"),
            format!("{}{}", output.stdout, output.stderr),
        )
    }

    /// Every recorded `apparmor_parser` and `aa-status` run of `fixtures/` (testbed captures),
    /// replayed on a node with the same files: the emulator answers exactly as the real tools did.
    #[tokio::test]
    async fn issue_9_the_emulators_answer_every_recorded_run_as_the_real_tools_did() {
        let mut state = SimState::new();
        for (path, content) in [
            (
                "/tmp/bad-profile",
                "profile bad-profile flags=(complain) {\n  mount fstype=nonsense -> /x/**,\n  broken rule here\n}\n",
            ),
            (
                "/tmp/p",
                "include <tunables/global>\nprofile p {\n  /x r,\n}\n",
            ),
            (
                "/etc/apparmor.d/tunables/home.d/phoenix-test-broken",
                "# x\n@{HOMEDIRS} /srv/home/\n",
            ),
            ("/tmp/q", "profile phoenix-capture-test {\n  /x r,\n}\n"),
        ] {
            state
                .files
                .insert(path.to_owned(), SimFile::new(content, 0o644, "root:root"));
        }
        let node = SimNode::from_state(state, vec![Arc::new(AppArmorEmulator)]).expect("a node");
        let runs: [(&[&str], &str); 5] = [
            (
                &["apparmor_parser", "-Q", "-K", "/tmp/bad-profile"],
                include_str!("../../fixtures/apparmor-parser.bad.txt"),
            ),
            (
                &["apparmor_parser", "-Q", "-K", "/tmp/p"],
                include_str!("../../fixtures/apparmor-parser.include-error.txt"),
            ),
            (
                &["apparmor_parser", "-Q", "-K", "/tmp/nosuch"],
                include_str!("../../fixtures/apparmor-parser.missing.txt"),
            ),
            (
                &["apparmor_parser", "-r", "/tmp/q"],
                include_str!("../../fixtures/apparmor-parser-r.txt"),
            ),
            (
                &["aa-status", "--json"],
                include_str!("../../fixtures/aa-status-json.loaded.txt"),
            ),
        ];
        for (argv, fixture) in runs {
            assert_eq!(answer(&node, argv).await, recorded(fixture), "{argv:?}");
        }
    }

    #[tokio::test]
    async fn issue_9_apparmor_parser_loads_the_shipped_profile() {
        let mut state = SimState::new();
        let profile = crate::apparmor::policy::profile_text("lxc-phoenix-v2").expect("shipped");
        for (path, content) in [
            ("/etc/apparmor.d/lxc/lxc-phoenix-v2", profile),
            (
                "/etc/apparmor.d/tunables/phoenix-nesting",
                crate::apparmor::policy::tunable_text(),
            ),
        ] {
            state
                .files
                .insert(path.to_owned(), SimFile::new(content, 0o644, "root:root"));
        }
        let node = SimNode::from_state(state, vec![Arc::new(AppArmorEmulator)]).expect("a node");
        let before = answer(&node, &["aa-status", "--json"]).await;
        assert!(!before.1.contains("lxc-phoenix-v2"));
        let load = answer(
            &node,
            &[
                "apparmor_parser",
                "-r",
                "/etc/apparmor.d/lxc/lxc-phoenix-v2",
            ],
        )
        .await;
        assert_eq!(load, (0, String::new()));
        let after = answer(&node, &["aa-status", "--json"]).await;
        let status = parse_status(after.0, &after.1).expect("parses");
        assert_eq!(status.mode_of("lxc-phoenix-v2"), Some("enforce"));
        assert_eq!(
            status.profiles.len(),
            13,
            "the sample host's 12 and the new one"
        );
    }

    #[test]
    fn issue_9_aa_status_prints_what_the_real_tool_printed() {
        let status = Status {
            version: "2".to_owned(),
            profiles: default_profiles(),
            processes: serde_json::Map::new(),
        };
        let json = phoenix_core::sim::capture_output(DEFAULT_STATUS).expect("a capture");
        assert_eq!(format_status(&status), json);
        let text = include_str!("../../fixtures/aa-status.txt");
        let text = phoenix_core::sim::capture_output(text).expect("a capture");
        assert_eq!(text_report(&status), text);
    }
}
