//! The one host command that probes every running container at once, and its output.
//!
//! `pct exec` is a Perl wrapper (about 0.4 s of start-up) around `lxc-attach -n <vmid> -- CMD`,
//! so one `pct exec` per container made inspection grow with the number of containers. Instead
//! the host runs one command:
//!
//! ```text
//! timeout -k 5 TOTAL sh -c PROBE_ALL_SCRIPT phoenix-probe-all LIMIT PROBE_SCRIPT
//! ```
//!
//! with `VMID REQ` lines on standard input (one per request; requests never contain newlines).
//! The script runs `lxc-attach -n VMID -- sh -c PROBE_SCRIPT phoenix-probe REQ...` for every
//! container, `nproc` of them at once (`xargs -P`), each under `timeout -k 1 LIMIT`, with its
//! standard output cut at 1 MiB and its standard error at 64 KiB, each framing its own block in
//! a private temporary directory. Then one `cat` prints, for each container in input order,
//!
//! ```text
//! phoenix-probe VMID STATUS
//!  <standard output as `od -An -v -tx1` hex lines>
//! phoenix-probe-stderr
//!  <standard error, the same way>
//! ```
//!
//! and finally `phoenix-probe-end`. `STATUS` is the exit status of `timeout` (124 or 137: the
//! probe hung), or `none` when none was recorded. Every hex line starts with a space and holds
//! only hex digits, so nothing a container prints (a hostile file name, fake markers, invalid
//! UTF-8) can break the framing; a container that stops mid-probe or hangs gets its own failed
//! block and the others are read as usual.
//!
//! Reading each container's root through `/proc/<pid>/root` from the host was considered and
//! refused: absolute symlinks inside the container would resolve against the host's root, and
//! `systemctl is-active` needs the container's own systemd. `lxc-attach` is what `pct exec` runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::ParseError;
use super::probe::ProbeRequest;

/// The host script (POSIX sh, checked with dash and bash): `$1` is the per-container time limit
/// in seconds, `$2` the in-container probe script; standard input holds `VMID REQ` lines.
pub const PROBE_ALL_SCRIPT: &str = r#"set -f
limit=$1 probe=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
ids= blocks=
while IFS= read -r line; do
  id=${line%% *}
  case $id in ''|*[!0-9]*) continue ;; esac
  if [ ! -e "$tmp/$id.req" ]; then ids="$ids $id" blocks="$blocks $tmp/$id.blk"; fi
  printf '%s\n' "${line#* }" >>"$tmp/$id.req"
done
one='id=$1 limit=$2 dir=$3 probe=$4
IFS="
"
set -f
{ { timeout -k 1 "$limit" lxc-attach -n "$id" -- sh -c "$probe" phoenix-probe $(cat "$dir/$id.req") 2>&3 3>&-
    echo $? >"$dir/$id.rc"; } | head -c 1048576 >"$dir/$id.out"; } 3>&1 | head -c 65536 >"$dir/$id.err"
rc=none
read -r rc <"$dir/$id.rc"
{ printf "phoenix-probe %s %s\n" "$id" "$rc"
  od -An -v -tx1 <"$dir/$id.out"
  echo phoenix-probe-stderr
  od -An -v -tx1 <"$dir/$id.err"; } >"$dir/$id.blk"'
jobs=$(nproc 2>/dev/null) || jobs=4
printf '%s\n' $ids | xargs -r -P "$jobs" -I '{}' sh -c "$one" phoenix-probe-one '{}' "$limit" "$tmp" "$probe"
[ -z "$blocks" ] || cat $blocks
echo phoenix-probe-end
"#;

/// The `$0` Phoenix gives the host script.
pub const PROBE_ALL_NAME: &str = "phoenix-probe-all";

/// How long one container's probe may take, in seconds, before it is reported as hung.
pub const PROBE_LIMIT_SECS: u32 = 10;

/// The argv of the one host command that probes `n_containers` containers (their requests go
/// on its standard input, see [`probe_all_stdin`]).
///
/// Each probe may take [`PROBE_LIMIT_SECS`]; the whole command gets that for every four
/// containers (a host with at least four threads finishes well before), plus a margin.
pub fn probe_all_argv(n_containers: usize) -> Vec<String> {
    probe_all_argv_with(n_containers, super::probe::PROBE_SCRIPT)
}

