//! Proxmox property strings: `netN`, `rootfs`/`mpN`, `startup` and `features`.
//!
//! Based on pve-common `PVE::JSONSchema` (`parse_property_string`, `print_property_string`,
//! and the formats of pve-container `LXC/Config.pm`, as
//! `fixtures/proxmox/SOURCES.md` §2 ("Property strings") describes them.
//!
//! Reading: the value is split on `,`; blank parts are skipped; `key=value` (both non-empty) is
//! an option, a part without `=` is the bare value of the format's default key (`volume` for
//! mount points, `order` for `startup`), and a key may appear once. Real files keep options in any
//! order (hand-edited `...,ip=...,gw=...,type=veth`), so readers never depend on it.
//!
//! Writing, as Proxmox does when the API stores a value: the default key's value first with no
//! `key=`, then the required keys (`mp` for a mount point, `name` for a network interface), then
//! the optional keys sorted by name. Booleans are written `0`/`1` and a size with the largest
//! exact unit (`8G`, `512M`). `features` and `startup` are stored as given.

use crate::ParseError;
use crate::size::{format_size, is_decimal, parse_size};

/// A parsed property string: `(key, value)` pairs in the order written. The bare value of the
/// format's default key is stored under that key's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PropertyString {
    /// The options in the order they were written.
    pub entries: Vec<(String, String)>,
}

impl PropertyString {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(found, _)| found == key)
            .map(|(_, value)| value.as_str())
    }

    /// Sets `key`, keeping its position if it was present, appending it otherwise.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(found, _)| found == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.entries.iter().position(|(found, _)| found == key)?;
        Some(self.entries.remove(at).1)
    }
}

/// Splits a property string (see the module documentation). `default_key` names the key of a
/// bare value; without one, a bare value is an error.
pub fn parse_property_string(
    text: &str,
    default_key: Option<&str>,
) -> Result<PropertyString, ParseError> {
    let mut props = PropertyString::default();
    for part in text.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        let (key, value) = match part.split_once('=') {
            Some((key, value)) if !key.is_empty() && !value.is_empty() => (key, value),
            Some(_) => {
                return Err(ParseError::new(
                    0,
                    format!("missing key or value in `{part}` of `{text}`"),
                ));
            }
            None => match default_key {
                Some(key) => (key, part),
                None => {
                    return Err(ParseError::new(
                        0,
                        format!("`{part}` in `{text}` is not `key=value`"),
                    ));
                }
            },
        };
        if props.get(key).is_some() {
            return Err(ParseError::new(
                0,
                format!("duplicate key `{key}` in `{text}`"),
            ));
        }
        props.entries.push((key.to_owned(), value.to_owned()));
    }
    Ok(props)
}

/// Options whose value is a boolean, written `0` or `1`.
const BOOLEAN_OPTIONS: &[&str] = &[
    "acl",
    "backup",
    "deny-write",
    "firewall",
    "host-managed",
    "keepattrs",
    "link_down",
    "quota",
    "replicate",
    "ro",
    "shared",
];

/// A boolean as Proxmox accepts it (`1`/`on`/`yes`/`true`, `0`/`off`/`no`/`false`, any case).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// Writes `props` with `first` keys in that order, then the rest sorted by key; booleans as 0/1.
/// The value of `bare` (the default key) is written without `key=`.
fn print_canonical(props: &PropertyString, bare: Option<&str>, first: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let value = |key: &str, value: &str| -> String {
        if BOOLEAN_OPTIONS.contains(&key) {
            match parse_bool(value) {
                Some(true) => "1".to_owned(),
                Some(false) => "0".to_owned(),
                None => value.to_owned(),
            }
        } else {
            value.to_owned()
        }
    };
    if let Some((key, bare_value)) = bare.and_then(|key| Some((key, props.get(key)?))) {
        // A bare value with `=` would read back as a `key=value` option, and a blank one would be
        // skipped: name the key of either.
        if bare_value.contains('=') || bare_value.trim().is_empty() {
            parts.push(format!("{key}={bare_value}"));
        } else {
            parts.push(bare_value.to_owned());
        }
    }
    for key in first {
        if let Some(found) = props.get(key) {
            parts.push(format!("{key}={}", value(key, found)));
        }
    }
    let mut rest: Vec<&(String, String)> = props
        .entries
        .iter()
        .filter(|(key, _)| Some(key.as_str()) != bare && !first.contains(&key.as_str()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, found) in rest {
        parts.push(format!("{key}={}", value(key, found)));
    }
    parts.join(",")
}

/// Where a mount point's data lives, from the first field of `rootfs`/`mpN`. The four shapes are
/// all pve-container's `parse_volume` knows, so the enum is closed and matches need no wildcard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum VolumeSource {
    /// A storage volume: `local-zfs:subvol-101-disk-0`.
    Storage {
        /// The storage id.
        storage: String,
        /// The volume name inside the storage.
        name: String,
    },
    /// A request for a new volume, as `pct create`/`pct set` take it: `local-zfs:8` (GiB) or
    /// just `8` (on the default storage).
    New {
        /// The storage, when given.
        storage: Option<String>,
        /// The size in GiB as written (`8`, `0.5`).
        gib: String,
    },
    /// A bind mount of a host directory.
    Bind(String),
    /// A device mount (`/dev/...`).
    Device(String),
}

