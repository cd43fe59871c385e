//! The one writer of the scope probe's output format ([`crate::probe::PROBE_SCRIPT`]) for
//! emulators: the node's builtins and a guest emulator frame their answers the same way, each
//! supplying only where packages, units and paths come from.

use crate::probe::{DPKG_FORMAT, UNIT_PROPERTIES};

/// What a probed path is, as the probe's `stat` line reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbedPath<'a> {
    /// Nothing at the path.
    Missing,
    /// A directory with its mode and `owner:group`.
    Directory {
        /// Permission bits.
        mode: u32,
        /// `owner:group`.
        owner: &'a str,
    },
    /// A regular file with its mode, `owner:group` and content.
    File {
        /// Permission bits.
        mode: u32,
        /// `owner:group`.
        owner: &'a str,
        /// The file's content.
        content: &'a str,
    },
}

/// Where an emulator finds what the probe asks about.
pub trait ProbeSource {
    /// The stdout of `dpkg-query` run with `argv`.
    fn dpkg_query(&mut self, argv: &[String]) -> String;
    /// The stdout of `systemctl` run with `argv`.
    fn systemctl(&mut self, argv: &[String]) -> String;
    /// The probe's `stat` line for `path` (see [`stat_line`]).
    fn stat(&mut self, path: &str) -> String;
}

/// The probe's output for its three newline-separated arguments, asking `source` about each
/// package, unit and path. A list that is empty runs no tool, as the script does.
pub fn probe_output([packages, units, paths]: [&str; 3], source: &mut dyn ProbeSource) -> String {
    let mut stdout = String::from("@packages\n");
    let packages = split(packages);
    if !packages.is_empty() {
        let mut argv = vec![
            "-W".to_owned(),
            format!("-f={DPKG_FORMAT}"),
            "--".to_owned(),
        ];
        argv.extend(packages);
        stdout.push_str(&source.dpkg_query(&argv));
    }
    stdout.push_str("@units\n");
    let units = split(units);
    if !units.is_empty() {
        let mut argv = vec![
            "show".to_owned(),
            "-p".to_owned(),
            UNIT_PROPERTIES.to_owned(),
            "--".to_owned(),
        ];
        argv.extend(units);
        stdout.push_str(&source.systemctl(&argv));
    }
    stdout.push_str("@paths\n");
    for name in split(paths) {
        stdout.push_str(&format!("@path {name}\n"));
        stdout.push_str(&source.stat(&name));
    }
    stdout
}

/// The probe's `stat -c '%F|%a|%U:%G|%s'` line for `probed` (and a regular file's content).
pub fn stat_line(probed: ProbedPath<'_>) -> String {
    match probed {
        ProbedPath::Missing => "missing\n".to_owned(),
        ProbedPath::Directory { mode, owner } => format!("directory|{mode:o}|{owner}|4096\n"),
        ProbedPath::File {
            mode,
            owner,
            content: "",
        } => format!("regular empty file|{mode:o}|{owner}|0\n"),
        ProbedPath::File {
            mode,
            owner,
            content,
        } => format!("regular file|{mode:o}|{owner}|{}\n{content}", content.len()),
    }
}

/// The non-empty lines of a newline-separated list.
fn split(list: &str) -> Vec<String> {
    list.split('\n')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Paths;

    impl ProbeSource for Paths {
        fn dpkg_query(&mut self, _argv: &[String]) -> String {
            unreachable!("no packages are asked about")
        }
        fn systemctl(&mut self, _argv: &[String]) -> String {
            unreachable!("no units are asked about")
        }
        fn stat(&mut self, path: &str) -> String {
            stat_line(if path == "/a" {
                ProbedPath::File {
                    mode: 0o600,
                    owner: "root:root",
                    content: "x\n",
                }
            } else {
                ProbedPath::Missing
            })
        }
    }

    #[test]
    fn empty_lists_run_no_tool_and_paths_are_framed() {
        let out = probe_output(["", "", "/a\n/b\n"], &mut Paths);
        assert_eq!(
            out,
            "@packages\n@units\n@paths\n@path /a\nregular file|600|root:root|2\nx\n@path /b\nmissing\n"
        );
    }
}
