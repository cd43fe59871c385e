//! The one writer of the scope probe's output format ([`crate::probe::PROBE_SCRIPT`]) for
//! emulators: the node's builtins and a guest emulator frame their answers the same way, each
//! supplying only where packages, units, paths and query answers come from.

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
    /// The exit status and the standard output and error (together) of the query command
    /// `argv`. By default every program is missing, as a shell reports it.
    fn query(&mut self, argv: &[String]) -> (i32, String) {
        let program = argv.first().map_or("", String::as_str);
        (127, format!("sh: 1: {program}: not found\n"))
    }
}

/// The probe's output for its tagged arguments (`crate::probe::probe_args`), asking `source`
/// about each package, unit, path and query. A list that is empty runs no tool, as the script
/// does.
pub fn probe_output(args: &[String], source: &mut dyn ProbeSource) -> String {
    let [packages, units, paths, queries] = crate::probe::split_probe_args(args);
    let mut stdout = String::from("@packages\n");
    let packages = split(&packages);
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
    let units = split(&units);
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
    for name in split(&paths) {
        stdout.push_str(&format!("@path {name}\n"));
        stdout.push_str(&source.stat(&name));
    }
    stdout.push_str("@queries\n");
    for line in split(&queries) {
        let mut fields = line.split('\t').filter(|field| !field.is_empty());
        let name = fields.next().unwrap_or_default().to_owned();
        let argv: Vec<String> = fields.map(str::to_owned).collect();
        let (status, output) = source.query(&argv);
        stdout.push_str(&format!(
            "@query {name} {status} {}\n{output}\n",
            output.len()
        ));
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

    fn args(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

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
        let out = probe_output(&args(&["f:/a", "f:/b"]), &mut Paths);
        assert_eq!(
            out,
            "@packages\n@units\n@paths\n@path /a\nregular file|600|root:root|2\nx\n@path /b\nmissing\n@queries\n"
        );
    }

    #[test]
    fn issue_9_queries_are_framed_by_their_byte_count() {
        let out = probe_output(&args(&["q:ex\texportfs\t-v", "q:gone\tnosuch"]), &mut Paths);
        assert_eq!(
            out,
            "@packages\n@units\n@paths\n@queries\n@query ex 127 27\nsh: 1: exportfs: not found\n\n@query gone 127 25\nsh: 1: nosuch: not found\n\n"
        );
        let facts = crate::probe::parse_probe(&out).expect("parses");
        assert_eq!(facts.queries["ex"].output, "sh: 1: exportfs: not found\n");
    }
}