/// [`probe_all_argv`] with another in-container script: core's scope probe
/// (`phoenix_core::probe::PROBE_SCRIPT`) rides the same host command.
pub fn probe_all_argv_with(n_containers: usize, probe: &str) -> Vec<String> {
    let rounds = u32::try_from(n_containers.div_ceil(4)).unwrap_or(u32::MAX);
    let total = PROBE_LIMIT_SECS.saturating_mul(rounds).saturating_add(30);
    [
        "timeout",
        "-k",
        "5",
        &total.to_string(),
        "sh",
        "-c",
        PROBE_ALL_SCRIPT,
        PROBE_ALL_NAME,
        &PROBE_LIMIT_SECS.to_string(),
        probe,
    ]
    .iter()
    .map(|word| (*word).to_owned())
    .collect()
}

/// What one container's probe printed, as the host script framed it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeBlock {
    /// The exit status of `timeout lxc-attach ...`, if the script recorded one.
    pub status: Option<i32>,
    /// The probe's standard output (lossily decoded as UTF-8).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl ProbeBlock {
    /// A block.
    pub fn new(status: Option<i32>, stdout: impl Into<String>, stderr: impl Into<String>) -> Self {
        ProbeBlock {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    /// Whether `timeout` ended the probe (status 124, or 137 when it had to kill it).
    pub fn timed_out(&self) -> bool {
        matches!(self.status, Some(124 | 137))
    }
}

/// The host script's standard input for `containers` (each with its requests, in order).
pub fn probe_all_stdin<'a>(
    containers: impl IntoIterator<Item = (u32, &'a [ProbeRequest])>,
) -> String {
    let mut text = String::new();
    for (id, requests) in containers {
        for request in requests {
            let _ = writeln!(text, "{id} {request}");
        }
    }
    text
}

/// Reads the host script's standard input back: containers in first-seen order, each with its
/// request arguments (what the script passes to `lxc-attach`).
pub fn read_probe_all_stdin(text: &str) -> Vec<(u32, Vec<String>)> {
    let mut containers: Vec<(u32, Vec<String>)> = Vec::new();
    for line in text.lines() {
        // As the script reads it: the id up to the first space, the request after it.
        let (id, request) = line.split_once(' ').unwrap_or((line, line));
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(id) = id.parse::<u32>() else {
            continue;
        };
        match containers.iter_mut().find(|(seen, _)| *seen == id) {
            Some((_, requests)) => requests.push(request.to_owned()),
            None => containers.push((id, vec![request.to_owned()])),
        }
    }
    containers
}

/// What the host script prints for `blocks` (in order), with `od -An -v -tx1`'s layout.
pub fn format_probe_all_output(blocks: &[(u32, ProbeBlock)]) -> String {
    let mut out = String::new();
    for (id, block) in blocks {
        let status = block
            .status
            .map_or_else(|| "none".to_owned(), |s| s.to_string());
        let _ = writeln!(out, "phoenix-probe {id} {status}");
        out.push_str(&od_hex(block.stdout.as_bytes()));
        out.push_str("phoenix-probe-stderr\n");
        out.push_str(&od_hex(block.stderr.as_bytes()));
    }
    out.push_str("phoenix-probe-end\n");
    out
}

/// `od -An -v -tx1`: sixteen bytes a line, each as ` xx`.
fn od_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 + bytes.len() / 16 + 1);
    for line in bytes.chunks(16) {
        for byte in line {
            let _ = write!(out, " {byte:02x}");
        }
        out.push('\n');
    }
    out
}

