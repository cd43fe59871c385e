//! The emulators every simulated node has: `cat`, `tee`, `true` and `false`.
//!
//! Provider-free tools only; each provider crate emulates its own tools.

use super::emulator::{Emulator, SimOutput, SimSys};
use super::state::SimFile;

/// The built-in emulators, registered before any provider's.
pub(crate) fn builtin_emulators() -> Vec<std::sync::Arc<dyn Emulator>> {
    vec![
        std::sync::Arc::new(Coreutils),
        std::sync::Arc::new(super::system::System),
        std::sync::Arc::new(super::users::Accounts),
        std::sync::Arc::new(super::timedate::TimeTools),
    ]
}

/// GNU coreutils' `cat`, `tee`, `true` and `false`.
#[derive(Debug)]
struct Coreutils;

impl Emulator for Coreutils {
    fn programs(&self) -> Vec<String> {
        vec![
            "cat".to_owned(),
            "tee".to_owned(),
            "test".to_owned(),
            "mkdir".to_owned(),
            "true".to_owned(),
            "false".to_owned(),
        ]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let Some((program, args)) = argv.split_first() else {
            return SimOutput::fail(
                127,
                "phoenix sim: the coreutils emulator got an empty argv\n",
            );
        };
        match program.as_str() {
            "cat" => cat(args, stdin, sys),
            "tee" => tee(args, stdin, sys),
            "test" => test(args, sys),
            "mkdir" => mkdir(args, sys),
            "true" => SimOutput::ok(""),
            "false" => SimOutput::fail(1, ""),
            _ => SimOutput::fail(
                127,
                "phoenix sim: the coreutils emulator got an argv it does not claim\n",
            ),
        }
    }
}

