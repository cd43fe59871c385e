//! `grep -H '' -- FILE...`: every container config in one command.
//!
//! Phoenix reads all `/etc/pve/lxc/<vmid>.conf` files with one `grep`, whatever their number.
//! With `-H` and the empty pattern, GNU grep prints every line of every file as `FILE:LINE`
//! (a last line without a newline gets one), in the order the files were named. A file that
//! cannot be read is reported on stderr (`grep: FILE: No such file or directory`) and makes the
//! exit status 2, but the other files are still printed; an empty file prints nothing.

use std::collections::BTreeMap;

use phoenix_pve::{Conf, parse_conf};

use super::ParseError;

/// One file's part of `grep -H` output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrepFile {
    /// The output line the file's first line is on (1-based), for error messages.
    pub first_line: usize,
    /// The file's text, every line ending in `\n`.
    pub text: String,
}

impl GrepFile {
    /// Reads the file as container `id`'s config; an error names the line of the whole output.
    pub fn parse_conf(&self, id: u32) -> Result<Conf, ParseError> {
        parse_conf(&self.text).map_err(|err| {
            let line = if err.line == 0 {
                0
            } else {
                self.first_line + err.line - 1
            };
            ParseError::new(line, format!("container {id}: {}", err.reason))
        })
    }
}

/// Splits `grep -H '' -- PATHS` output back into each file's text.
///
/// `paths` are the files that were named, each `<vmid>.conf` (a line is matched to the longest
/// path that prefixes it, followed by `:`, since a line may itself hold `:`). The key is the
/// container id. A file that printed nothing (missing or empty) is absent from the result; a line
/// of no requested file is an error.
pub fn split_grep<P: AsRef<str>>(
    text: &str,
    paths: &[P],
) -> Result<BTreeMap<u32, GrepFile>, ParseError> {
    let mut ids: BTreeMap<&str, u32> = BTreeMap::new();
    for path in paths {
        let path = path.as_ref();
        let id = path
            .rsplit('/')
            .next()
            .and_then(|file| file.strip_suffix(".conf"))
            .and_then(|id| id.parse::<u32>().ok())
            .ok_or_else(|| ParseError::new(0, format!("`{path}` is not named `<vmid>.conf`")))?;
        ids.insert(path, id);
    }
    let mut files: BTreeMap<u32, GrepFile> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        // The longest requested path that the line starts with, followed by `:`: a lookup of
        // the line up to each of its colons, so the cost does not grow with the files named.
        let (path, id) = line
            .rmatch_indices(':')
            .find_map(|(colon, _)| ids.get_key_value(&line[..colon]))
            .ok_or_else(|| {
                ParseError::new(number, format!("line of no requested file: `{line}`"))
            })?;
        let file = files.entry(*id).or_insert_with(|| GrepFile {
            first_line: number,
            text: String::new(),
        });
        file.text.push_str(&line[path.len() + 1..]);
        file.text.push('\n');
    }
    Ok(files)
}

/// Splits `grep -H '' -- PATHS` output (see [`split_grep`]) and reads each file as a container
/// config.
pub fn parse_grep_confs<P: AsRef<str>>(
    text: &str,
    paths: &[P],
) -> Result<BTreeMap<u32, Conf>, ParseError> {
    split_grep(text, paths)?
        .into_iter()
        .map(|(id, file)| Ok((id, file.parse_conf(id)?)))
        .collect()
}

/// What `grep -H '' -- FILE...` prints for files that exist: each line as `FILE:LINE`.
pub fn format_grep_lines(files: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (path, content) in files {
        for line in content.lines() {
            out.push_str(path);
            out.push(':');
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::proxmox_sample;
    use phoenix_pve::format_conf;

    #[test]
    fn splits_files_with_colons_in_lines_and_snapshots() {
        let a = proxmox_sample("lxc-conf.snapshots.2.conf");
        let b = proxmox_sample("lxc-conf.nvidia-raw.1.conf");
        let text =
            format_grep_lines(&[("/etc/pve/lxc/105.conf", &a), ("/etc/pve/lxc/102.conf", &b)]);
        let paths = [
            "/etc/pve/lxc/105.conf",
            "/etc/pve/lxc/102.conf",
            "/etc/pve/lxc/999.conf",
        ];
        let confs = parse_grep_confs(&text, &paths).expect("valid");
        assert_eq!(confs.len(), 2, "the missing 999 printed nothing");
        assert_eq!(format_conf(&confs[&105]), a);
        assert_eq!(format_conf(&confs[&102]), b);
        assert_eq!(confs[&105].snapshots.len(), 2);
    }

    #[test]
    fn a_path_that_prefixes_another_is_told_apart() {
        let paths = ["/etc/pve/lxc/101.conf", "/etc/pve/lxc/1010.conf"];
        let out = "/etc/pve/lxc/101.conf:arch: amd64\n/etc/pve/lxc/101.conf:\n/etc/pve/lxc/1010.conf:net0: name=eth0,ip=10.0.0.1/24\n";
        let files = split_grep(out, &paths).expect("valid");
        assert_eq!(files[&101].text, "arch: amd64\n\n");
        assert_eq!(files[&1010].text, "net0: name=eth0,ip=10.0.0.1/24\n");
        assert_eq!(files[&1010].first_line, 3);
    }

    #[test]
    fn errors() {
        let err = parse_grep_confs(
            "/etc/pve/lxc/1.conf:arch: amd64\n/x:y\n",
            &["/etc/pve/lxc/1.conf"],
        )
        .expect_err("unknown prefix");
        assert_eq!(err.line, 2);
        let err = parse_grep_confs(
            "/etc/pve/lxc/1.conf:arch: amd64\n/etc/pve/lxc/1.conf: bad\n",
            &["/etc/pve/lxc/1.conf"],
        )
        .expect_err("bad conf line");
        assert_eq!(err.line, 2);
        assert!(parse_grep_confs("", &["/etc/pve/lxc/x.conf"]).is_err());
        assert_eq!(
            parse_grep_confs("", &["/etc/pve/lxc/7.conf"]),
            Ok(BTreeMap::new())
        );
    }
}
