//! `/proc/devices`: the major numbers the kernel gave each character and block driver.

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// The character and block majors, by driver name, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcDevices {
    /// `Character devices:`.
    pub character: Vec<(u32, String)>,
    /// `Block devices:`.
    pub block: Vec<(u32, String)>,
}

impl ProcDevices {
    /// The major of character driver `name` (`nvidia-uvm`), if loaded.
    pub fn char_major(&self, name: &str) -> Option<u32> {
        self.character
            .iter()
            .find(|(_, driver)| driver == name)
            .map(|(major, _)| *major)
    }
}

/// Two sections, each a header line and `MAJOR NAME` lines (the major right-aligned in 3
/// columns); blank lines separate them.
pub fn parse_proc_devices(text: &str) -> Result<ProcDevices, ParseError> {
    let mut devices = ProcDevices::default();
    let mut section: Option<&mut Vec<(u32, String)>> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        match line.trim() {
            "" => continue,
            "Character devices:" => section = Some(&mut devices.character),
            "Block devices:" => section = Some(&mut devices.block),
            entry => {
                let Some(list) = section.as_deref_mut() else {
                    return Err(ParseError::new(
                        number,
                        "a device before any section header",
                    ));
                };
                let (major, name) = entry.split_once(' ').ok_or_else(|| {
                    ParseError::new(number, format!("`{entry}` is not `MAJOR NAME`"))
                })?;
                let major = major.parse::<u32>().map_err(|_| {
                    ParseError::new(number, format!("major `{major}` is not a number"))
                })?;
                list.push((major, name.trim().to_owned()));
            }
        }
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("fixtures/proc-devices.txt");

    #[test]
    fn the_h200_sample() {
        insta::assert_debug_snapshot!(parse_proc_devices(SAMPLE));
    }

    #[test]
    fn majors_of_the_nvidia_drivers_on_the_sample() {
        let devices = parse_proc_devices(SAMPLE).expect("sample");
        let majors: Vec<Option<u32>> = [
            "nvidia",
            "nvidiactl",
            "nvidia-uvm",
            "nvidia-caps",
            "nvidia-frontend",
        ]
        .iter()
        .map(|name| devices.char_major(name))
        .collect();
        assert_eq!(majors, [Some(195), Some(195), Some(238), Some(241), None]);
    }

    #[test]
    fn errors() {
        let cases = [
            ("195 nvidia\n", 1, "before any section"),
            ("Character devices:\nnvidia\n", 2, "is not `MAJOR NAME`"),
            ("Character devices:\n\nx nvidia\n", 3, "is not a number"),
        ];
        for (text, line, reason) in cases {
            let err = parse_proc_devices(text).expect_err(text);
            assert_eq!(err.line, line, "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
        }
    }
}