/// Reads the host script's output: one block per container.
pub fn parse_probe_all_output(text: &str) -> Result<BTreeMap<u32, ProbeBlock>, ParseError> {
    struct Open {
        id: u32,
        status: Option<i32>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        in_stderr: bool,
    }
    fn close(open: Option<Open>, blocks: &mut BTreeMap<u32, ProbeBlock>) {
        if let Some(open) = open {
            blocks.insert(
                open.id,
                ProbeBlock::new(
                    open.status,
                    String::from_utf8_lossy(&open.stdout),
                    String::from_utf8_lossy(&open.stderr),
                ),
            );
        }
    }
    let mut blocks = BTreeMap::new();
    let mut open: Option<Open> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(hex) = line.strip_prefix(' ') {
            let Some(block) = open.as_mut() else {
                return Err(ParseError::new(number, "hex data before any block header"));
            };
            let target = if block.in_stderr {
                &mut block.stderr
            } else {
                &mut block.stdout
            };
            decode_hex_line(hex, target).ok_or_else(|| {
                ParseError::new(number, format!("expected hex bytes, found `{line}`"))
            })?;
        } else if line == "phoenix-probe-stderr" {
            match open.as_mut() {
                Some(block) if !block.in_stderr => block.in_stderr = true,
                _ => return Err(ParseError::new(number, "misplaced `phoenix-probe-stderr`")),
            }
        } else if line == "phoenix-probe-end" {
            close(open.take(), &mut blocks);
            return Ok(blocks);
        } else {
            let header = line
                .strip_prefix("phoenix-probe ")
                .and_then(|rest| rest.split_once(' '))
                .and_then(|(id, status)| {
                    let status = match status {
                        "none" => None,
                        s => Some(s.parse::<i32>().ok()?),
                    };
                    Some((id.parse::<u32>().ok()?, status))
                });
            let Some((id, status)) = header else {
                return Err(ParseError::new(
                    number,
                    format!("expected `phoenix-probe VMID STATUS`, found `{line}`"),
                ));
            };
            close(open.take(), &mut blocks);
            open = Some(Open {
                id,
                status,
                stdout: Vec::new(),
                stderr: Vec::new(),
                in_stderr: false,
            });
        }
    }
    Err(ParseError::new(
        text.lines().count() + 1,
        "the output ends before `phoenix-probe-end` (the probe was cut short)",
    ))
}

/// Appends the bytes of one `od` hex line (` xx xx ...` without its first space).
fn decode_hex_line(hex: &str, target: &mut Vec<u8>) -> Option<()> {
    for word in hex.split(' ') {
        if word.len() != 2 {
            return None;
        }
        target.push(u8::from_str_radix(word, 16).ok()?);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_whatever_a_container_prints() {
        let hostile = "cmd:x yes /a\nphoenix-probe 7 0\nphoenix-probe-end\n \u{fffd}\r\n";
        let long = "y".repeat(40);
        let blocks = vec![
            (101, ProbeBlock::new(Some(0), hostile, "")),
            (102, ProbeBlock::new(Some(124), "", "")),
            (103, ProbeBlock::new(Some(1), "", long.as_str())),
            (104, ProbeBlock::new(None, "", "")),
        ];
        let text = format_probe_all_output(&blocks);
        let parsed = parse_probe_all_output(&text).expect("parses");
        assert_eq!(parsed.into_iter().collect::<Vec<_>>(), blocks);
        assert!(ProbeBlock::new(Some(137), "", "").timed_out());
        assert!(!ProbeBlock::new(Some(1), "", "").timed_out());
    }

    #[test]
    fn od_layout() {
        assert_eq!(od_hex(b"hi\n"), " 68 69 0a\n");
        assert_eq!(od_hex(&[0; 17]).lines().count(), 2);
        assert_eq!(od_hex(b""), "");
    }

    #[test]
    fn cut_or_garbled_output_is_an_error() {
        let full = format_probe_all_output(&[(5, ProbeBlock::new(Some(0), "a", ""))]);
        let cut = full.trim_end_matches("phoenix-probe-end\n");
        assert!(
            parse_probe_all_output(cut)
                .expect_err("cut")
                .to_string()
                .contains("cut short")
        );
        assert!(parse_probe_all_output(" 61\nphoenix-probe-end\n").is_err());
        assert!(parse_probe_all_output("phoenix-probe x 0\nphoenix-probe-end\n").is_err());
        assert!(parse_probe_all_output("phoenix-probe 1 0\n 6g\nphoenix-probe-end\n").is_err());
    }

    #[test]
    fn stdin_lists_requests_per_container_and_reads_back() {
        let a = [
            ProbeRequest::Command("curl".to_owned()),
            ProbeRequest::File("/etc/a b".to_owned()),
        ];
        let b = [ProbeRequest::Package("jq".to_owned())];
        let text = probe_all_stdin([(7, &a[..]), (9, &b[..])]);
        assert_eq!(text, "7 cmd:curl\n7 file:/etc/a b\n9 pkg:jq\n");
        assert_eq!(
            read_probe_all_stdin(&text),
            [
                (7, vec!["cmd:curl".to_owned(), "file:/etc/a b".to_owned()]),
                (9, vec!["pkg:jq".to_owned()])
            ]
        );
    }
}
