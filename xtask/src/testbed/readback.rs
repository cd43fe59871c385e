//! `cargo xtask testbed readback`: re-captures the ZFS readback matrix
//! (`phoenix-zfs/readback/zfs-2.3.tsv`) on the testbed.
//!
//! The fixture's own rows (scope, property, value) are the list of what to try: each value is set
//! on a scratch dataset of a scratch pool on the testbed and read back with the provider's
//! `zfs get` (`xtask/testbed/readback.sh`, one SSH session for the whole matrix), and the file is
//! rewritten with the real results. To cover a new value, add a row with its first three columns
//! and re-capture; `phoenix-zfs`'s tests fail while validation accepts a value the file lacks.

use std::path::PathBuf;

use xshell::{Shell, cmd};

use super::{State, shell_quote};
use crate::{Result, project_root};

/// The script the testbed runs; rows go on its stdin.
const SCRIPT: &str = include_str!("../../testbed/readback.sh");

/// The fixture, relative to the workspace root.
const FIXTURE: &str = "phoenix-zfs/readback/zfs-2.3.tsv";

/// The column header line of the fixture.
const COLUMNS: &str = "scope\tproperty\tvalue\texit\treadback\tsource";

/// What the header says about the file, before the `zfs version` lines.
const PREAMBLE: &str = "\
# The ZFS readback matrix: every value Phoenix's validation accepts for a property it manages (and
# a few it should not), set on a scratch dataset of the real testbed and read back with the `zfs
# get` the provider runs. phoenix-zfs learns each value's real spelling from this file
# (`props::readback`), and its `zfs` emulator prints it.
# Re-capture (the rows below are the list of what to try): cargo xtask testbed up; cargo xtask
# testbed readback [--from N, to try only rows N.. after adding them]; cargo xtask testbed down.
# set: zfs set P=V on a new filesystem (fs) or 64M volume (vol); zfs create -o P=V (fs-create),
#      zfs create -V 64M -o P=V (vol-create), zfs create -o P=V under an encryption root
#      (enc-create); zpool create -o P=V / -O P=V (pool-create / root-create); zpool set P=V (pool)
# get: zfs get -H -p -o name,property,value,source P D (zpool get ... for pool properties)
# exit: the status of the set; when it is not 0, readback is the error zfs printed
";

/// One row to try: scope, property, value.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    scope: String,
    property: String,
    value: String,
}

/// The rows of a fixture (or of a bare three-column list): `#` lines and the column header are
/// skipped, and only the first three columns are read.
fn rows(text: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line == COLUMNS {
            continue;
        }
        let mut fields = line.split('\t');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(scope), Some(property), Some(value)) if !scope.is_empty() => rows.push(Row {
                scope: scope.to_owned(),
                property: property.to_owned(),
                value: value.to_owned(),
            }),
            _ => {
                return Err(format!(
                    "{FIXTURE} line {}: expected SCOPE<TAB>PROPERTY<TAB>VALUE",
                    index + 1
                )
                .into());
            }
        }
    }
    Ok(rows)
}

/// The new fixture text, after checking that the script answered every row from number
/// `from` (counted from 1) in order; the rows before it keep their `kept` lines.
fn fixture(version: &str, rows: &[Row], kept: &[&str], output: &str) -> Result<String> {
    let mut lines: Vec<&str> = kept.to_vec();
    lines.extend(output.lines());
    if lines.len() != rows.len() {
        return Err(format!(
            "the testbed answered {} row(s) for {} asked",
            lines.len() - kept.len(),
            rows.len() - kept.len()
        )
        .into());
    }
    let mut text = PREAMBLE.to_owned();
    for line in version.lines() {
        text.push_str(&format!("# {line}\n"));
    }
    text.push_str(COLUMNS);
    text.push('\n');
    for (row, line) in rows.iter().zip(lines) {
        let asked = format!("{}\t{}\t{}\t", row.scope, row.property, row.value);
        if !line.starts_with(&asked) || line.split('\t').count() != 6 {
            return Err(format!("the testbed answered {line:?} for {asked:?}").into());
        }
        text.push_str(line);
        text.push('\n');
    }
    Ok(text)
}

