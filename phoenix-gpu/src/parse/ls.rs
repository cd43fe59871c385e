//! An `ls -l` listing of character devices (`ls -l /dev/nvidia*`): each node's path, major and
//! minor. Used for the samples and the simulated node's device nodes.

use serde::{Deserialize, Serialize};

use super::ParseError;

/// One character device node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceNode {
    /// The path, with the directory of its `DIR:` block prepended.
    pub path: String,
    /// The major number.
    pub major: u32,
    /// The minor number.
    pub minor: u32,
}

/// Lines `crw-rw-rw- 1 root root 195,   0 Nov 26 04:01 /dev/nvidia0`; a `DIR:` line starts a
/// block of names relative to DIR; `total N`, blank lines and non-character entries are skipped.
pub fn parse_ls_l(text: &str) -> Result<Vec<DeviceNode>, ParseError> {
    let mut nodes = Vec::new();
    let mut dir = String::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(block) = line.strip_suffix(':') {
            dir = format!("{block}/");
            continue;
        }
        if !line.starts_with('c') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        // mode links user group MAJOR, MINOR month day time name
        let (Some(major), Some(minor), Some(name)) = (words.get(4), words.get(5), words.get(9))
        else {
            return Err(ParseError::new(
                number,
                "a device line with fewer than 10 fields",
            ));
        };
        let major = major
            .strip_suffix(',')
            .and_then(|major| major.parse::<u32>().ok())
            .ok_or_else(|| ParseError::new(number, format!("`{major}` is not `MAJOR,`")))?;
        let minor = minor
            .parse::<u32>()
            .map_err(|_| ParseError::new(number, format!("minor `{minor}` is not a number")))?;
        let path = if name.starts_with('/') {
            (*name).to_owned()
        } else {
            format!("{dir}{name}")
        };
        nodes.push(DeviceNode { path, major, minor });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("fixtures/ls-l-dev-nvidia.txt");

    #[test]
    fn the_h200_sample() {
        insta::assert_debug_snapshot!(parse_ls_l(SAMPLE));
    }

    #[test]
    fn errors() {
        let cases = [
            ("crw-rw-rw- 1 root root 195, 0\n", 1, "fewer than 10"),
            (
                "crw-rw-rw- 1 root root 195 0 Nov 26 04:01 /dev/x\n",
                1,
                "is not `MAJOR,`",
            ),
        ];
        for (text, line, reason) in cases {
            let err = parse_ls_l(text).expect_err(text);
            assert_eq!(err.line, line, "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
        }
    }
}
