//! Versions the node's tools print: `zfs version` (the one reader, used by phoenix-security's
//! docker feature, and the one writer, used by phoenix-zfs's `zfs` emulator) and the leading
//! numbers of a Debian package version (`5.1.12`, `4.4-6`, `2.1.11-1+deb12u1`, `1.3.3-0ubuntu1`),
//! which pve-container's, lxc-pve's and runc's versions are compared by.
//!
//! `zfs version` (OpenZFS 2.x, `../shared/fixtures/zfs*/zfs-version.txt`) prints the userland
//! version (`zfs-2.3.2-2~bpo12+2`), then the loaded kernel module's (`zfs-kmod-2.3.2-2~bpo12+2`);
//! the module's line is missing when no module is loaded.

use phoenix_core::parse::ParseError;

/// What `zfs version` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZfsVersion {
    /// The userland tools (`2.3.2-2~bpo12+2`).
    pub userland: String,
    /// The loaded kernel module, when one is loaded.
    pub kmod: Option<String>,
}

impl ZfsVersion {
    /// The version that decides what the kernel does: the module's, else the userland's.
    pub fn effective(&self) -> &str {
        self.kmod.as_deref().unwrap_or(&self.userland)
    }

    /// Whether overlayfs works on ZFS datasets (OpenZFS ≥ 2.2, openzfs/zfs#9414), so Docker's
    /// overlay2 needs no fallback.
    pub fn has_overlayfs(&self) -> bool {
        numbers(self.effective()).is_some_and(|(major, minor, _)| (major, minor) >= (2, 2))
    }
}

/// Reads `zfs version`.
pub fn parse_zfs_version(text: &str) -> Result<ZfsVersion, ParseError> {
    let mut userland = None;
    let mut kmod = None;
    for (at, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (slot, value) = if let Some(value) = line.strip_prefix("zfs-kmod-") {
            (&mut kmod, value)
        } else if let Some(value) = line.strip_prefix("zfs-") {
            (&mut userland, value)
        } else {
            return Err(ParseError::new(
                at + 1,
                format!("expected `zfs-VERSION` or `zfs-kmod-VERSION`, found `{line}`"),
            ));
        };
        if numbers(value).is_none() {
            return Err(ParseError::new(
                at + 1,
                format!("expected a version starting with a number, found `{value}`"),
            ));
        }
        if slot.replace(value.to_owned()).is_some() {
            return Err(ParseError::new(at + 1, format!("`{line}` repeats a line")));
        }
    }
    match userland {
        Some(userland) => Ok(ZfsVersion { userland, kmod }),
        None => Err(ParseError::new(0, "no `zfs-VERSION` line")),
    }
}

/// Writes `zfs version`'s output.
pub fn format_zfs_version(version: &ZfsVersion) -> String {
    let mut out = format!("zfs-{}\n", version.userland);
    if let Some(kmod) = &version.kmod {
        out.push_str(&format!("zfs-kmod-{kmod}\n"));
    }
    out
}

/// The leading `major.minor.patch` numbers of a Debian package version (an epoch `N:` skipped;
/// `.`, `-`, `~` and `+` separate numbers, the first other character ends them; missing parts
/// are 0): `2.1.11-1+deb12u1` is (2, 1, 11), `4.4-6` is (4, 4, 6), `6.0.0-1` is (6, 0, 0).
/// `None` when it does not start with a number.
pub fn numbers(version: &str) -> Option<(u32, u32, u32)> {
    let version = match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => version,
    };
    let mut parts = version
        .split(['.', '-', '~', '+'])
        .map_while(|part| part.parse::<u32>().ok());
    let major = parts.next()?;
    Some((major, parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::testing::fixture_body;

    fn sample(dir: &str) -> String {
        fixture_body(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures")
                .join(dir)
                .join("zfs-version.txt"),
        )
    }

    #[test]
    fn issue_11_the_real_zfs_version_samples_read_and_write_back() {
        for (dir, kmod, overlay) in [
            ("zfs", "2.1.11-1+deb12u1", false),
            ("zfs-2.3", "2.3.2-2~bpo12+2", true),
        ] {
            let text = sample(dir);
            let version = parse_zfs_version(&text).expect("the sample reads");
            assert_eq!(version.kmod.as_deref(), Some(kmod), "{dir}");
            assert_eq!(version.effective(), kmod);
            assert_eq!(version.has_overlayfs(), overlay, "{dir}");
            assert_eq!(format_zfs_version(&version), text, "{dir}");
        }
    }

    /// The userland and module versions read, or the start of the error.
    type Expect<'a> = Result<(&'a str, Option<&'a str>), &'a str>;

    /// major, minor, patch.
    type Numbers = (u32, u32, u32);

    #[test]
    fn issue_11_zfs_version_shapes() {
        let cases: [(&str, Expect<'_>); 6] = [
            ("zfs-2.2.0-pve1\n", Ok(("2.2.0-pve1", None))),
            (
                "zfs-2.2.7-pve2\nzfs-kmod-2.2.7-pve1\n",
                Ok(("2.2.7-pve2", Some("2.2.7-pve1"))),
            ),
            ("", Err("parse line 0: no `zfs-VERSION` line")),
            (
                "zfs-kmod-2.1.5\n",
                Err("parse line 0: no `zfs-VERSION` line"),
            ),
            (
                "Unable to open /dev/zfs\n",
                Err("parse line 1: expected `zfs-VERSION` or `zfs-kmod-VERSION`"),
            ),
            (
                "zfs-2.1.5\nzfs-x\n",
                Err("parse line 2: expected a version starting with a number, found `x`"),
            ),
        ];
        for (text, expect) in cases {
            let got = parse_zfs_version(text);
            match (expect, got) {
                (Ok((userland, kmod)), Ok(version)) => {
                    assert_eq!(version.userland, userland, "{text:?}");
                    assert_eq!(version.kmod.as_deref(), kmod, "{text:?}");
                }
                (Err(reason), Err(err)) => {
                    assert!(err.to_string().starts_with(reason), "{text:?}: {err}")
                }
                (expect, got) => panic!("{text:?}: expected {expect:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn issue_11_debian_version_numbers() {
        let cases: [(&str, Option<Numbers>); 9] = [
            ("2.1.11-1+deb12u1", Some((2, 1, 11))),
            ("2.3.2-2~bpo12+2", Some((2, 3, 2))),
            ("4.4-6", Some((4, 4, 6))),
            ("5.1.12", Some((5, 1, 12))),
            ("6.0.0-1", Some((6, 0, 0))),
            ("1.3.3-0ubuntu1~24.04.3", Some((1, 3, 3))),
            ("1:2.43.0-1ubuntu7.3", Some((2, 43, 0))),
            ("7", Some((7, 0, 0))),
            ("ubuntu", None),
        ];
        for (text, expect) in cases {
            assert_eq!(numbers(text), expect, "{text}");
        }
    }
}
