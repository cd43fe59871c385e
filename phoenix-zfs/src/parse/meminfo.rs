//! `/proc/meminfo`: the host's total memory, which sizes the ARC limit.

use super::ParseError;

/// The `MemTotal:` line of `/proc/meminfo`, in KiB (the kernel's `kB` is 1024 bytes).
pub fn parse_meminfo_total_kib(text: &str) -> Result<u64, ParseError> {
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("MemTotal:") else {
            continue;
        };
        let number = index + 1;
        let mut words = rest.split_whitespace();
        let value = words
            .next()
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| ParseError::new(number, "MemTotal has no number"))?;
        return match words.next() {
            Some("kB") => Ok(value),
            unit => Err(ParseError::new(
                number,
                format!(
                    "MemTotal unit is `{}`, expected `kB`",
                    unit.unwrap_or_default()
                ),
            )),
        };
    }
    Err(ParseError::new(0, "no MemTotal line"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::fixture_body;

    #[test]
    fn errors() {
        assert_eq!(
            parse_meminfo_total_kib("MemFree: 1 kB\n")
                .expect_err("none")
                .line,
            0
        );
        assert_eq!(
            parse_meminfo_total_kib("MemTotal: x kB\n")
                .expect_err("nan")
                .line,
            1
        );
        assert!(parse_meminfo_total_kib("MemTotal: 5 MB\n").is_err());
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/meminfo-head.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_meminfo_total_kib(&fixture_body(path)));
            }
        );
    }
}
