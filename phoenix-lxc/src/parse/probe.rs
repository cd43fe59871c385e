//! Phoenix's in-container probe: the script, its arguments, its output, and its emulation.
//!
//! All probes of one container run in one `pct exec <vmid> -- sh -c PROBE_SCRIPT phoenix-probe
//! REQ...`. Each `REQ` is `cmd:NAME` (is NAME a command? `command -v`), `pkg:NAME` (is the Debian
//! package installed? `dpkg-query`), `file:PATH` (does PATH exist, and what is its SHA-256?) or
//! `svc:UNIT` (is the systemd unit active?). The script prints exactly one line per request,
//! `REQ yes|no[ DETAIL]`, and exits 0:
//!
//! - `cmd:NAME yes PATH` (`command -v` output: a path, or the name of a shell builtin), or
//!   `cmd:NAME no`;
//! - `pkg:NAME yes VERSION` when dpkg's status is `installed`, else `pkg:NAME no`;
//! - `file:PATH yes SHA256` for a readable regular file, `file:PATH yes` for anything else that
//!   exists (a directory), `file:PATH no`;
//! - `svc:UNIT yes` when `systemctl is-active` says `active`, else `svc:UNIT no STATE` (the state
//!   it printed, or `unknown` when it printed nothing).
//!
//! DETAIL never contains a space and is never `yes` or `no`, so a line is read from the right
//! even when the request itself contains spaces. Requests must not contain newlines.
//!
//! The simulated node recognises the script by its exact text and answers from the container's
//! state through [`emulate_probe`], so the protocol lives in this one file, both ways. A test
//! runs the script for real with `LocalHost` and compares it with the emulation.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use super::ParseError;

/// The probe script (POSIX sh, checked with dash and bash). Its arguments are the requests.
pub const PROBE_SCRIPT: &str = r#"nl='
'
for req in "$@"; do
  name=${req#*:}
  case $req in
  cmd:*)
    if found=$(command -v "$name" 2>/dev/null) && [ -n "$found" ]; then
      printf '%s yes %s\n' "$req" "$found"
    else
      printf '%s no\n' "$req"
    fi ;;
  pkg:*)
    found=$(dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$name" 2>/dev/null)
    found=${found%%"$nl"*}
    case $found in
    'installed '?*) printf '%s yes %s\n' "$req" "${found#installed }" ;;
    *) printf '%s no\n' "$req" ;;
    esac ;;
  file:*)
    if [ -f "$name" ] && found=$(sha256sum < "$name" 2>/dev/null); then
      printf '%s yes %s\n' "$req" "${found%% *}"
    elif [ -e "$name" ]; then
      printf '%s yes\n' "$req"
    else
      printf '%s no\n' "$req"
    fi ;;
  svc:*)
    found=$(systemctl is-active "$name" 2>/dev/null)
    found=${found%%"$nl"*}
    if [ "$found" = active ]; then
      printf '%s yes\n' "$req"
    else
      printf '%s no %s\n' "$req" "${found:-unknown}"
    fi ;;
  *) printf '%s no unsupported\n' "$req" ;;
  esac
done
exit 0
"#;

/// The `$0` Phoenix gives the probe script (`sh -c SCRIPT phoenix-probe REQ...`).
pub const PROBE_NAME: &str = "phoenix-probe";

/// One question about a running container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum ProbeRequest {
    /// `cmd:NAME`: is NAME a command (`command -v`)?
    Command(String),
    /// `pkg:NAME`: is the Debian package installed?
    Package(String),
    /// `file:PATH`: does PATH exist, and what is its SHA-256?
    File(String),
    /// `svc:UNIT`: is the systemd unit active?
    Service(String),
}

impl ProbeRequest {
    /// Reads one request argument (`cmd:curl`, `file:/etc/default/locale`, ...).
    pub fn parse(arg: &str) -> Option<ProbeRequest> {
        let (kind, name) = arg.split_once(':')?;
        let name = name.to_owned();
        match kind {
            "cmd" => Some(ProbeRequest::Command(name)),
            "pkg" => Some(ProbeRequest::Package(name)),
            "file" => Some(ProbeRequest::File(name)),
            "svc" => Some(ProbeRequest::Service(name)),
            _ => None,
        }
    }
}

