//! `cargo xtask testbed capture`: runs a list of commands on the testbed and writes each one's
//! real output as a fixture in the format of `../shared/fixtures/zfs/`: line 1 `$ command`,
//! line 2 `# exit=N`, then stdout and stderr as the command printed them.

use std::path::PathBuf;

use xshell::{Shell, cmd};

use super::{State, run_dir, shell_quote};
use crate::{Result, project_root};

/// One line of the list.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// Run and record as `name.txt`.
    Capture { name: String, command: String },
    /// Run, record nothing, stop if it fails.
    Setup { command: String },
}

/// Parses `NAME<TAB>COMMAND` and `!<TAB>COMMAND` lines; `#` starts a comment line.
fn parse_list(text: &str) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, command)) = line.split_once('\t') else {
            return Err(format!("line {}: expected NAME<TAB>COMMAND", number + 1).into());
        };
        let command = command.trim().to_owned();
        if name == "!" {
            entries.push(Entry::Setup { command });
        } else if name.contains('/') || name.is_empty() {
            return Err(format!("line {}: bad fixture name {name:?}", number + 1).into());
        } else {
            entries.push(Entry::Capture {
                name: name.to_owned(),
                command,
            });
        }
    }
    Ok(entries)
}

/// The fixture text for one run.
fn fixture(command: &str, exit: Option<i32>, output: &str) -> String {
    let exit = exit.map_or_else(|| "signal".to_owned(), |code| code.to_string());
    let mut text = format!("$ {command}\n# exit={exit}\n{output}");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Runs the capture.
pub(crate) fn run(sh: &Shell, flags: &[String]) -> Result<()> {
    let mut out = run_dir().join("fixtures");
    let mut list = project_root().join("xtask/testbed/capture.list");
    for pair in flags.chunks(2) {
        let [flag, value] = pair else {
            return Err(format!("`{}` needs a value", pair[0]).into());
        };
        match flag.as_str() {
            "--out" => out = PathBuf::from(value),
            "--list" => list = PathBuf::from(value),
            other => return Err(format!("unknown capture flag `{other}`").into()),
        }
    }
    let state = State::load()?.ok_or("no testbed is up; run `cargo xtask testbed up`")?;
    let entries = parse_list(&sh.read_file(&list)?)?;
    sh.create_dir(&out)?;
    let ssh_args = state.ssh_args();
    let args = &ssh_args;
    let mut written = 0;
    for entry in entries {
        match entry {
            Entry::Setup { command } => {
                let remote = format!("bash -c {}", shell_quote(&command));
                cmd!(sh, "ssh {args...} {remote}").run()?;
            }
            Entry::Capture { name, command } => {
                // The remote shell merges stderr into stdout, as the reference capture did.
                let remote = format!("bash -c {} 2>&1", shell_quote(&command));
                let output = cmd!(sh, "ssh {args...} {remote}")
                    .quiet()
                    .ignore_status()
                    .output()?;
                let text = fixture(
                    &command,
                    output.status.code(),
                    &String::from_utf8_lossy(&output.stdout),
                );
                sh.write_file(out.join(format!("{name}.txt")), text)?;
                written += 1;
            }
        }
    }
    eprintln!(
        "xtask testbed: wrote {written} fixture(s) to {}",
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_captures_setups_and_comments() {
        let entries =
            parse_list("# c\nzfs-version\tzfs version\n!\tmkfs.ext4 -q x\n\n").expect("parses");
        assert_eq!(
            entries,
            [
                Entry::Capture {
                    name: "zfs-version".to_owned(),
                    command: "zfs version".to_owned()
                },
                Entry::Setup {
                    command: "mkfs.ext4 -q x".to_owned()
                }
            ]
        );
        assert!(parse_list("no tab here").is_err());
    }

    #[test]
    fn the_shipped_list_parses() {
        let text = std::fs::read_to_string(project_root().join("xtask/testbed/capture.list"))
            .expect("the list exists");
        assert!(!parse_list(&text).expect("parses").is_empty());
    }

    #[test]
    fn fixtures_have_the_shared_format() {
        assert_eq!(
            fixture("zfs version", Some(0), "zfs-2.3.2-1~bpo12+1\n"),
            "$ zfs version\n# exit=0\nzfs-2.3.2-1~bpo12+1\n"
        );
        assert_eq!(fixture("x", Some(1), ""), "$ x\n# exit=1\n");
    }
}