/// `rootfs` or `mpN`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MountPoint {
    /// The first field as written (volume id, new-volume request or host path).
    pub volume: String,
    /// `mp=`: the path inside the container (absent for `rootfs`).
    pub path: Option<String>,
    /// `size=` in bytes.
    pub size: Option<u64>,
    /// The other options (`backup`, `ro`, `acl`, `mountoptions`, ...) as written, in order.
    pub options: Vec<(String, String)>,
}

impl MountPoint {
    /// A mount point of `volume` with no options.
    pub fn new(volume: impl Into<String>) -> MountPoint {
        MountPoint {
            volume: volume.into(),
            path: None,
            size: None,
            options: Vec::new(),
        }
    }

    /// What the first field names (see [`VolumeSource`]).
    pub fn source(&self) -> VolumeSource {
        let volume = self.volume.as_str();
        if volume.starts_with("/dev/") {
            return VolumeSource::Device(volume.to_owned());
        }
        if volume.starts_with('/') {
            return VolumeSource::Bind(volume.to_owned());
        }
        let (storage, rest) = match volume.split_once(':') {
            Some((storage, rest)) => (Some(storage), rest),
            None => (None, volume),
        };
        if is_decimal(rest) && storage.is_none_or(|s| !s.is_empty() && !s.contains('/')) {
            return VolumeSource::New {
                storage: storage.map(str::to_owned),
                gib: rest.to_owned(),
            };
        }
        VolumeSource::Storage {
            storage: storage.unwrap_or_default().to_owned(),
            name: rest.to_owned(),
        }
    }

    /// Whether this is a bind mount of a host directory.
    pub fn is_bind(&self) -> bool {
        matches!(self.source(), VolumeSource::Bind(_))
    }

    /// The value of option `key` (other than `mp` and `size`).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(found, _)| found == key)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the boolean option `key` is set to true (`ro`, `backup`, ...).
    pub fn flag(&self, key: &str) -> bool {
        self.option(key).and_then(parse_bool).unwrap_or(false)
    }
}

/// Reads `rootfs` or `mpN`: `<volume>[,mp=<path>][,size=8G][,ro=1]...`.
pub fn parse_mount_point(text: &str) -> Result<MountPoint, ParseError> {
    let mut props = parse_property_string(text, Some("volume"))?;
    let volume = props
        .remove("volume")
        .ok_or_else(|| ParseError::new(0, format!("no volume in `{text}`")))?;
    let path = props.remove("mp");
    let size = match props.remove("size") {
        Some(size) => Some(
            parse_size(&size)
                .ok_or_else(|| ParseError::new(0, format!("invalid size `{size}` in `{text}`")))?,
        ),
        None => None,
    };
    Ok(MountPoint {
        volume,
        path,
        size,
        options: props.entries,
    })
}

/// Writes a mount point as Proxmox stores it: volume, `mp=` (unless `rootfs`), then the other
/// options sorted, `size` with the largest exact unit.
pub fn format_mount_point(mount: &MountPoint, with_path: bool) -> String {
    let mut props = PropertyString::default();
    props.set("volume", mount.volume.clone());
    if let Some(path) = mount.path.as_ref().filter(|_| with_path) {
        props.set("mp", path.clone());
    }
    for (key, value) in &mount.options {
        props.set(key, value.clone());
    }
    if let Some(size) = mount.size {
        props.set("size", format_size(size));
    }
    print_canonical(&props, Some("volume"), &["mp"])
}