impl fmt::Display for ProbeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeRequest::Command(name) => write!(f, "cmd:{name}"),
            ProbeRequest::Package(name) => write!(f, "pkg:{name}"),
            ProbeRequest::File(path) => write!(f, "file:{path}"),
            ProbeRequest::Service(unit) => write!(f, "svc:{unit}"),
        }
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProbeAnswer {
    /// `yes` or `no`.
    pub yes: bool,
    /// The command's path, the package's version, the file's SHA-256, or the unit's state when
    /// it is not active.
    pub detail: Option<String>,
}

impl ProbeAnswer {
    /// An answer.
    pub fn new(yes: bool, detail: Option<String>) -> ProbeAnswer {
        ProbeAnswer { yes, detail }
    }

    /// Whether the answer is `yes`.
    pub fn is_yes(&self) -> bool {
        self.yes
    }

    /// The detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// The script's arguments for `requests`, in order.
pub fn probe_args(requests: &[ProbeRequest]) -> Vec<String> {
    requests.iter().map(ToString::to_string).collect()
}

/// Reads the probe's output: one answer per request line.
pub fn parse_probe_output(text: &str) -> Result<BTreeMap<ProbeRequest, ProbeAnswer>, ParseError> {
    let mut answers = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.is_empty() {
            continue;
        }
        let bad = || {
            ParseError::new(
                number,
                format!("expected `REQ yes|no[ DETAIL]`, found `{line}`"),
            )
        };
        let (rest, last) = line.rsplit_once(' ').ok_or_else(bad)?;
        let (request, answer) = match last {
            "yes" | "no" => (rest, ProbeAnswer::new(last == "yes", None)),
            detail => {
                let (request, word) = rest.rsplit_once(' ').ok_or_else(bad)?;
                match word {
                    "yes" | "no" => (
                        request,
                        ProbeAnswer::new(word == "yes", Some(detail.to_owned())),
                    ),
                    _ => return Err(bad()),
                }
            }
        };
        let request = ProbeRequest::parse(request)
            .ok_or_else(|| ParseError::new(number, format!("unknown probe request `{request}`")))?;
        answers.insert(request, answer);
    }
    Ok(answers)
}

/// The builtins and keywords of dash, for which `command -v NAME` prints NAME itself.
const DASH_BUILTINS: &[&str] = &[
    "!", ".", ":", "[", "alias", "bg", "break", "case", "cd", "chdir", "command", "continue", "do",
    "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg",
    "fi", "for", "getopts", "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd", "read",
    "readonly", "return", "set", "shift", "test", "then", "times", "trap", "true", "type",
    "ulimit", "umask", "unalias", "unset", "until", "wait", "while", "{", "}",
];

/// A file as the probe sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbedFile {
    /// A readable regular file with this content.
    Regular(String),
    /// Something else that exists (a directory).
    Other,
}

/// What the emulated probe needs to know about a container.
pub trait ProbeTarget {
    /// The path `command -v NAME` finds in `PATH` (an executable file), or for a NAME with a
    /// `/`, NAME itself when it is an executable file. Shell builtins are handled by the caller.
    fn command_path(&self, name: &str) -> Option<String>;
    /// The version of an installed package; `None` when it is not installed.
    fn package_version(&self, name: &str) -> Option<String>;
    /// The file at `path`, if it exists.
    fn file(&self, path: &str) -> Option<ProbedFile>;
    /// What `systemctl is-active UNIT` prints (`active`, `inactive`, `failed`, ...); `None` when
    /// the container has no `systemctl`.
    fn service_state(&self, unit: &str) -> Option<String>;
}

