//! The emulators every simulated node has: `cat`, `true` and `false`.
//!
//! Provider-free tools only; each provider crate emulates its own tools.

use super::emulator::{Emulator, SimOutput, SimSys};

/// The built-in emulators, registered before any provider's.
pub(crate) fn builtin_emulators() -> Vec<std::sync::Arc<dyn Emulator>> {
    vec![std::sync::Arc::new(Coreutils)]
}

/// GNU coreutils' `cat`, `true` and `false`.
#[derive(Debug)]
struct Coreutils;

impl Emulator for Coreutils {
    fn programs(&self) -> Vec<String> {
        vec!["cat".to_owned(), "true".to_owned(), "false".to_owned()]
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
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
        let mut sys = SimSys::new(&mut files, &mut tools);
        let argv: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        let output = Coreutils.run(&argv, stdin, &mut sys);
        assert!(!sys.finish().changed);
        output
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
        assert_eq!(run(&["cat", "-", "--", "-"], Some("x")), SimOutput::ok("x"));
        assert_eq!(run(&["cat", "-n", "/etc/hostname"], None).status, 1);
    }

    #[test]
    fn true_and_false() {
        assert_eq!(run(&["true", "--ignored"], None), SimOutput::ok(""));
        assert_eq!(run(&["false"], None), SimOutput::fail(1, ""));
    }
}
