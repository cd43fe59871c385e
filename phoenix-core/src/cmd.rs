//! Commands as argv vectors (never shell strings), their declared effect, and their output.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sensitive::Content;

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
/// Neither `Display`, `Debug` nor serde shows environment values or a sensitive stdin.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cmd {
    /// The program, looked up on `PATH` by the host.
    pub program: String,
    /// The arguments, one element each.
    pub args: Vec<String>,
    /// What the command does to the host.
    pub effect: Effect,
    /// Bytes written to the command's standard input (shown only as `<stdin: sensitive, N bytes>`
    /// when sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Content>,
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

    /// Sets the standard input (a `String` is plain; pass a sensitive [`Content`] for secrets).
    pub fn stdin(mut self, stdin: impl Into<Content>) -> Cmd {
        self.stdin = Some(stdin.into());
        self
    }

    /// The standard input's text, for the host that sends it.
    ///
    /// Fails for a sensitive stdin read back from a saved plan, whose text is not kept.
    pub fn stdin_text(&self) -> Result<Option<&str>, crate::host::HostError> {
        match &self.stdin {
            None => Ok(None),
            Some(content) => content.reveal().map(Some).ok_or_else(|| {
                crate::host::HostError::Other(format!(
                    "`{self}` has a sensitive stdin that a saved plan does not keep"
                ))
            }),
        }
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

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: BTreeMap<&str, &str> = self
            .env
            .keys()
            .map(|k| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("Cmd")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("effect", &self.effect)
            .field("stdin", &self.stdin)
            .field("env", &env)
            .field("timeout", &self.timeout)
            .finish()
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
        match &self.stdin {
            Some(stdin) if stdin.is_sensitive() => {
                write!(f, "  # <stdin: sensitive, {} bytes>", stdin.len())?;
            }
            // The bytes are not shown either: they can be long.
            Some(stdin) => write!(f, "  # with {} byte(s) on stdin", stdin.len())?,
            None => {}
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
        assert!(!format!("{cmd:?}").contains("hunter2"));
    }

    #[test]
    fn issue_8_a_sensitive_stdin_is_never_shown() {
        let cmd = Cmd::write("tee", ["-a", "/etc/x"]).stdin(Content::sensitive("TOKEN=canary\n"));
        assert_eq!(
            cmd.to_string(),
            "tee -a /etc/x  # <stdin: sensitive, 13 bytes>"
        );
        let json = serde_json::to_string(&cmd).expect("serialises");
        assert!(!json.contains("canary"), "{json}");
        assert!(!format!("{cmd:?}").contains("canary"));
        assert_eq!(cmd.stdin_text().expect("kept"), Some("TOKEN=canary\n"));
        let back: Cmd = serde_json::from_str(&json).expect("deserialises");
        assert!(back.stdin_text().is_err());
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
