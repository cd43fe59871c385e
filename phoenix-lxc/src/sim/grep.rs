//! The `grep` emulator, for the one form Phoenix uses to read every container config at once:
//! `grep -H '' -- FILE...` (GNU grep 3.x).
//!
//! Every line of every file is printed as `FILE:LINE` (`crate::parse::format_grep_lines`), in
//! the order the files were named. A missing file prints `grep: FILE: No such file or directory`
//! on stderr and a directory `grep: FILE: Is a directory`; the others are still printed. The
//! status is 2 after any such error, else 0 when some line was printed, else 1. Any other form
//! of `grep` is not emulated.

use std::time::Duration;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};

use super::args::Failure;
use crate::parse::format_grep_lines;

/// Emulates `grep -H '' -- FILE...` over the node's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct GrepEmulator;

impl Emulator for GrepEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["grep".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let files = match argv {
            [_, h, pattern, dashes, files @ ..]
                if h == "-H" && pattern.is_empty() && dashes == "--" =>
            {
                files
            }
            _ => return Failure::not_emulated(argv).into_output(),
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        for path in files {
            if let Some(file) = sys.read(path) {
                stdout.push_str(&format_grep_lines(&[(path, &file.content)]));
            } else if sys.is_dir(path) {
                stderr.push_str(&format!("grep: {path}: Is a directory\n"));
            } else {
                stderr.push_str(&format!("grep: {path}: No such file or directory\n"));
            }
        }
        let status = if !stderr.is_empty() {
            2
        } else if stdout.is_empty() {
            1
        } else {
            0
        };
        SimOutput::new(status, stdout, stderr, false)
    }

    /// A small C program: about 2 ms.
    fn typical_latency(&self, _program: &str) -> Option<Duration> {
        Some(Duration::from_millis(2))
    }
}