/// The data lines of a fixture (neither comments nor the column header), in order.
fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#') && *line != COLUMNS)
        .collect()
}

/// The flags: the fixture, and the number of the first row to try (rows before it are kept).
fn parse_flags(flags: &[String]) -> Result<(PathBuf, usize)> {
    let usage = "usage: cargo xtask testbed readback [--fixture FILE] [--from N]";
    let mut path = project_root().join(FIXTURE);
    let mut from = 1;
    for pair in flags.chunks(2) {
        match pair {
            [flag, value] if flag == "--fixture" => path = PathBuf::from(value),
            [flag, value] if flag == "--from" => {
                from = value.parse().ok().filter(|n| *n >= 1).ok_or(usage)?;
            }
            _ => return Err(usage.into()),
        }
    }
    Ok((path, from))
}

/// Runs the capture.
pub(crate) fn run(sh: &Shell, flags: &[String]) -> Result<()> {
    let (path, from) = parse_flags(flags)?;
    let state = State::load()?.ok_or("no testbed is up; run `cargo xtask testbed up`")?;
    let text = sh.read_file(&path)?;
    let rows = rows(&text)?;
    let old = data_lines(&text);
    let kept = old.get(..from - 1).ok_or("--from is past the last row")?;
    let ssh_args = state.ssh_args();
    let args = &ssh_args;
    let version = cmd!(sh, "ssh {args...} zfs version").quiet().read()?;
    let input: String = rows
        .iter()
        .map(|row| format!("{}\t{}\t{}\n", row.scope, row.property, row.value))
        .collect();
    let remote = format!("bash -c {} readback {from}", shell_quote(SCRIPT));
    eprintln!(
        "xtask testbed: reading back {} value(s) on the testbed",
        rows.len() + 1 - from
    );
    let output = cmd!(sh, "ssh {args...} {remote}")
        .stdin(input)
        .quiet()
        .read()?;
    sh.write_file(&path, fixture(&version, &rows, kept, &output)?)?;
    eprintln!("xtask testbed: wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_the_first_three_columns_of_the_fixture() {
        let text = format!("# note\n{COLUMNS}\nfs\txattr\tsa\t0\ton\tlocal\nfs\tatime\toff\n");
        assert_eq!(
            rows(&text).expect("parses"),
            [
                Row {
                    scope: "fs".to_owned(),
                    property: "xattr".to_owned(),
                    value: "sa".to_owned()
                },
                Row {
                    scope: "fs".to_owned(),
                    property: "atime".to_owned(),
                    value: "off".to_owned()
                }
            ]
        );
        assert!(rows("fs\tno value\n").is_err());
    }

    #[test]
    fn the_shipped_fixture_has_rows() {
        let text =
            std::fs::read_to_string(project_root().join(FIXTURE)).expect("the fixture exists");
        assert!(rows(&text).expect("parses").len() > 100);
    }

    #[test]
    fn answers_must_match_the_rows_in_order() {
        let asked = rows("fs\txattr\tsa\n").expect("parses");
        let text =
            fixture("zfs-2.3.2\n", &asked, &[], "fs\txattr\tsa\t0\ton\tlocal\n").expect("ok");
        assert!(text.ends_with(&format!(
            "# zfs-2.3.2\n{COLUMNS}\nfs\txattr\tsa\t0\ton\tlocal\n"
        )));
        assert!(fixture("v", &asked, &[], "fs\tatime\toff\t0\toff\tlocal\n").is_err());
        assert!(fixture("v", &asked, &[], "").is_err());
        let kept = ["fs\txattr\tsa\t0\ton\tlocal"];
        assert!(fixture("v", &asked, &kept, "").is_ok());
    }
}
