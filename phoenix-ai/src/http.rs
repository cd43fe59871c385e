//! HTTP from the node with the real `curl`: the argv of a bounded request and the reading of
//! what `curl` printed (the body, then a status line of ours written by `-w`).
//!
//! Every request is an argv (`phoenix_core::Cmd`), never a shell string; a request body goes on
//! standard input (`--data-binary @-`), so text from the config never reaches an argv.

use std::time::Duration;

use phoenix_core::Cmd;
use phoenix_core::sensitive::Content;
use serde::Serialize;

/// What `-w` appends after the body: a line of its own with the HTTP status (`000` when no
/// response came).
const STATUS_MARK: &str = "phoenix-http-status:";

/// The `-w` format of [`STATUS_MARK`] (curl expands `\n` and `%{http_code}` itself).
const WRITE_OUT: &str = "\\nphoenix-http-status:%{http_code}\\n";

/// A request's time bounds: connecting, and the whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// `--connect-timeout`, in seconds.
    pub connect_s: u64,
    /// `--max-time`, in seconds.
    pub total_s: u64,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            connect_s: 2,
            total_s: 5,
        }
    }
}

/// The argv of `GET url` (read-only, bounded in time).
pub fn get_argv(url: &str, bounds: Bounds) -> Vec<String> {
    let mut argv = base(bounds);
    argv.push(url.to_owned());
    argv
}

/// `GET url` as a read-only node command.
pub fn get(url: &str, bounds: Bounds) -> Cmd {
    let argv = get_argv(url, bounds);
    Cmd::read(&argv[0], &argv[1..]).timeout(Duration::from_secs(bounds.total_s + 5))
}

/// `METHOD url` with a JSON body on standard input (`None`: no body), as a command that writes
/// when `writes` (a Qdrant collection made or removed) and reads otherwise (an embedding).
pub fn send(method: &str, url: &str, body: Option<&str>, writes: bool, bounds: Bounds) -> Cmd {
    let mut argv = base(bounds);
    argv.extend(["-X".to_owned(), method.to_owned()]);
    if body.is_some() {
        argv.extend([
            "-H".to_owned(),
            "Content-Type: application/json".to_owned(),
            "--data-binary".to_owned(),
            "@-".to_owned(),
        ]);
    }
    argv.push(url.to_owned());
    let cmd = command(&argv, writes, bounds);
    match body {
        Some(body) => cmd.stdin(body.to_owned()),
        None => cmd,
    }
}

/// [`send`] with a secret header (`api-key: KEY`): the header and the body go on standard input
/// as curl's own config (`--config -`: `header = "..."`, `data-binary = "..."`), a sensitive
/// stdin, so the secret reaches no argv, plan, log or JSON.
pub fn send_with_secret_header(
    method: &str,
    url: &str,
    header: &Content,
    body: Option<&str>,
    writes: bool,
    bounds: Bounds,
) -> Cmd {
    let mut argv = base(bounds);
    argv.extend([
        "-X".to_owned(),
        method.to_owned(),
        "--config".to_owned(),
        "-".to_owned(),
        url.to_owned(),
    ]);
    let mut config = format!(
        "header = {}\n",
        config_quote(header.reveal().unwrap_or_default())
    );
    if let Some(body) = body {
        config.push_str("header = \"Content-Type: application/json\"\n");
        config.push_str(&format!("data-binary = {}\n", config_quote(body)));
    }
    command(&argv, writes, bounds).stdin(Content::sensitive(config))
}

/// `text` as a double-quoted value of curl's config file, with the escapes curl reads there.
pub fn config_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The bounded command of `argv`, writing when `writes`.
fn command(argv: &[String], writes: bool, bounds: Bounds) -> Cmd {
    let cmd = if writes {
        Cmd::write(&argv[0], &argv[1..])
    } else {
        Cmd::read(&argv[0], &argv[1..])
    };
    cmd.timeout(Duration::from_secs(bounds.total_s + 5))
}

fn base(bounds: Bounds) -> Vec<String> {
    vec![
        "curl".to_owned(),
        "-sS".to_owned(),
        "--connect-timeout".to_owned(),
        bounds.connect_s.to_string(),
        "--max-time".to_owned(),
        bounds.total_s.to_string(),
        "-w".to_owned(),
        WRITE_OUT.to_owned(),
    ]
}

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    /// The HTTP status; `None` when no response came (refused, timed out, no route).
    pub status: Option<u16>,
    /// The body.
    pub body: String,
    /// curl's own error line (`curl: (7) Failed to connect ...`), when it failed.
    pub error: Option<String>,
}

