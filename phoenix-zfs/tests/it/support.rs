//! Helpers: a simulated node with this crate's emulators, fixture reading, and comparison of
//! emulated output with a capture.

use std::path::PathBuf;

use phoenix_core::Cmd;
use phoenix_core::host::Host;
use phoenix_core::sim::{SimFile, SimNode, SimState};
use serde_json::Value;

/// A capture: the command line, its exit code, and stdout+stderr as recorded.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) command: String,
    pub(crate) exit: i32,
    pub(crate) body: String,
}

pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// Reads `shared/fixtures/<name>`: a capture with its `$ command` and `# exit=N` header.
pub(crate) fn fixture(name: &str) -> Fixture {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    let mut parts = text.splitn(3, '\n');
    let command = parts
        .next()
        .and_then(|line| line.strip_prefix("$ "))
        .expect("`$ command` line")
        .to_owned();
    let exit = parts
        .next()
        .and_then(|line| line.strip_prefix("# exit="))
        .and_then(|code| code.parse().ok())
        .expect("`# exit=N` line");
    Fixture {
        command,
        exit,
        body: parts.next().unwrap_or_default().to_owned(),
    }
}

/// Reads a sample without a header (the Proxmox samples).
pub(crate) fn sample(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// What one emulated command returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ran {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    /// stdout then stderr, as the capture script recorded them (`$(cmd 2>&1)` drops trailing
    /// newlines, then `printf '%s\n'` adds one).
    pub(crate) fn captured(&self) -> String {
        let mut text = format!("{}{}", self.stdout, self.stderr);
        while text.ends_with('\n') {
            text.pop();
        }
        text.push('\n');
        text
    }
}

/// A simulated node with this crate's emulators.
pub(crate) struct Node {
    node: SimNode,
}

impl Node {
    /// A node whose tool namespaces are `tools` (a JSON object) and whose files are `files`.
    pub(crate) fn new(tools: Value, files: &[(&str, &str)]) -> Node {
        let mut state = SimState::new();
        if let Value::Object(map) = tools {
            state.tools = map.into_iter().collect();
        }
        for (path, content) in files {
            state
                .files
                .insert((*path).to_owned(), SimFile::text(*content));
        }
        Node::from_state(state)
    }

    fn from_state(state: SimState) -> Node {
        Node {
            node: SimNode::from_state(state, phoenix_zfs::sim::emulators())
                .expect("valid sim state"),
        }
    }

    /// Runs a command line (words split on spaces).
    pub(crate) async fn run(&self, line: &str) -> Ran {
        let words: Vec<&str> = line.split_whitespace().collect();
        self.run_argv(&words, None).await
    }

    /// Runs an argv, optionally with standard input.
    pub(crate) async fn run_argv(&self, words: &[&str], stdin: Option<&str>) -> Ran {
        let (program, args) = words.split_first().expect("a program");
        let mut cmd = Cmd::write(program, args.iter().copied());
        if let Some(stdin) = stdin {
            cmd = cmd.stdin(stdin);
        }
        let output = self
            .node
            .run(&cmd)
            .await
            .unwrap_or_else(|err| panic!("`{line}`: {err}", line = words.join(" ")));
        Ran {
            status: output.status.expect("an exit status"),
            stdout: output.stdout,
            stderr: output.stderr,
        }
    }

    /// The content of a file on the node.
    pub(crate) fn file(&self, path: &str) -> Option<String> {
        self.node
            .state()
            .files
            .get(path)
            .map(|file| file.content.clone())
    }

    /// The tool namespace `ns`.
    pub(crate) fn tool(&self, ns: &str) -> Value {
        self.node
            .state()
            .tools
            .get(ns)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Changes the tool state by hand (as a test setting figures a capture shows).
    pub(crate) fn patch(&mut self, ns: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.node.state();
        let value = state.tools.entry(ns.to_owned()).or_insert(Value::Null);
        change(value);
        *self = Node::from_state(state);
    }
}

/// Collects mismatches between emulated and captured output, to report them all at once.
#[derive(Default)]
pub(crate) struct Mismatches(Vec<String>);

impl Mismatches {
    /// Compares after applying `redact` to both sides.
    pub(crate) fn compare(
        &mut self,
        what: &str,
        ran: &Ran,
        expected_exit: i32,
        expected: &str,
        redact: &dyn Fn(&str) -> String,
    ) {
        let got = redact(&ran.captured());
        let want = redact(expected);
        if ran.status != expected_exit || got != want {
            self.0.push(format!(
                "{what}: exit {} (want {expected_exit})\n--- emulated\n{got}--- captured\n{want}",
                ran.status
            ));
        }
    }

    /// Runs the command of capture `name` on `node` and compares.
    pub(crate) async fn check(&mut self, node: &Node, name: &str) {
        self.check_redacted(node, name, &|text| text.to_owned())
            .await;
    }

    /// Like [`Mismatches::check`], with per-run values redacted on both sides.
    pub(crate) async fn check_redacted(
        &mut self,
        node: &Node,
        name: &str,
        redact: &dyn Fn(&str) -> String,
    ) {
        let capture = fixture(name);
        let ran = node.run(&capture.command).await;
        self.compare(name, &ran, capture.exit, &capture.body, redact);
    }

    /// Fails with every mismatch.
    pub(crate) fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} mismatches:\n\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Drops the lines whose second TAB-separated field is one of `props` (per-run values).
pub(crate) fn without_props<'a>(props: &'a [&'a str]) -> impl Fn(&str) -> String + 'a {
    move |text: &str| {
        text.lines()
            .filter(|line| {
                line.split('\t')
                    .nth(1)
                    .is_none_or(|prop| !props.contains(&prop))
            })
            .map(|line| format!("{line}\n"))
            .collect()
    }
}
