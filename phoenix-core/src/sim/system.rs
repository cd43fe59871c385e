//! The emulator of the tools core's primitives drive on the node: the scope probe (`sh -c` with
//! [`crate::probe::PROBE_SCRIPT`], and no other script), `dpkg-query`, `apt-get`, `systemctl`,
//! `chmod`, `chown`, `mv` and `rm`.
//!
//! Directories the node knows explicitly (made by `mkdir -p`, or given a mode or owner) live in
//! its `dirs` namespace (path → mode and owner); any other path with files under it is a
//! directory `0755 root:root`, as before.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dpkg::{apt_get, dpkg_query};
use super::emulator::{Emulator, SimOutput, SimSys};
use super::path::normalize;
use super::probe_output::{ProbeSource, ProbedPath, probe_output, stat_line};
use super::systemd::systemctl;
use crate::probe::PROBE_SCRIPT;

/// The `dirs` namespace: explicit directories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Dirs {
    #[serde(default)]
    pub(crate) dirs: BTreeMap<String, Dir>,
}

/// An explicit directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Dir {
    pub(crate) mode: u32,
    pub(crate) owner: String,
}

impl Default for Dir {
    fn default() -> Dir {
        Dir {
            mode: 0o755,
            owner: "root:root".into(),
        }
    }
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct System;

impl Emulator for System {
    fn programs(&self) -> Vec<String> {
        [
            "sh",
            "dpkg-query",
            "apt-get",
            "systemctl",
            "chmod",
            "chown",
            "mv",
            "rm",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let _ = stdin;
        let Some((program, args)) = argv.split_first() else {
            return SimOutput::fail(127, "phoenix sim: empty argv\n");
        };
        match program.as_str() {
            "sh" => sh(args, sys),
            "dpkg-query" => dpkg_query(args, sys),
            "apt-get" => apt_get(args, sys),
            "systemctl" => systemctl(args, sys),
            "chmod" | "chown" => chmod_chown(program, args, sys),
            "mv" => mv(args, sys),
            "rm" => rm(args, sys),
            _ => SimOutput::fail(127, format!("sh: 1: {program}: not found\n")),
        }
    }
}

/// `sh -c PROBE_SCRIPT NAME ARG...`; any other script is not emulated.
fn sh(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    match args {
        [dash_c, script, _zero, args @ ..] if dash_c == "-c" && script == PROBE_SCRIPT => {
            SimOutput::ok(probe_output(args, &mut NodeProbe(sys)))
        }
        _ => SimOutput::fail(
            2,
            "phoenix sim: only the scope probe script is emulated by `sh`\n",
        ),
    }
}

/// The node's answers to the scope probe.
struct NodeProbe<'s, 'a>(&'s mut SimSys<'a>);

impl ProbeSource for NodeProbe<'_, '_> {
    fn dpkg_query(&mut self, argv: &[String]) -> String {
        dpkg_query(argv, self.0).stdout
    }
    fn systemctl(&mut self, argv: &[String]) -> String {
        systemctl(argv, self.0).stdout
    }
    fn stat(&mut self, path: &str) -> String {
        stat(path, self.0)
    }
    fn query(&mut self, argv: &[String]) -> (i32, String) {
        // A query is a read: what it changed is reported by the node as a write declared a read.
        let output = self.0.run_program(argv);
        (output.status, format!("{}{}", output.stdout, output.stderr))
    }
}

/// `stat -c '%F|%a|%U:%G|%s'` of `path` (and a regular file's content), or `missing`.
fn stat(path: &str, sys: &mut SimSys<'_>) -> String {
    let dirs: Dirs = sys.load("dirs");
    if let Some(file) = sys.read(path) {
        return stat_line(ProbedPath::File {
            mode: file.mode,
            owner: &file.owner,
            content: &file.content,
        });
    }
    let probed = match dirs.dirs.get(&normalize(path)) {
        Some(dir) => ProbedPath::Directory {
            mode: dir.mode,
            owner: &dir.owner,
        },
        None if sys.is_dir(path) => ProbedPath::Directory {
            mode: 0o755,
            owner: "root:root",
        },
        None => ProbedPath::Missing,
    };
    stat_line(probed)
}

/// Whether `path` is a directory, explicit or implied by files under it.
pub(crate) fn is_directory(path: &str, sys: &mut SimSys<'_>) -> bool {
    let dirs: Dirs = sys.load("dirs");
    dirs.dirs.contains_key(&normalize(path)) || sys.is_dir(path)
}

/// Records directories made by `mkdir -p`, parents included; existing ones are left alone.
/// Whether any was made.
pub(crate) fn record_directories(path: &str, sys: &mut SimSys<'_>) -> bool {
    let mut dirs: Dirs = sys.load("dirs");
    let mut current = normalize(path);
    let mut added = false;
    while current != "/" && !current.is_empty() {
        if !dirs.dirs.contains_key(&current) && !sys.is_dir(&current) {
            dirs.dirs.insert(current.clone(), Dir::default());
            added = true;
        }
        current = match current.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(i) => current[..i].to_owned(),
        };
    }
    if added {
        sys.store("dirs", &dirs);
    }
    added
}

/// `chmod MODE [--] PATH` and `chown USER:GROUP [--] PATH`.
fn chmod_chown(program: &str, args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let operands: Vec<&String> = args.iter().filter(|a| *a != "--").collect();
    let [value, path] = operands[..] else {
        return SimOutput::fail(
            1,
            format!(
                "phoenix sim: `{program} {}` is not emulated\n",
                args.join(" ")
            ),
        );
    };
    let mode = if program == "chmod" {
        match u32::from_str_radix(value, 8) {
            Ok(mode) if mode <= 0o7777 => Some(mode),
            _ => return SimOutput::fail(1, format!("chmod: invalid mode: '{value}'\n")),
        }
    } else {
        None
    };
    if let Some(mut file) = sys.read(path).cloned() {
        match mode {
            Some(mode) => file.mode = mode,
            None => file.owner = value.clone(),
        }
        sys.write(path, file);
        return SimOutput::ok_mutated("");
    }
    if !is_directory(path, sys) {
        return SimOutput::fail(
            1,
            format!("{program}: cannot access '{path}': No such file or directory\n"),
        );
    }
    let mut dirs: Dirs = sys.load("dirs");
    let dir = dirs.dirs.entry(normalize(path)).or_default();
    match mode {
        Some(mode) => dir.mode = mode,
        None => dir.owner = value.clone(),
    }
    sys.store("dirs", &dirs);
    SimOutput::ok_mutated("")
}

/// `mv -f [--] SOURCE DEST` of a file.
fn mv(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let operands: Vec<&String> = args.iter().filter(|a| *a != "--" && *a != "-f").collect();
    let [source, dest] = operands[..] else {
        return SimOutput::fail(
            1,
            format!("phoenix sim: `mv {}` is not emulated\n", args.join(" ")),
        );
    };
    match sys.remove(source) {
        Some(file) => {
            sys.write(dest, file);
            SimOutput::ok_mutated("")
        }
        None => SimOutput::fail(
            1,
            format!("mv: cannot stat '{source}': No such file or directory\n"),
        ),
    }
}

/// `rm -f [--] PATH...` of files.
fn rm(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    if args.first().map(String::as_str) != Some("-f") {
        return SimOutput::fail(
            1,
            format!("phoenix sim: `rm {}` is not emulated\n", args.join(" ")),
        );
    }
    for path in args.iter().skip(1).filter(|a| *a != "--") {
        sys.remove(path);
    }
    SimOutput::ok_mutated("")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::sim::cache::ToolCache;
    use crate::sim::capture_output;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures/host")
                .join(name),
        )
        .expect("the fixture exists")
    }

    /// Runs `argv` on a node with the packages and the nginx unit of the real sample host.
    fn run(argv: &[&str]) -> SimOutput {
        let mut files = BTreeMap::new();
        let mut tools = BTreeMap::from([
            (
                "dpkg".to_owned(),
                json!({"installed": {
                    "zfsutils-linux": "2.1.11-1+deb12u1", "lxc": "1:5.0.2-1+deb12u4",
                    "nfs-kernel-server": "1:2.6.2-4+deb12u1", "samba": "2:4.17.12+dfsg-0+deb12u4",
                    "nginx": "1.22.1-9+deb12u11", "apparmor": "3.0.8-3",
                    "openssh-server": "1:9.2p1-2+deb12u10", "util-linux": "2.38.1-5+deb12u3"
                }}),
            ),
            (
                "systemd".to_owned(),
                json!({"units": {"nginx.service": {"unit_file_state": "enabled", "active": true}}}),
            ),
        ]);
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
        System.run(&argv, None, &mut sys)
    }

    #[test]
    fn issue_9_dpkg_query_prints_what_the_real_one_printed() {
        let output = run(&[
            "dpkg-query",
            "-W",
            "-f=${Package} ${Version}\\n",
            "zfsutils-linux",
            "lxc",
            "nfs-kernel-server",
            "samba",
            "nginx",
            "apparmor",
            "openssh-server",
            "util-linux",
        ]);
        let real = fixture("dpkg-versions.txt");
        assert_eq!(Some(output.stdout.as_str()), capture_output(&real));
        assert_eq!(output.status, 0);
        let missing = run(&["dpkg-query", "-W", "nginx", "nosuch"]);
        assert_eq!(
            (missing.status, missing.stderr.as_str()),
            (1, "dpkg-query: no packages found matching nosuch\n")
        );
    }

    #[test]
    fn issue_9_systemctl_show_prints_what_the_real_one_printed() {
        let output = run(&[
            "systemctl",
            "show",
            "nginx",
            "-p",
            "ActiveState,SubState,UnitFileState,LoadState,FragmentPath",
        ]);
        let real = fixture("systemctl-show.txt");
        assert_eq!(Some(output.stdout.as_str()), capture_output(&real));
    }
}