impl Response {
    /// Reads what `curl` printed and its exit status. `stdout` may hold curl's standard error
    /// too (a probe query's output is both, in the order they were written).
    pub fn parse(exit: i32, stdout: &str, stderr: &str) -> Response {
        let mut body = String::new();
        let mut status = None;
        let mut error: Option<String> = None;
        let mut rest = stdout;
        if let Some(at) = stdout.rfind(STATUS_MARK) {
            let before = &stdout[..at];
            let after = &stdout[at + STATUS_MARK.len()..];
            let code = after.lines().next().unwrap_or("").trim();
            status = code.parse::<u16>().ok().filter(|c| *c != 0);
            rest = before.strip_suffix('\n').unwrap_or(before);
        }
        for line in rest.split_inclusive('\n') {
            if line.starts_with("curl: (") {
                error.get_or_insert_with(|| line.trim_end().to_owned());
            } else {
                body.push_str(line);
            }
        }
        if let Some(line) = stderr.lines().find(|l| l.starts_with("curl: (")) {
            error.get_or_insert_with(|| line.to_owned());
        }
        if exit == 127 {
            error.get_or_insert_with(|| "curl is not installed on the node".to_owned());
        } else if exit != 0 && error.is_none() {
            error = Some(format!("curl exited with status {exit}"));
        }
        Response {
            status,
            body,
            error,
        }
    }

    /// Whether the server answered 200.
    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }

    /// The response in one line for messages: `HTTP 503: {"detail":...}` (the body cut after
    /// 200 characters), or curl's error.
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(code), _) => {
                let body = self.body.trim();
                if body.is_empty() {
                    format!("HTTP {code} (empty body)")
                } else {
                    format!("HTTP {code}: {}", cut(&body.replace('\n', " "), 200))
                }
            }
            (None, Some(error)) => error.clone(),
            (None, None) => "no response".to_owned(),
        }
    }
}

/// `text` cut to at most `n` characters, with `...` when cut.
pub fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exit status, stdout, stderr; then the status, body and error read.
    type Case<'a> = (i32, &'a str, &'a str, Option<u16>, &'a str, Option<&'a str>);

    #[test]
    fn responses_are_read_from_curls_output() {
        let cases: [Case<'_>; 5] = [
            (0, "\nphoenix-http-status:200\n", "", Some(200), "", None),
            (
                0,
                "{\"version\":\"0.5.7\"}\nphoenix-http-status:200\n",
                "",
                Some(200),
                "{\"version\":\"0.5.7\"}",
                None,
            ),
            (
                7,
                "curl: (7) Failed to connect to 10.0.0.151 port 8000 after 0 ms: Couldn't connect to server\n\nphoenix-http-status:000\n",
                "",
                None,
                "",
                Some(
                    "curl: (7) Failed to connect to 10.0.0.151 port 8000 after 0 ms: Couldn't connect to server",
                ),
            ),
            (
                28,
                "\nphoenix-http-status:000\n",
                "curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received\n",
                None,
                "",
                Some(
                    "curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received",
                ),
            ),
            (
                127,
                "sh: 1: curl: not found\n",
                "",
                None,
                "sh: 1: curl: not found\n",
                Some("curl is not installed on the node"),
            ),
        ];
        for (exit, out, err, status, body, error) in cases {
            let got = Response::parse(exit, out, err);
            assert_eq!(got.status, status, "{out:?}");
            assert_eq!(got.body, body, "{out:?}");
            assert_eq!(got.error.as_deref(), error, "{out:?}");
        }
    }

    #[test]
    fn requests_are_bounded_argvs_with_bodies_on_stdin() {
        let cmd = send(
            "PUT",
            "http://10.0.0.152:6333/collections/c",
            Some("{\"vectors\":{}}"),
            true,
            Bounds::default(),
        );
        insta::assert_snapshot!(cmd.to_string(), @r#"curl -sS --connect-timeout 2 --max-time 5 -w '\nphoenix-http-status:%{http_code}\n' -X PUT -H 'Content-Type: application/json' --data-binary @- http://10.0.0.152:6333/collections/c  # with 14 byte(s) on stdin"#);
        assert_eq!(
            get_argv("http://10.0.0.151:8000/health", Bounds::default())
                .last()
                .map(String::as_str),
            Some("http://10.0.0.151:8000/health")
        );
    }
    #[test]
    fn issue_12_a_secret_header_rides_curls_config_on_a_sensitive_stdin() {
        for (text, quoted) in [
            ("api-key: k3y", r#""api-key: k3y""#),
            (r#"{"a":"x\y"}"#, r#""{\"a\":\"x\\y\"}""#),
            ("a\tb\nc\r", r#""a\tb\nc\r""#),
        ] {
            assert_eq!(config_quote(text), quoted, "{text}");
        }
        let secret = Content::sensitive("api-key: cnry-secret");
        let cmd = send_with_secret_header(
            "PUT",
            "http://10.0.0.152:6333/collections/c",
            &secret,
            Some("{}"),
            true,
            Bounds::default(),
        );
        assert!(cmd.argv().iter().all(|a| !a.contains("cnry")), "{cmd}");
        assert!(
            cmd.argv().windows(2).any(|w| w == ["--config", "-"]),
            "{cmd}"
        );
        assert!(!format!("{cmd} {cmd:?}").contains("cnry"));
        assert_eq!(
            cmd.stdin_text().expect("kept").unwrap_or_default(),
            "header = \"api-key: cnry-secret\"\nheader = \"Content-Type: application/json\"\ndata-binary = \"{}\"\n"
        );
    }
}
