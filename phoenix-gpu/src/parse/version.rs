//! `/proc/driver/nvidia/version`: the loaded kernel module's version.

use serde::{Deserialize, Serialize};

use super::ParseError;

/// The loaded NVIDIA kernel module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverVersion {
    /// `580.159.04`.
    pub version: String,
    /// The open kernel module (`NVIDIA UNIX Open Kernel Module`) rather than the proprietary one.
    pub open: bool,
}

/// The `NVRM version:` line: `NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release
/// Build ...` (open module) or `NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb ...`
/// (proprietary); the version is the word after `Module` (and its `for <arch>`).
pub fn parse_driver_version(text: &str) -> Result<DriverVersion, ParseError> {
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("NVRM version:") else {
            continue;
        };
        let number = index + 1;
        let Some((head, tail)) = rest.split_once("Kernel Module") else {
            return Err(ParseError::new(
                number,
                "no `Kernel Module` in the NVRM line",
            ));
        };
        let mut words = tail.split_whitespace();
        let mut version = words.next();
        if version == Some("for") {
            words.next();
            version = words.next();
        }
        let version = version.unwrap_or_default();
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(ParseError::new(
                number,
                format!("`{version}` is not a driver version"),
            ));
        }
        return Ok(DriverVersion {
            version: version.to_owned(),
            open: head.contains("Open"),
        });
    }
    Err(ParseError::new(0, "no NVRM version line"))
}

/// The file as the open kernel module writes it (the emulator's writer; the build line is
/// the sample's).
pub fn format_driver_version(version: &str) -> String {
    format!(
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  {version}  Release Build  (nixbld@)  \nGCC version:  gcc version 15.3.0 (GCC) \n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("fixtures/proc-driver-nvidia-version.txt");

    #[test]
    fn the_h200_sample() {
        insta::assert_debug_snapshot!(parse_driver_version(SAMPLE));
    }

    #[test]
    fn the_writer_prints_the_sample_for_its_version() {
        assert_eq!(format_driver_version("580.159.04"), SAMPLE);
    }

    #[test]
    fn proprietary_module_and_errors() {
        let proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n";
        assert_eq!(
            parse_driver_version(proprietary),
            Ok(DriverVersion {
                version: "550.54.14".into(),
                open: false
            })
        );
        let cases = [
            ("", 0),
            ("NVRM version: something\n", 1),
            ("x\nNVRM version: NVIDIA UNIX Kernel Module  Release\n", 2),
        ];
        for (text, line) in cases {
            assert_eq!(
                parse_driver_version(text).expect_err(text).line,
                line,
                "{text}"
            );
        }
    }
}
