//! Commands as argv vectors (never shell strings), their declared effect, and their output.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether a command only reads the host or may change it.
///
/// `plan` runs on a read-only host that refuses every [`Effect::Write`] command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Inspects only.
    Read,
    /// May change the host.
    Write,
}

/// One command: a program and its arguments, plus optional stdin, environment and timeout.
///
/// Its `Display` is shell-escaped, for logs and plans only; nothing ever runs it through a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cmd {
    /// The program, looked up on `PATH` by the host.
    pub program: String,
    /// The arguments, one element each.
    pub args: Vec<String>,
    /// What the command does to the host.
    pub effect: Effect,
    /// Bytes written to the command's standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Extra environment variables. This is where secrets go: their values are never shown,
    /// logged or serialised (they appear as `<redacted>`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "redacted"
    )]
    pub env: BTreeMap<String, String>,
    /// How long the command may run before the host kills it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub timeout: Option<Duration>,
}

impl Cmd {
    /// A command that only reads the host.
    pub fn read<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd::new(program, args, Effect::Read)
    }

    /// A command that may change the host.
    pub fn write<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd::new(program, args, Effect::Write)
    }

    fn new<I, S>(program: &str, args: I, effect: Effect) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            program: program.to_owned(),
            args: args.into_iter().map(Into::into).collect(),
            effect,
            stdin: None,
            env: BTreeMap::new(),
            timeout: None,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    /// Sets the standard input.
    pub fn stdin(mut self, stdin: impl Into<String>) -> Cmd {
        self.stdin = Some(stdin.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets a timeout.
    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = Some(timeout);
        self
    }

    /// The full argv: program first.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = Vec::with_capacity(self.args.len() + 1);
        argv.push(self.program.clone());
        argv.extend(self.args.iter().cloned());
        argv
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for key in self.env.keys() {
            write!(f, "{key}=<redacted> ")?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(arg))?;
        }
        if let Some(stdin) = &self.stdin {
            // The bytes are not shown: stdin may carry secrets.
            write!(f, "  # with {} byte(s) on stdin", stdin.len())?;
        }
        Ok(())
    }
}

fn redacted<S: serde::Serializer>(env: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(env.keys().map(|k| (k, "<redacted>")))
}

/// Quotes one word for a POSIX shell, leaving plain words as they are.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b',' | b'@' | b'+' | b'%'
                )
        });
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What a finished command returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Output {
    /// The exit status; `None` when the process was killed by a signal or timed out.
    pub status: Option<i32>,
    /// Standard output, decoded as UTF-8 (lossily).
    pub stdout: String,
    /// Standard error, decoded as UTF-8 (lossily).
    pub stderr: String,
}

impl Output {
    /// Builds an output.
    pub fn new(
        status: Option<i32>,
        stdout: impl Into<String>,
        stderr: impl Into<String>,
    ) -> Output {
        Output {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                s.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_are_never_shown() {
        let cmd = Cmd::write("tool", ["login"]).env("TOKEN", "hunter2");
        assert_eq!(cmd.to_string(), "TOKEN=<redacted> tool login");
        let json = serde_json::to_string(&cmd).expect("serialises");
        assert!(!json.contains("hunter2"), "{json}");
    }

    #[test]
    fn display_is_shell_escaped() {
        let cmd = Cmd::write(
            "zfs",
            ["set", "quota=800G", "quickOS/vm disks", "it's", "$(x);y"],
        );
        assert_eq!(
            cmd.to_string(),
            r#"zfs set quota=800G 'quickOS/vm disks' 'it'\''s' '$(x);y'"#
        );
        assert_eq!(shell_quote(""), "''");
    }
}
