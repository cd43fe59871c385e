//! The time zone on a simulated node: `timedatectl set-timezone|show` (systemd 252's messages)
//! and `readlink [-e] PATH` for `/etc/localtime` and the installed zones.
//!
//! The zone in use is the `/etc/localtime` link target, kept in the node's `timedate` namespace;
//! a fresh node links to `/usr/share/zoneinfo/Etc/UTC`, as a Debian 12 install does, and
//! `timedatectl set-timezone` writes the relative link systemd writes
//! (`../usr/share/zoneinfo/ZONE`). The installed zones are those of Debian 12's tzdata
//! (`zones.txt`).

use serde::{Deserialize, Serialize};

use super::emulator::{Emulator, SimOutput, SimSys};
use super::path::normalize;
use crate::timezone::{ZONEINFO, zone_of_link};

const ZONES: &str = include_str!("zones.txt");

/// What a fresh Debian 12 node's `/etc/localtime` links to.
const DEFAULT_LINK: &str = "/usr/share/zoneinfo/Etc/UTC";

/// The `timedate` namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Timedate {
    /// The target of `/etc/localtime`; the default link when unset.
    #[serde(default)]
    localtime: Option<String>,
}

/// Whether `zone` is an installed zone.
fn installed(zone: &str) -> bool {
    ZONES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l == zone)
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct TimeTools;

impl Emulator for TimeTools {
    fn programs(&self) -> Vec<String> {
        vec!["timedatectl".to_owned(), "readlink".to_owned()]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let _ = stdin;
        let Some((program, args)) = argv.split_first() else {
            return SimOutput::fail(127, "phoenix sim: empty argv\n");
        };
        match program.as_str() {
            "timedatectl" => timedatectl(args, sys),
            "readlink" => readlink(args, sys),
            _ => SimOutput::fail(127, format!("sh: 1: {program}: not found\n")),
        }
    }
}

fn link(sys: &mut SimSys<'_>) -> String {
    let state: Timedate = sys.load("timedate");
    state.localtime.unwrap_or_else(|| DEFAULT_LINK.to_owned())
}

/// `timedatectl set-timezone ZONE` and `timedatectl show -p Timezone --value`.
fn timedatectl(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["set-timezone", zone] => {
            if !installed(zone) {
                return SimOutput::fail(
                    1,
                    format!(
                        "Failed to set time zone: Invalid or not installed time zone '{zone}'\n"
                    ),
                );
            }
            let target = format!("..{ZONEINFO}/{zone}");
            if link(sys) == target {
                return SimOutput::ok("");
            }
            sys.store(
                "timedate",
                &Timedate {
                    localtime: Some(target),
                },
            );
            SimOutput::ok_mutated("")
        }
        ["show", "-p", "Timezone", "--value"] => {
            let zone = zone_of_link(&link(sys)).unwrap_or_else(|| "UTC".to_owned());
            SimOutput::ok(format!("{zone}\n"))
        }
        _ => SimOutput::fail(
            1,
            format!(
                "phoenix sim: `timedatectl {}` is not emulated\n",
                args.join(" ")
            ),
        ),
    }
}

/// `readlink PATH` (the target of `/etc/localtime`, the only link on the node) and
/// `readlink -e PATH` (the canonical path of an existing file: an installed zone, a file or a
/// directory of the node). Anything else exits 1 without output, as for a path that is not a
/// link or does not exist.
fn readlink(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["/etc/localtime"] => SimOutput::ok(format!("{}\n", link(sys))),
        [_] => SimOutput::fail(1, ""),
        ["-e", path] => {
            let path = normalize(path);
            let exists = match path.strip_prefix(&format!("{ZONEINFO}/")) {
                Some(zone) => installed(zone),
                None => sys.read(&path).is_some() || super::system::is_directory(&path, sys),
            };
            if exists {
                SimOutput::ok(format!("{path}\n"))
            } else {
                SimOutput::fail(1, "")
            }
        }
        _ => SimOutput::fail(
            1,
            format!(
                "phoenix sim: `readlink {}` is not emulated\n",
                args.join(" ")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::SimNode;
    use crate::{Cmd, Host};

    #[tokio::test]
    async fn the_zone_is_a_link_that_timedatectl_sets() {
        let node =
            SimNode::new(Vec::new()).expect("the built-in emulators claim distinct programs");
        let run = |cmd: Cmd| {
            let node = &node;
            async move {
                let out = node.run(&cmd).await.expect("runs");
                (out.status, out.stdout, out.stderr)
            }
        };
        assert_eq!(
            run(Cmd::read("readlink", ["/etc/localtime"])).await.1,
            "/usr/share/zoneinfo/Etc/UTC\n"
        );
        assert_eq!(
            run(Cmd::read(
                "readlink",
                ["-e", "/usr/share/zoneinfo/America/New_York"]
            ))
            .await,
            (
                Some(0),
                "/usr/share/zoneinfo/America/New_York\n".into(),
                String::new()
            )
        );
        assert_eq!(
            run(Cmd::read(
                "readlink",
                ["-e", "/usr/share/zoneinfo/Mars/Olympus"]
            ))
            .await
            .0,
            Some(1)
        );
        assert_eq!(
            run(Cmd::write("timedatectl", ["set-timezone", "Mars/Olympus"])).await,
            (
                Some(1),
                String::new(),
                "Failed to set time zone: Invalid or not installed time zone 'Mars/Olympus'\n"
                    .into()
            )
        );
        assert_eq!(
            run(Cmd::write(
                "timedatectl",
                ["set-timezone", "America/New_York"]
            ))
            .await
            .0,
            Some(0)
        );
        assert_eq!(
            run(Cmd::read("readlink", ["/etc/localtime"])).await.1,
            "../usr/share/zoneinfo/America/New_York\n"
        );
        assert_eq!(
            run(Cmd::read(
                "timedatectl",
                ["show", "-p", "Timezone", "--value"]
            ))
            .await
            .1,
            "America/New_York\n"
        );
    }
}