/// What [`PROBE_SCRIPT`] prints for `args` in a container described by `target`.
pub fn emulate_probe(args: &[String], target: &dyn ProbeTarget) -> String {
    let mut out = String::new();
    for arg in args {
        let name = arg.split_once(':').map_or(arg.as_str(), |(_, name)| name);
        let (yes, detail) = match ProbeRequest::parse(arg) {
            Some(ProbeRequest::Command(_)) => {
                let found = if DASH_BUILTINS.contains(&name) {
                    Some(name.to_owned())
                } else {
                    target.command_path(name)
                };
                (found.is_some(), found)
            }
            Some(ProbeRequest::Package(_)) => {
                let version = target.package_version(name).filter(|v| !v.is_empty());
                (version.is_some(), version)
            }
            Some(ProbeRequest::File(_)) => match target.file(name) {
                Some(ProbedFile::Regular(content)) => (true, Some(sha256_hex(&content))),
                Some(ProbedFile::Other) => (true, None),
                None => (false, None),
            },
            Some(ProbeRequest::Service(_)) => {
                let state = target.service_state(name).unwrap_or_default();
                let state = state.lines().next().unwrap_or_default().to_owned();
                if state == "active" {
                    (true, None)
                } else if state.is_empty() {
                    (false, Some("unknown".to_owned()))
                } else {
                    (false, Some(state))
                }
            }
            None => (false, Some("unsupported".to_owned())),
        };
        out.push_str(arg);
        out.push_str(if yes { " yes" } else { " no" });
        if let Some(detail) = detail {
            out.push(' ');
            out.push_str(&detail);
        }
        out.push('\n');
    }
    out
}

/// The SHA-256 of `content` in lowercase hex, as `sha256sum` prints it.
pub fn sha256_hex(content: &str) -> String {
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container with `sh`, the `bash` package and one file.
    struct Fixed;

    impl ProbeTarget for Fixed {
        fn command_path(&self, name: &str) -> Option<String> {
            (name == "sh").then(|| "/usr/bin/sh".to_owned())
        }
        fn package_version(&self, name: &str) -> Option<String> {
            (name == "bash").then(|| "5.2.21-2ubuntu4".to_owned())
        }
        fn file(&self, path: &str) -> Option<ProbedFile> {
            match path {
                "/etc/a b" => Some(ProbedFile::Regular("x\n".to_owned())),
                "/etc" => Some(ProbedFile::Other),
                _ => None,
            }
        }
        fn service_state(&self, unit: &str) -> Option<String> {
            Some(if unit == "ssh" { "active" } else { "inactive" }.to_owned())
        }
    }

    #[test]
    fn emulation_and_parsing_agree() {
        let requests = [
            ProbeRequest::Command("sh".to_owned()),
            ProbeRequest::Command("cd".to_owned()),
            ProbeRequest::Command("curl".to_owned()),
            ProbeRequest::Package("bash".to_owned()),
            ProbeRequest::Package("jq".to_owned()),
            ProbeRequest::File("/etc/a b".to_owned()),
            ProbeRequest::File("/etc".to_owned()),
            ProbeRequest::File("/nope".to_owned()),
            ProbeRequest::Service("ssh".to_owned()),
            ProbeRequest::Service("nginx".to_owned()),
        ];
        let text = emulate_probe(&probe_args(&requests), &Fixed);
        let expected = format!(
            "cmd:sh yes /usr/bin/sh\ncmd:cd yes cd\ncmd:curl no\npkg:bash yes 5.2.21-2ubuntu4\n\
             pkg:jq no\nfile:/etc/a b yes {}\nfile:/etc yes\nfile:/nope no\nsvc:ssh yes\n\
             svc:nginx no inactive\n",
            sha256_hex("x\n")
        );
        assert_eq!(text, expected);
        let answers = parse_probe_output(&text).expect("valid");
        assert_eq!(answers.len(), requests.len());
        assert_eq!(
            answers[&ProbeRequest::Command("sh".to_owned())].detail(),
            Some("/usr/bin/sh")
        );
        assert!(answers[&ProbeRequest::File("/etc/a b".to_owned())].is_yes());
        assert!(!answers[&ProbeRequest::Service("nginx".to_owned())].is_yes());
        assert_eq!(
            answers[&ProbeRequest::Service("nginx".to_owned())].detail(),
            Some("inactive")
        );
    }

    #[test]
    fn requests_that_look_like_answers() {
        let answers = parse_probe_output("cmd:yes yes /usr/bin/yes\nfile:/a no no\n").expect("ok");
        assert_eq!(
            answers[&ProbeRequest::Command("yes".to_owned())].detail(),
            Some("/usr/bin/yes")
        );
        assert!(!answers[&ProbeRequest::File("/a no".to_owned())].is_yes());
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_probe_output("cmd:x maybe\n")
                .expect_err("status")
                .line,
            1
        );
        assert!(parse_probe_output("x:y yes\n").is_err());
        assert!(parse_probe_output("nothing\n").is_err());
        assert_eq!(parse_probe_output(""), Ok(BTreeMap::new()));
    }

    #[test]
    fn sha256() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