/// `cat FILE...`: files in order, `-` (or no operand) for standard input.
///
/// Like GNU cat it goes on after a missing file or a directory and then exits 1. Its options
/// (`-n`, `-A`, ...) are not emulated: rather than print something the real tool would not, the
/// command fails and says so.
fn cat(args: &[String], stdin: Option<&str>, sys: &SimSys<'_>) -> SimOutput {
    let mut operands: Vec<&str> = Vec::new();
    let mut options_done = false;
    for arg in args {
        if !options_done && arg == "--" {
            options_done = true;
        } else if !options_done && arg.len() > 1 && arg.starts_with('-') {
            return SimOutput::fail(1, format!("phoenix sim: `cat {arg}` is not emulated\n"));
        } else {
            operands.push(arg);
        }
    }
    if operands.is_empty() {
        operands.push("-");
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut stdin = stdin;
    for operand in operands {
        if operand == "-" {
            // Standard input is consumed by the first `-`, as with a real pipe.
            stdout.push_str(stdin.take().unwrap_or_default());
        } else if let Some(file) = sys.read(operand) {
            stdout.push_str(&file.content);
        } else if sys.is_dir(operand) {
            stderr.push_str(&format!("cat: {operand}: Is a directory\n"));
        } else {
            stderr.push_str(&format!("cat: {operand}: No such file or directory\n"));
        }
    }
    let status = if stderr.is_empty() { 0 } else { 1 };
    SimOutput::new(status, stdout, stderr, false)
}

/// `tee [-a] FILE...`: copies standard input to each file and to standard output.
///
/// Like GNU tee, a file whose directory does not exist (such as a kernel parameter of a module
/// that is not loaded) is reported, the others are still written, and the status is 1. An
/// existing file keeps its mode and owner; a new one is 0644 root:root. The command counts as a
/// change only when some file's content changed. Other options are not emulated.
fn tee(args: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
    let mut append = false;
    let mut files: Vec<&str> = Vec::new();
    let mut options_done = false;
    for arg in args {
        if !options_done && arg == "--" {
            options_done = true;
        } else if !options_done && (arg == "-a" || arg == "--append") {
            append = true;
        } else if !options_done && arg.len() > 1 && arg.starts_with('-') {
            return SimOutput::fail(1, format!("phoenix sim: `tee {arg}` is not emulated\n"));
        } else {
            files.push(arg);
        }
    }
    let input = stdin.unwrap_or_default();
    let mut stderr = String::new();
    let mut changed = false;
    for file in files {
        let parent = match file.rfind('/') {
            Some(0) => "/",
            Some(at) => &file[..at],
            None => "/",
        };
        if sys.is_dir(file) {
            stderr.push_str(&format!("tee: {file}: Is a directory\n"));
            continue;
        }
        let existing = sys.read(file).cloned();
        if existing.is_none() && !sys.is_dir(parent) {
            stderr.push_str(&format!("tee: {file}: No such file or directory\n"));
            continue;
        }
        let next = match existing {
            Some(old) => {
                let content = if append {
                    format!("{}{input}", old.content)
                } else {
                    input.to_owned()
                };
                SimFile::new(content, old.mode, old.owner)
            }
            None => SimFile::text(input),
        };
        if sys.read(file) != Some(&next) {
            sys.write(file, next);
            changed = true;
        }
    }
    let status = if stderr.is_empty() { 0 } else { 1 };
    SimOutput::new(status, input, stderr, changed)
}

/// `mkdir -p [--] DIR...`: refuses a path that is a file (coreutils' text and status), and records
/// each directory it makes (parents included) in the node's `dirs` namespace, so an empty
/// directory exists too.
fn mkdir(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    let Some((flag, dirs)) = args.split_first() else {
        return SimOutput::fail(1, "mkdir: missing operand\n");
    };
    if flag != "-p" || dirs.is_empty() {
        return SimOutput::fail(
            2,
            format!("phoenix sim: `mkdir {}` is not emulated\n", args.join(" ")),
        );
    }
    for dir in dirs.iter().filter(|d| *d != "--") {
        if sys.read(dir).is_some() {
            return SimOutput::fail(
                1,
                format!("mkdir: cannot create directory '{dir}': File exists\n"),
            );
        }
    }
    let mut made = false;
    for dir in dirs.iter().filter(|d| *d != "--") {
        made |= super::system::record_directories(dir, sys);
    }
    if made {
        SimOutput::ok_mutated("")
    } else {
        SimOutput::ok("")
    }
}

/// `test -e|-f|-d PATH`: exit 0 when true, 1 when false, 2 (with coreutils' message) otherwise.
fn test(args: &[String], sys: &mut SimSys<'_>) -> SimOutput {
    match args {
        [op, path] if matches!(op.as_str(), "-e" | "-f" | "-d") => {
            let is_dir = sys.is_dir(path);
            let is_file = sys.read(path).is_some();
            let yes = match op.as_str() {
                "-e" => is_dir || is_file,
                "-f" => is_file,
                _ => is_dir,
            };
            if yes {
                SimOutput::ok("")
            } else {
                SimOutput::fail(1, "")
            }
        }
        _ => SimOutput::fail(
            2,
            format!("phoenix sim: `test {}` is not emulated\n", args.join(" ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sim::cache::ToolCache;
    use crate::sim::state::SimFile;

    fn run(words: &[&str], stdin: Option<&str>) -> SimOutput {
        let mut files = BTreeMap::from([
            ("/etc/hostname".to_owned(), SimFile::text("pve\n")),
            (
                "/etc/pve/storage.cfg".to_owned(),
                SimFile::text("dir: local\n"),
            ),
        ]);
        let mut tools = BTreeMap::new();
        let mut cache = ToolCache::default();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let argv: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        let output = Coreutils.run(&argv, stdin, &mut sys);
        assert_eq!(sys.finish().changed, output.mutated);
        output
    }

    #[test]
    fn issue_9_mkdir_records_the_directories_it_makes_and_only_those() {
        let made = run(&["mkdir", "-p", "--", "/srv/a/b"], None);
        assert_eq!((made.status, made.mutated), (0, true));
        // /etc exists (a file lies under it): nothing to make.
        let existing = run(&["mkdir", "-p", "/etc"], None);
        assert_eq!((existing.status, existing.mutated), (0, false));
    }

    #[test]
    fn cat_prints_files_in_order() {
        let output = run(&["cat", "/etc/hostname", "/etc/pve/storage.cfg"], None);
        assert_eq!(output, SimOutput::ok("pve\ndir: local\n"));
    }

    #[test]
    fn cat_reports_missing_files_and_directories_like_gnu_cat() {
        let output = run(&["cat", "/nope", "/etc/hostname", "/etc/pve"], None);
        assert_eq!(
            output,
            SimOutput::new(
                1,
                "pve\n",
                "cat: /nope: No such file or directory\ncat: /etc/pve: Is a directory\n",
                false
            )
        );
    }

    #[test]
    fn cat_reads_stdin_once() {
        assert_eq!(run(&["cat"], Some("hello\n")), SimOutput::ok("hello\n"));
        assert_eq!(run(&["test", "-f", "/etc/hostname"], None).status, 0);
        assert_eq!(run(&["test", "-f", "/etc/nope"], None).status, 1);
        assert_eq!(run(&["test", "-d", "/etc"], None).status, 0);
        assert_eq!(run(&["mkdir", "-p", "/srv/a/b"], None).status, 0);
        assert_eq!(run(&["mkdir", "-p", "/etc/hostname"], None).status, 1);
        assert_eq!(run(&["cat", "-", "--", "-"], Some("x")), SimOutput::ok("x"));
        assert_eq!(run(&["cat", "-n", "/etc/hostname"], None).status, 1);
    }

    #[test]
    fn tee_writes_files_echoes_stdin_and_reports_change_only_when_content_changes() {
        let mut files = BTreeMap::from([(
            "/sys/kernel/example/param".to_owned(),
            SimFile::new("0\n", 0o600, "root:root"),
        )]);
        let mut tools = BTreeMap::new();
        let mut cache = ToolCache::default();
        let argv: Vec<String> = ["tee", "/sys/kernel/example/param"]
            .iter()
            .map(|word| (*word).to_owned())
            .collect();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let output = Coreutils.run(&argv, Some("42\n"), &mut sys);
        assert_eq!(output, SimOutput::new(0, "42\n", "", true));
        assert!(sys.finish().changed);
        assert_eq!(
            files["/sys/kernel/example/param"],
            SimFile::new("42\n", 0o600, "root:root")
        );

        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let again = Coreutils.run(&argv, Some("42\n"), &mut sys);
        assert_eq!(again, SimOutput::new(0, "42\n", "", false));
        assert!(!sys.finish().changed);
    }

    #[test]
    fn tee_appends_and_reports_missing_directories_like_gnu_tee() {
        let mut files = BTreeMap::from([("/etc/motd".to_owned(), SimFile::text("a\n"))]);
        let mut tools = BTreeMap::new();
        let mut cache = ToolCache::default();
        let argv: Vec<String> = ["tee", "-a", "/etc/motd", "/nonexistent/dir/file"]
            .iter()
            .map(|word| (*word).to_owned())
            .collect();
        let mut sys = SimSys::new(&mut files, &mut tools, &mut cache);
        let output = Coreutils.run(&argv, Some("b\n"), &mut sys);
        assert_eq!(
            output,
            SimOutput::new(
                1,
                "b\n",
                "tee: /nonexistent/dir/file: No such file or directory\n",
                true
            )
        );
        assert!(sys.finish().changed);
        assert_eq!(files["/etc/motd"].content, "a\nb\n");
        assert!(!files.contains_key("/nonexistent/dir/file"));
    }

    #[test]
    fn true_and_false() {
        assert_eq!(run(&["true", "--ignored"], None), SimOutput::ok(""));
        assert_eq!(run(&["false"], None), SimOutput::fail(1, ""));
    }
}