/// `netN`: a container's network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Net {
    /// Every option as written.
    pub props: PropertyString,
}

impl Net {
    /// The interface name inside the container (`name=`).
    pub fn name(&self) -> Option<&str> {
        self.props.get("name")
    }

    /// The host bridge (`bridge=`).
    pub fn bridge(&self) -> Option<&str> {
        self.props.get("bridge")
    }

    /// The MAC address (`hwaddr=`).
    pub fn hwaddr(&self) -> Option<&str> {
        self.props.get("hwaddr")
    }

    /// The IPv4 address in CIDR form, `dhcp` or `manual` (`ip=`).
    pub fn ip(&self) -> Option<&str> {
        self.props.get("ip")
    }

    /// The IPv4 gateway (`gw=`).
    pub fn gw(&self) -> Option<&str> {
        self.props.get("gw")
    }

    /// Any option by name (`firewall`, `tag`, `mtu`, `ip6`, ...).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key)
    }
}

/// Reads `netN`: `name=eth0,bridge=vmbr0,hwaddr=...,ip=...,type=veth` in any order.
pub fn parse_net(text: &str) -> Result<Net, ParseError> {
    Ok(Net {
        props: parse_property_string(text, None)?,
    })
}

/// Writes a network interface as Proxmox stores it: `name=` first, then the other options
/// sorted (`bridge`, `firewall`, `gw`, `hwaddr`, `ip`, ..., `type`).
pub fn format_net(net: &Net) -> String {
    print_canonical(&net.props, None, &["name"])
}

/// `startup`: `[order=]N[,up=N][,down=N]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Startup {
    /// The boot order.
    pub order: Option<u32>,
    /// Seconds to wait after starting.
    pub up: Option<u32>,
    /// Seconds to wait when shutting down.
    pub down: Option<u32>,
}

/// Reads `startup`.
pub fn parse_startup(text: &str) -> Result<Startup, ParseError> {
    let props = parse_property_string(text, Some("order"))?;
    let mut startup = Startup::default();
    for (key, value) in &props.entries {
        let number = value
            .parse::<u32>()
            .map_err(|_| ParseError::new(0, format!("`{key}` is not a number in `{text}`")))?;
        match key.as_str() {
            "order" => startup.order = Some(number),
            "up" => startup.up = Some(number),
            "down" => startup.down = Some(number),
            _ => {
                return Err(ParseError::new(
                    0,
                    format!("unknown key `{key}` in `{text}`"),
                ));
            }
        }
    }
    Ok(startup)
}

/// `features`: `nesting=1,keyctl=1,fuse=1,mount=nfs;cifs,...`, kept in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Features {
    /// Every flag as written.
    pub props: PropertyString,
}

impl Features {
    /// Whether the boolean feature `name` (`nesting`, `keyctl`, `fuse`, ...) is on.
    pub fn enabled(&self, name: &str) -> bool {
        self.props.get(name).and_then(parse_bool).unwrap_or(false)
    }

