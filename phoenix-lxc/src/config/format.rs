//! The shapes of the values a container's config splices into Proxmox property strings
//! (`net0`, `rootfs`, `mpN`, `features`), `pct` arguments and the conf file, checked at decode so
//! that a bad value is a config error with its JSON path, never a failure halfway through apply.

use phoenix_core::config::{check_single_line, excerpt, normalize_path};

/// What a value is, and so which characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A Linux interface name (a host bridge, or the interface inside the container): 1 to 15
    /// letters, digits, `-`, `_` and `.`, as the kernel (IFNAMSIZ) and Proxmox's `pve-bridge-id`
    /// allow.
    Interface,
    /// A Proxmox storage id: a letter, then letters, digits, `-`, `_` and `.`, ending in a
    /// letter or digit (`pve-storage-id`).
    StorageId,
    /// An absolute path, normalised, that may stand in a property string: no `,` (which ends
    /// the value), `=` (which makes it a key), whitespace or control characters.
    Path,
    /// A snapshot name (`pve-configid`): a letter, then letters, digits, `-` and `_`, at most 40.
    SnapshotName,
    /// A container template: an absolute path or a `storage:vztmpl/file` volume id, without
    /// whitespace or control characters.
    Template,
}

impl Shape {
    fn expected(self) -> &'static str {
        match self {
            Shape::Interface => {
                "an interface name of 1 to 15 letters, digits, '-', '_' or '.' (such as vmbr0)"
            }
            Shape::StorageId => {
                "a Proxmox storage id: a letter, then letters, digits, '-', '_' or '.' (such as local-zfs)"
            }
            Shape::Path => "an absolute path without ',', '=', whitespace or \"..\"",
            Shape::SnapshotName => {
                "a snapshot name: a letter, then up to 39 letters, digits, '-' or '_' (such as final-form)"
            }
            Shape::Template => {
                "a template: an absolute path or storage:vztmpl/FILE, without ',', whitespace or control characters"
            }
        }
    }
}

/// Checks `value` against `shape`, returning the value as it goes into the property string
/// (paths normalised). The message says what was expected and quotes (an excerpt of) the value.
pub(crate) fn check_value(shape: Shape, value: &str) -> Result<String, String> {
    let wrong = || format!("expected {}, found {}", shape.expected(), excerpt(value));
    check_single_line(value).map_err(|m| format!("{m}; {}", wrong()))?;
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let valid = match shape {
        Shape::Interface => (1..=15).contains(&value.len()) && value.chars().all(word),
        Shape::StorageId => {
            value.len() >= 2
                && value.starts_with(|c: char| c.is_ascii_alphabetic())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric())
                && value.chars().all(word)
        }
        Shape::SnapshotName => {
            (2..=40).contains(&value.len())
                && value.starts_with(|c: char| c.is_ascii_alphabetic())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        }
        Shape::Path => {
            if value.contains([',', '=']) || value.chars().any(char::is_whitespace) {
                false
            } else {
                return normalize_path(value);
            }
        }
        Shape::Template => {
            !value.is_empty()
                && !value.contains(',')
                && !value.chars().any(char::is_whitespace)
                && (value.starts_with('/') || value.contains(":vztmpl/"))
                && !value.split('/').any(|part| part == "..")
        }
    };
    if valid {
        Ok(value.to_owned())
    } else {
        Err(wrong())
    }
}

/// A hostname is dot-separated DNS labels: letters, digits and hyphens, not starting or ending
/// with a hyphen, at most 63 characters each and 253 in all.
pub(crate) fn check_hostname(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "name {} is not a valid hostname (DNS labels of letters, digits and hyphens)",
            excerpt(name)
        ))
    }
}

/// `a.b.c.d/len`.
pub(crate) fn check_cidr(text: &str) -> Result<(), String> {
    let (address, len) = text.split_once('/').ok_or_else(|| {
        format!(
            "expected a CIDR such as 10.0.0.110/24 or dhcp, found {}",
            excerpt(text)
        )
    })?;
    address
        .parse::<std::net::Ipv4Addr>()
        .map_err(|_| format!("expected an IPv4 address in {}", excerpt(text)))?;
    match len.parse::<u8>() {
        Ok(n) if n <= 32 => Ok(()),
        _ => Err(format!(
            "expected a prefix length 0..32 in {}",
            excerpt(text)
        )),
    }
}

/// A unicast MAC address, returned uppercase as Proxmox writes it.
pub(crate) fn check_mac(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(format!(
            "expected a MAC address such as 52:54:00:AA:BB:CC, found {}",
            excerpt(text)
        ));
    }
    let first = u8::from_str_radix(parts[0], 16).unwrap_or(1);
    if first & 1 == 1 {
        return Err(format!(
            "{text} is a multicast address; a container needs a unicast MAC"
        ));
    }
    Ok(text.to_ascii_uppercase())
}

/// A raw LXC key: `lxc.` then dot-separated words of lowercase letters, digits, `_` and `-`
/// (`lxc.apparmor.profile`, `lxc.cgroup2.devices.allow`, `lxc.hook.pre-start`, `lxc.net.0.type`).
pub(crate) fn is_lxc_key(key: &str) -> bool {
    key.strip_prefix("lxc.").is_some_and(|rest| {
        rest.split('.').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row: the shape, the value, and `Ok(stored)` or `Err(part of the message)`.
    fn check(shape: Shape, value: &str, expect: Result<&str, &str>) {
        match (check_value(shape, value), expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{shape:?} {value:?}"),
            (Err(got), Err(part)) => assert!(got.contains(part), "{shape:?} {value:?}: {got}"),
            (got, want) => panic!("{shape:?} {value:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn issue_8_property_values_are_checked_against_their_format() {
        use Shape::*;
        let rows: &[(Shape, &str, Result<&str, &str>)] = &[
            (Interface, "vmbr0", Ok("vmbr0")),
            (Interface, "eth0.16", Ok("eth0.16")),
            (
                Interface,
                "vmbr0,ip=1.2.3.4/24",
                Err("expected an interface name"),
            ),
            (Interface, "vmbr 0", Err("expected an interface name")),
            (Interface, "vmbr0;reboot", Err("expected an interface name")),
            (Interface, "bridge-name-too-long", Err("1 to 15")),
            (Interface, "", Err("expected an interface name")),
            (Interface, "vmbr0\n", Err("U+000A")),
            (StorageId, "quickOS-lxc-disks", Ok("quickOS-lxc-disks")),
            (
                StorageId,
                "local-zfs:8",
                Err("expected a Proxmox storage id"),
            ),
            (StorageId, "x", Err("expected a Proxmox storage id")),
            (StorageId, "9lives", Err("expected a Proxmox storage id")),
            (StorageId, "$(id)", Err("expected a Proxmox storage id")),
            (Path, "/mnt/models", Ok("/mnt/models")),
            (Path, "/mnt//models/./x/", Ok("/mnt/models/x")),
            (Path, "/x,mp=/root", Err("without ','")),
            (Path, "/x=y", Err("without ','")),
            (Path, "/my models", Err("whitespace")),
            (Path, "relative/x", Err("expected an absolute path")),
            (Path, "/srv/../root", Err("\"..\"")),
            (Path, "/srv/`id`", Ok("/srv/`id`")),
            (SnapshotName, "final-form", Ok("final-form")),
            (SnapshotName, "pre-configured", Ok("pre-configured")),
            (SnapshotName, "1st", Err("a snapshot name")),
            (SnapshotName, "x]\n[y", Err("U+000A")),
            (SnapshotName, "a;b", Err("a snapshot name")),
            (
                Template,
                "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
                Ok(
                    "/fastData/shared-iso/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
                ),
            ),
            (
                Template,
                "local:vztmpl/debian-12.tar.zst",
                Ok("local:vztmpl/debian-12.tar.zst"),
            ),
            (Template, "debian-12.tar.zst", Err("expected a template")),
            (Template, "/x.tar.zst,rootfs=y", Err("expected a template")),
            (Template, "/tmp/../etc/shadow", Err("expected a template")),
        ];
        for (shape, value, expect) in rows {
            check(*shape, value, *expect);
        }
    }

    #[test]
    fn issue_8_a_huge_value_is_quoted_as_an_excerpt() {
        let huge = "v".repeat(1 << 20);
        let message = check_value(Shape::Interface, &huge).expect_err("too long");
        assert!(message.len() < 300, "{}", message.len());
        assert!(message.ends_with("… (1048576 bytes)"), "{message}");
        let message = check_hostname(&huge).expect_err("too long");
        assert!(message.len() < 300, "{}", message.len());
    }

    #[test]
    fn issue_8_lxc_keys_follow_the_lxc_grammar() {
        let rows = [
            ("lxc.apparmor.profile", true),
            ("lxc.cgroup2.devices.allow", true),
            ("lxc.hook.pre-start", true),
            ("lxc.net.0.type", true),
            ("lxc.", false),
            ("lxc", false),
            ("lxc..x", false),
            ("lxc.Apparmor", false),
            ("lxc.mount entry", false),
            ("lxc.x;y", false),
            ("memory", false),
        ];
        for (key, valid) in rows {
            assert_eq!(is_lxc_key(key), valid, "{key}");
        }
    }

    #[test]
    fn validators() {
        assert!(check_hostname("Copy-Cuda12.8").is_ok());
        assert!(check_hostname("vllm_granite").is_err());
        assert!(check_hostname("-x").is_err());
        assert!(check_cidr("10.0.0.200/24").is_ok());
        assert!(check_cidr("10.0.0.300/24").is_err());
        assert!(check_cidr("10.0.0.3").is_err());
        assert_eq!(
            check_mac("52:54:00:aa:bb:cc"),
            Ok("52:54:00:AA:BB:CC".to_owned())
        );
        assert!(check_mac("53:54:00:aa:bb:cc").is_err());
        assert!(check_mac("52:54:00:aa:bb").is_err());
    }
}