    /// The filesystems of `mount=` (`nfs;cifs`).
    pub fn mount(&self) -> Vec<&str> {
        self.props
            .get("mount")
            .map(|value| value.split(';').filter(|fs| !fs.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// Reads `features`.
pub fn parse_features(text: &str) -> Result<Features, ParseError> {
    Ok(Features {
        props: parse_property_string(text, None)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_strings() {
        let props = parse_property_string("a=1,,b=x=y", None).expect("valid");
        assert_eq!(props.get("b"), Some("x=y"));
        assert!(parse_property_string("a=1,a=2", None).is_err());
        assert!(parse_property_string("a=", None).is_err());
        assert!(parse_property_string("bare", None).is_err());
        let props = parse_property_string("2,up=30", Some("order")).expect("valid");
        assert_eq!(props.get("order"), Some("2"));
        assert!(parse_property_string("2,3", Some("order")).is_err());
    }

    #[test]
    fn mount_points() {
        let mount = parse_mount_point("local-zfs:subvol-200-disk-1,mp=/data,backup=1,size=32G")
            .expect("volume");
        assert_eq!(
            mount.source(),
            VolumeSource::Storage {
                storage: "local-zfs".to_owned(),
                name: "subvol-200-disk-1".to_owned()
            }
        );
        assert_eq!(mount.path.as_deref(), Some("/data"));
        assert_eq!(mount.size, Some(32 << 30));
        assert!(mount.flag("backup"));
        assert_eq!(
            format_mount_point(&mount, true),
            "local-zfs:subvol-200-disk-1,mp=/data,backup=1,size=32G"
        );
        let bind = parse_mount_point("/Data-Pool/secrets,ro=yes,mp=/root/.secrets").expect("bind");
        assert!(bind.is_bind());
        assert_eq!(
            format_mount_point(&bind, true),
            "/Data-Pool/secrets,mp=/root/.secrets,ro=1"
        );
        let new = parse_mount_point("local-zfs:8,mp=/x").expect("new");
        assert_eq!(
            new.source(),
            VolumeSource::New {
                storage: Some("local-zfs".to_owned()),
                gib: "8".to_owned()
            }
        );
        assert_eq!(
            parse_mount_point("0.5").expect("default storage").source(),
            VolumeSource::New {
                storage: None,
                gib: "0.5".to_owned()
            }
        );
        assert!(matches!(
            parse_mount_point("/dev/sdb1,mp=/x")
                .expect("device")
                .source(),
            VolumeSource::Device(_)
        ));
        let rootfs = parse_mount_point("local:107/vm-107-disk-1.raw,size=7G").expect("raw");
        assert_eq!(
            format_mount_point(&rootfs, false),
            "local:107/vm-107-disk-1.raw,size=7G"
        );
        assert!(parse_mount_point("local-zfs:x,size=huge").is_err());
    }

    /// Found by fuzzing: `volume=a=b` read as the volume `a=b`, written back bare, read again as
    /// the option `a` with no volume; `volume=\r\r` written back bare was skipped as blank.
    #[test]
    fn issue_8_a_bare_value_that_would_not_read_back_is_written_with_its_key() {
        let mount = parse_mount_point("mp=/x,volume=local:a=b").expect("explicit volume");
        assert_eq!(mount.volume, "local:a=b");
        let written = format_mount_point(&mount, true);
        assert_eq!(written, "volume=local:a=b,mp=/x");
        assert_eq!(parse_mount_point(&written), Ok(mount));
        let blank = parse_mount_point("volume=\r\r").expect("explicit blank volume");
        let written = format_mount_point(&blank, true);
        assert_eq!(written, "volume=\r\r");
        assert_eq!(parse_mount_point(&written), Ok(blank));
        assert_eq!(
            format_mount_point(&parse_mount_point("local:8,mp=/y").expect("bare"), true),
            "local:8,mp=/y"
        );
    }

    #[test]
    fn networks_are_written_name_first_then_sorted() {
        let net = parse_net("bridge=vmbr0,hwaddr=66:64:66:64:64:36,ip=dhcp,name=eth0,type=veth")
            .expect("docs order");
        assert_eq!(net.name(), Some("eth0"));
        assert_eq!(
            format_net(&net),
            "name=eth0,bridge=vmbr0,hwaddr=66:64:66:64:64:36,ip=dhcp,type=veth"
        );
        let net = parse_net("name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,firewall=yes")
            .expect("script order");
        assert_eq!(
            format_net(&net),
            "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,ip=10.0.0.5/24"
        );
    }

    #[test]
    fn startup_and_features() {
        assert_eq!(
            parse_startup("order=2,up=30,down=30").expect("full"),
            Startup {
                order: Some(2),
                up: Some(30),
                down: Some(30)
            }
        );
        assert_eq!(parse_startup("3").expect("bare").order, Some(3));
        assert!(parse_startup("order=x").is_err());
        let features = parse_features("nesting=1,keyctl=0,mount=nfs;cifs").expect("valid");
        assert!(features.enabled("nesting"));
        assert!(!features.enabled("keyctl"));
        assert!(!features.enabled("fuse"));
        assert_eq!(features.mount(), ["nfs", "cifs"]);
    }
}
