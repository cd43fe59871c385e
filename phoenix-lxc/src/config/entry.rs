//! One `lxc_configs` entry decoded concern by concern (sizes, network, origin, features, options,
//! mounts), each a pure function from the raw entry to a value or to every problem found, with
//! its JSON path.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::Severity;
use phoenix_core::config::{JsonPath, excerpt, suggest};

use super::apparmor::{decode_apparmor_profile, with_profile_line};
use super::format::{Shape, check_cidr, check_hostname, check_mac, check_value, is_lxc_key};
use super::{
    ContainerSpec, DEFAULT_SNAPSHOT, IMPLEMENTED_FEATURES, LATER_FEATURES, Mount, Net, Raw,
};

/// Cores Proxmox accepts for a container (`cores`: 1 to 8192).
const CORES: std::ops::RangeInclusive<u64> = 1..=8192;
/// Memory Proxmox accepts, in MiB (`memory`: at least 16).
const MIN_MEMORY_MB: u64 = 16;
/// The largest disk Phoenix asks for, in GiB (1 PiB): anything larger is a typo (MiB given as
/// GiB, say), and keeps size arithmetic far from overflow.
const MAX_DISK_GB: u64 = 1 << 20;
/// Proxmox has mount slots `mp0` to `mp255`.
pub(crate) const MOUNT_SLOTS: usize = 256;
/// The flags `pct set --features` takes, and whether each is a boolean (else a `;` list).
const PCT_FEATURES: &[(&str, bool)] = &[
    ("nesting", true),
    ("keyctl", true),
    ("mknod", true),
    ("fuse", true),
    ("force_rw_sys", true),
    ("mount", false),
];

/// A problem found in an entry, at its JSON path (rooted at the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) severity: Severity,
    pub(crate) at: JsonPath,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn error(at: JsonPath, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            at,
            message: message.into(),
        }
    }
}

/// Every problem of an entry, or the value.
pub(crate) type Checked<T> = Result<T, Vec<Problem>>;

/// Where a container comes from, before its clone parent is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginRef {
    /// A template, checked.
    Template(String),
    /// A clone of the container the config names (as written).
    Clone(String),
}

/// An entry, decoded: the spec (its origin and dependencies still to resolve), the references
/// to other containers, and warnings.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) spec: ContainerSpec,
    pub(crate) origin: OriginRef,
    /// `dependencies` as written, with their paths.
    pub(crate) dependencies: Vec<(String, JsonPath)>,
    pub(crate) warnings: Vec<Problem>,
}

/// Decodes one entry: every concern is checked, and every problem of every concern is
/// returned, so one run reports them all.
pub(crate) fn decode_entry(
    id: u32,
    raw: &Raw,
    path: &JsonPath,
    elsewhere: &BTreeSet<String>,
) -> Checked<Entry> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let name = keep(
        check_hostname(&raw.name).map_err(|m| vec![Problem::error(path.key("name"), m)]),
        &mut problems,
    );
    let sizes = keep(decode_sizes(raw, path), &mut problems);
    let net = keep(decode_net(raw, path), &mut problems);
    let origin = keep(decode_origin(raw, path), &mut problems);
    let snapshot = keep(decode_snapshot_name(raw, path), &mut problems);
    let features =
        keep(decode_features(raw, path, elsewhere), &mut problems).map(|(features, later)| {
            warnings.extend(later);
            features
        });
    let pct_features = keep(decode_pct_features(raw, path), &mut problems);
    let lxc = keep(decode_lxc_options(raw, path), &mut problems);
    let apparmor = keep(decode_apparmor_profile(raw, path), &mut problems);
    let lxc = match (lxc, apparmor) {
        (Some(lxc), Some(profile)) => keep(
            with_profile_line(lxc, profile.as_ref(), path),
            &mut problems,
        )
        .map(|lxc| (lxc, profile)),
        _ => None,
    };
    let mounts = keep(decode_mounts(raw, path), &mut problems);
    let (
        Some(()),
        Some(sizes),
        Some(net),
        Some(origin),
        Some(snapshot),
        Some(features),
        Some(pct_features),
        Some((lxc, apparmor)),
        Some(mounts),
    ) = (
        name,
        sizes,
        net,
        origin,
        snapshot,
        features,
        pct_features,
        lxc,
        mounts,
    )
    else {
        return Err(problems);
    };
    let dependencies = raw
        .dependencies
        .iter()
        .enumerate()
        .map(|(i, dependency)| (id_text(dependency), path.key("dependencies").index(i)))
        .collect();
    let spec = ContainerSpec {
        id,
        ensure: raw.ensure.unwrap_or_default(),
        hostname: raw.name.clone(),
        memory_mb: sizes.memory_mb,
        swap_mb: raw.swap_mb,
        cores: sizes.cores,
        storage: sizes.storage,
        rootfs_gb: sizes.rootfs_gb,
        origin: super::Origin::Template(String::new()),
        net,
        unprivileged: raw.unprivileged.unwrap_or(true),
        features,
        inherits_features: false,
        pct_features,
        lxc,
        apparmor_profile: apparmor.map(|profile| {
            if let Some(warning) = profile.warning(&path.key("apparmor_profile")) {
                warnings.push(warning);
            }
            profile.name
        }),
        start_at_boot: raw.start_at_boot.unwrap_or(false),
        boot_order: raw.boot_order,
        boot_delay: raw.boot_delay,
        dependencies: Vec::new(),
        mounts,
        snapshot,
        gpus: raw
            .gpu_assignment
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .and_then(|text| phoenix_services::guests::parse_gpu_assignment(text).ok()),
    };
    Ok(Entry {
        spec,
        origin,
        dependencies,
        warnings,
    })
}

/// The value, or `None` with its problems added to `problems`.
fn keep<T>(result: Checked<T>, problems: &mut Vec<Problem>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(found) => {
            problems.extend(found);
            None
        }
    }
}

/// A container id as written: a JSON string or number.
pub(crate) fn id_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Memory, cores, the root disk and its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub(crate) memory_mb: u64,
    pub(crate) cores: u32,
    pub(crate) rootfs_gb: u64,
    pub(crate) storage: String,
}

/// Sizes in the ranges Proxmox accepts: a zero is an error, never a container silently left out.
pub(crate) fn decode_sizes(raw: &Raw, path: &JsonPath) -> Checked<Sizes> {
    let mut problems = Vec::new();
    let mut required = |field: &str, value: Option<u64>, min: u64, max: u64, unit: &str| {
        match value {
            None => problems.push(Problem::error(
                path.clone(),
                format!("missing key {field:?}"),
            )),
            Some(n) if n < min || n > max => problems.push(Problem::error(
                path.key(field),
                format!("expected {min} to {max}{unit}, found {n}"),
            )),
            Some(_) => {}
        }
        value.unwrap_or(0)
    };
    let memory_mb = required(
        "memory_mb",
        raw.memory_mb,
        MIN_MEMORY_MB,
        u64::from(u32::MAX),
        " MiB",
    );
    let cores = required(
        "cores",
        raw.cores.map(u64::from),
        *CORES.start(),
        *CORES.end(),
        " cores",
    );
    let rootfs_gb = required(
        "storage_size_gb",
        raw.storage_size_gb,
        1,
        MAX_DISK_GB,
        " GiB",
    );
    let storage = match &raw.storage_pool {
        None => {
            problems.push(Problem::error(path.clone(), "missing key \"storage_pool\""));
            String::new()
        }
        Some(storage) => check_value(Shape::StorageId, storage).unwrap_or_else(|m| {
            problems.push(Problem::error(path.key("storage_pool"), m));
            String::new()
        }),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Sizes {
        memory_mb,
        cores: u32::try_from(cores).expect("invariant: cores were checked to be at most 8192"),
        rootfs_gb,
        storage,
    })
}

/// `net0`: every value that goes into the property string is checked against its format.
pub(crate) fn decode_net(raw: &Raw, path: &JsonPath) -> Checked<Net> {
    let at = path.key("network_config");
    let mut problems = Vec::new();
    let mut shaped = |field: &str, shape: Shape, value: &str| {
        check_value(shape, value).unwrap_or_else(|m| {
            problems.push(Problem::error(at.key(field), m));
            String::new()
        })
    };
    let name = shaped("name", Shape::Interface, &raw.network_config.name);
    let bridge = shaped("bridge", Shape::Interface, &raw.network_config.bridge);
    let ip = raw.network_config.ip.trim().to_owned();
    if ip != "dhcp"
        && let Err(m) = check_cidr(&ip)
    {
        problems.push(Problem::error(at.key("ip"), m));
    }
    let gw = raw.network_config.gw.clone().filter(|g| !g.is_empty());
    if let Some(gw) = &gw
        && gw.parse::<std::net::Ipv4Addr>().is_err()
    {
        problems.push(Problem::error(
            at.key("gw"),
            format!("expected an IPv4 address, found {}", excerpt(gw)),
        ));
    }
    let hwaddr = match raw.mac_address.as_deref().map(check_mac) {
        None => None,
        Some(Ok(mac)) => Some(mac),
        Some(Err(m)) => {
            problems.push(Problem::error(path.key("mac_address"), m));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Net {
        name,
        bridge,
        ip,
        gw,
        hwaddr,
        firewall: firewall_enabled(raw),
    })
}

/// Whether `firewall.enabled` is true. phoenix-net owns the `firewall` object and reports a
/// value of the wrong type; here anything but `true` leaves the firewall flag off.
fn firewall_enabled(raw: &Raw) -> bool {
    raw.firewall
        .as_ref()
        .and_then(|firewall| firewall.get("enabled"))
        .and_then(serde_json::Value::as_bool)
        == Some(true)
}

/// A template or a clone parent, never both or neither.
pub(crate) fn decode_origin(raw: &Raw, path: &JsonPath) -> Checked<OriginRef> {
    match (&raw.template, &raw.clone_from_ctid) {
        (Some(_), Some(_)) => Err(vec![Problem::error(
            path.clone(),
            "give either template or clone_from_ctid, not both",
        )]),
        (Some(template), None) => check_value(Shape::Template, template)
            .map(OriginRef::Template)
            .map_err(|m| vec![Problem::error(path.key("template"), m)]),
        (None, Some(parent)) => Ok(OriginRef::Clone(id_text(parent))),
        (None, None) => Err(vec![Problem::error(
            path.clone(),
            "expected template (a template tarball) or clone_from_ctid",
        )]),
    }
}

/// The snapshot kept after provisioning: it names a conf section and a `pct` argument.
pub(crate) fn decode_snapshot_name(raw: &Raw, path: &JsonPath) -> Checked<String> {
    match &raw.template_snapshot_name {
        None => Ok(DEFAULT_SNAPSHOT.to_owned()),
        Some(name) => check_value(Shape::SnapshotName, name)
            .map_err(|m| vec![Problem::error(path.key("template_snapshot_name"), m)]),
    }
}

/// The features in order: those implemented here or by a registered provider (`elsewhere`, see
/// `Provider::guest_features`) are kept; a feature of the upstream tool that no registered
/// provider implements is a warning (and skipped); anything else is an error.
pub(crate) fn decode_features(
    raw: &Raw,
    path: &JsonPath,
    elsewhere: &BTreeSet<String>,
) -> Checked<(Vec<String>, Vec<Problem>)> {
    let mut features = Vec::new();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let all: BTreeSet<&str> = IMPLEMENTED_FEATURES
        .iter()
        .chain(LATER_FEATURES)
        .copied()
        .chain(elsewhere.iter().map(String::as_str))
        .collect();
    let all: Vec<&str> = all.into_iter().collect();
    for (i, feature) in raw.features.iter().enumerate() {
        let at = path.key("features").index(i);
        if raw.features[..i].contains(feature) {
            problems.push(Problem::error(
                at,
                format!("feature {} is listed twice", excerpt(feature)),
            ));
        } else if IMPLEMENTED_FEATURES.contains(&feature.as_str()) || elsewhere.contains(feature) {
            features.push(feature.clone());
        } else if LATER_FEATURES.contains(&feature.as_str()) {
            warnings.push(Problem {
                severity: Severity::Warning,
                at,
                message: format!(
                    "feature {feature:?} is not implemented by any registered provider; it is skipped"
                ),
            });
        } else {
            let hint = suggest(feature, all.iter().copied())
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_else(|| format!(" (known: {})", all.join(", ")));
            problems.push(Problem::error(
                at,
                format!("unknown feature {}{hint}", excerpt(feature)),
            ));
        }
    }
    if problems.is_empty() {
        Ok((features, warnings))
    } else {
        Err(problems)
    }
}

/// `pct_options`: `pct set --features` flags, each once, booleans as 0 or 1 and `mount` as a
/// `;` list of filesystem types.
pub(crate) fn decode_pct_features(raw: &Raw, path: &JsonPath) -> Checked<BTreeMap<String, String>> {
    let mut flags = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, option) in raw.pct_options.iter().enumerate() {
        let at = path.key("pct_options").index(i);
        let known = option.split_once('=').and_then(|(k, v)| {
            PCT_FEATURES
                .iter()
                .find(|(name, _)| *name == k)
                .map(|f| (f, v))
        });
        let Some((&(name, boolean), value)) = known else {
            problems.push(Problem::error(
                at,
                format!(
                    "expected a container feature flag such as nesting=1, keyctl=1, mknod=1, fuse=1; found {}",
                    excerpt(option)
                ),
            ));
            continue;
        };
        let valid = if boolean {
            matches!(value, "0" | "1")
        } else {
            value.split(';').all(|fs| {
                !fs.is_empty()
                    && fs
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        };
        if !valid {
            let expected = if boolean {
                "0 or 1"
            } else {
                "filesystem types separated by ';' (such as nfs;cifs)"
            };
            problems.push(Problem::error(
                at,
                format!("expected {name}={expected}, found {}", excerpt(option)),
            ));
        } else if flags.insert(name.to_owned(), value.to_owned()).is_some() {
            problems.push(Problem::error(at, format!("{name} is given twice")));
        }
    }
    if problems.is_empty() {
        Ok(flags)
    } else {
        Err(problems)
    }
}

/// `lxc_options`: `lxc.key=value` or `lxc.key: value`, split at the first `=` or `:`, with a key
/// of the `lxc.` grammar. Values are single lines (checked for every string of the config).
pub(crate) fn decode_lxc_options(raw: &Raw, path: &JsonPath) -> Checked<Vec<(String, String)>> {
    let mut options = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in raw.lxc_options.iter().enumerate() {
        let split = line
            .find(['=', ':'])
            .map(|at| (&line[..at], &line[at + 1..]));
        match split {
            Some((key, value)) if is_lxc_key(key.trim()) => {
                options.push((key.trim().to_owned(), value.trim().to_owned()));
            }
            // The value is never echoed: an option may hold a secret (lxc.environment).
            _ => problems.push(Problem::error(
                path.key("lxc_options").index(i),
                format!(
                    "expected a raw LXC option such as lxc.apparmor.profile=unconfined (a key of lowercase dot-separated words after lxc.), found {}",
                    match split {
                        Some((key, value)) => format!(
                            "the key {} (its value, {} bytes, is not shown)",
                            excerpt(key),
                            value.len()
                        ),
                        None => format!("no = or : ({} bytes, not shown)", line.len()),
                    }
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(options)
    } else {
        Err(problems)
    }
}

/// Storage volumes (`volumes`, `zfs_volumes`): a storage, a size and a mount point, each of its
/// property-string format.
pub(crate) fn decode_mounts(raw: &Raw, path: &JsonPath) -> Checked<Vec<Mount>> {
    let mut mounts = Vec::new();
    let mut problems = Vec::new();
    for (field, volumes) in [("volumes", &raw.volumes), ("zfs_volumes", &raw.zfs_volumes)] {
        for (i, volume) in volumes.iter().enumerate() {
            let at = path.key(field).index(i);
            let mount_point = check_value(Shape::Path, &volume.mount_point)
                .map_err(|m| problems.push(Problem::error(at.key("mount_point"), m)));
            let storage = check_value(Shape::StorageId, &volume.pool)
                .map_err(|m| problems.push(Problem::error(at.key("pool"), m)));
            if volume.size_gb == 0 || volume.size_gb > MAX_DISK_GB {
                problems.push(Problem::error(
                    at.key("size_gb"),
                    format!("expected 1 to {MAX_DISK_GB} GiB, found {}", volume.size_gb),
                ));
            }
            if let (Ok(path), Ok(storage)) = (mount_point, storage) {
                mounts.push(Mount::Volume {
                    path,
                    storage,
                    size_gb: volume.size_gb,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(mounts)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A minimal valid entry with `fields` merged in (a `null` removes a key).
    fn raw(fields: Value) -> Raw {
        let mut entry = json!({
            "name": "ct",
            "memory_mb": 2048,
            "cores": 2,
            "storage_pool": "local-zfs",
            "storage_size_gb": 8,
            "template": "local:vztmpl/debian-12.tar.zst",
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}
        });
        let (Some(entry_map), Value::Object(fields)) = (entry.as_object_mut(), fields) else {
            panic!("objects");
        };
        for (key, value) in fields {
            if value.is_null() {
                entry_map.remove(&key);
            } else {
                entry_map.insert(key, value);
            }
        }
        serde_json::from_value(entry).expect("a raw entry")
    }

    fn path() -> JsonPath {
        JsonPath::root().key("lxc_configs").key("101")
    }

    /// Renders an outcome: the value's Debug, or one `at: message` line per problem.
    fn render<T: std::fmt::Debug>(outcome: Checked<T>) -> String {
        match outcome {
            Ok(value) => format!("{value:?}"),
            Err(problems) => problems
                .iter()
                .map(|p| format!("{}: {}", p.at, p.message))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// One concern's table: each row is the fields merged into the minimal entry and the
    /// expected rendering.
    fn check<T: std::fmt::Debug>(
        decode: impl Fn(&Raw, &JsonPath) -> Checked<T>,
        rows: &[(Value, &str)],
    ) {
        for (fields, expect) in rows {
            assert_eq!(
                render(decode(&raw(fields.clone()), &path())),
                *expect,
                "{fields}"
            );
        }
    }

    #[test]
    fn issue_8_sizes_out_of_range_are_errors_at_their_path() {
        check(
            decode_sizes,
            &[
                (
                    json!({}),
                    r#"Sizes { memory_mb: 2048, cores: 2, rootfs_gb: 8, storage: "local-zfs" }"#,
                ),
                (
                    json!({"memory_mb": 0}),
                    r#"lxc_configs."101".memory_mb: expected 16 to 4294967295 MiB, found 0"#,
                ),
                (
                    json!({"cores": 0}),
                    r#"lxc_configs."101".cores: expected 1 to 8192 cores, found 0"#,
                ),
                (
                    json!({"cores": 9000}),
                    r#"lxc_configs."101".cores: expected 1 to 8192 cores, found 9000"#,
                ),
                (
                    json!({"storage_size_gb": 0}),
                    r#"lxc_configs."101".storage_size_gb: expected 1 to 1048576 GiB, found 0"#,
                ),
                (
                    json!({"memory_mb": null, "storage_pool": "local-zfs:8"}),
                    "lxc_configs.\"101\": missing key \"memory_mb\"\nlxc_configs.\"101\".storage_pool: expected a Proxmox storage id: a letter, then letters, digits, '-', '_' or '.' (such as local-zfs), found \"local-zfs:8\"",
                ),
            ],
        );
    }

    #[test]
    fn issue_8_network_values_fit_the_net0_property_string() {
        check(
            decode_net,
            &[
                (
                    json!({}),
                    r#"Net { name: "eth0", bridge: "vmbr0", ip: "dhcp", gw: None, hwaddr: None, firewall: false }"#,
                ),
                (
                    json!({"network_config": {"bridge": "vmbr0,ip=1.2.3.4/24", "ip": "10.0.0.5/24", "gw": "10.0.0.1"}}),
                    r#"lxc_configs."101".network_config.bridge: expected an interface name of 1 to 15 letters, digits, '-', '_' or '.' (such as vmbr0), found "vmbr0,ip=1.2.3.4/24""#,
                ),
                (
                    json!({"network_config": {"name": "eth0,gw=1.1.1.1", "bridge": "vmbr0", "ip": "10.0.0.5/24,gw=1.1.1.1", "gw": "x"}, "mac_address": "53:00:00:00:00:01"}),
                    "lxc_configs.\"101\".network_config.name: expected an interface name of 1 to 15 letters, digits, '-', '_' or '.' (such as vmbr0), found \"eth0,gw=1.1.1.1\"\nlxc_configs.\"101\".network_config.ip: expected a prefix length 0..32 in \"10.0.0.5/24,gw=1.1.1.1\"\nlxc_configs.\"101\".network_config.gw: expected an IPv4 address, found \"x\"\nlxc_configs.\"101\".mac_address: 53:00:00:00:00:01 is a multicast address; a container needs a unicast MAC",
                ),
            ],
        );
    }

    #[test]
    fn issue_8_origins_and_snapshot_names_are_checked() {
        check(
            decode_origin,
            &[
                (json!({}), r#"Template("local:vztmpl/debian-12.tar.zst")"#),
                (
                    json!({"template": null, "clone_from_ctid": 900}),
                    r#"Clone("900")"#,
                ),
                (
                    json!({"template": null, "clone_from_ctid": "900"}),
                    r#"Clone("900")"#,
                ),
                (
                    json!({"clone_from_ctid": 900}),
                    r#"lxc_configs."101": give either template or clone_from_ctid, not both"#,
                ),
                (
                    json!({"template": null}),
                    r#"lxc_configs."101": expected template (a template tarball) or clone_from_ctid"#,
                ),
                (
                    json!({"template": "/x.tar.zst rootfs"}),
                    r#"lxc_configs."101".template: expected a template: an absolute path or storage:vztmpl/FILE, without ',', whitespace or control characters, found "/x.tar.zst rootfs""#,
                ),
            ],
        );
        check(
            decode_snapshot_name,
            &[
                (json!({}), r#""final-form""#),
                (
                    json!({"template_snapshot_name": "pre-configured"}),
                    r#""pre-configured""#,
                ),
                (
                    json!({"template_snapshot_name": "x y"}),
                    r#"lxc_configs."101".template_snapshot_name: expected a snapshot name: a letter, then up to 39 letters, digits, '-' or '_' (such as final-form), found "x y""#,
                ),
            ],
        );
    }

    #[test]
    fn features_are_implemented_later_or_unknown() {
        let elsewhere: BTreeSet<String> = ["nvidia".to_owned()].into();
        check(
            |raw, path| decode_features(raw, path, &elsewhere),
            &[
                (
                    json!({"features": ["base_setup"]}),
                    r#"(["base_setup"], [])"#,
                ),
                (
                    json!({"features": ["base_setup", "nvidia"]}),
                    r#"(["base_setup", "nvidia"], [])"#,
                ),
                (
                    json!({"features": ["nvidia", "nvidia"]}),
                    r#"lxc_configs."101".features[1]: feature "nvidia" is listed twice"#,
                ),
                (
                    json!({"features": ["base_setup", "docker"]}),
                    r#"(["base_setup"], [Problem { severity: Warning, at: JsonPath { segments: [Key("lxc_configs"), Key("101"), Key("features"), Index(1)] }, message: "feature \"docker\" is not implemented by any registered provider; it is skipped" }])"#,
                ),
                (
                    json!({"features": ["dokcer"]}),
                    r#"lxc_configs."101".features[0]: unknown feature "dokcer"; did you mean "docker"?"#,
                ),
            ],
        );
    }

    #[test]
    fn issue_8_pct_features_and_lxc_options_are_checked() {
        check(
            decode_pct_features,
            &[
                (
                    json!({"pct_options": ["nesting=1", "keyctl=1", "mount=nfs;cifs"]}),
                    r#"{"keyctl": "1", "mount": "nfs;cifs", "nesting": "1"}"#,
                ),
                (
                    json!({"pct_options": ["nesting=1,mknod=1"]}),
                    r#"lxc_configs."101".pct_options[0]: expected nesting=0 or 1, found "nesting=1,mknod=1""#,
                ),
                (
                    json!({"pct_options": ["mount=nfs,x=y"]}),
                    r#"lxc_configs."101".pct_options[0]: expected mount=filesystem types separated by ';' (such as nfs;cifs), found "mount=nfs,x=y""#,
                ),
                (
                    json!({"pct_options": ["nesting=1", "nesting=0"]}),
                    r#"lxc_configs."101".pct_options[1]: nesting is given twice"#,
                ),
                (
                    json!({"pct_options": ["memory=1"]}),
                    r#"lxc_configs."101".pct_options[0]: expected a container feature flag such as nesting=1, keyctl=1, mknod=1, fuse=1; found "memory=1""#,
                ),
            ],
        );
        check(
            decode_lxc_options,
            &[
                (
                    json!({"lxc_options": ["lxc.apparmor.profile=unconfined", "lxc.cgroup2.devices.allow: c 195:* rwm", "lxc.cap.drop="]}),
                    r#"[("lxc.apparmor.profile", "unconfined"), ("lxc.cgroup2.devices.allow", "c 195:* rwm"), ("lxc.cap.drop", "")]"#,
                ),
                (
                    json!({"lxc_options": ["lxc.x y=1", "memory: 1", "lxc.$(id)=1", "HF_TOKEN"]}),
                    "lxc_configs.\"101\".lxc_options[0]: expected a raw LXC option such as lxc.apparmor.profile=unconfined (a key of lowercase dot-separated words after lxc.), found the key \"lxc.x y\" (its value, 1 bytes, is not shown)\nlxc_configs.\"101\".lxc_options[1]: expected a raw LXC option such as lxc.apparmor.profile=unconfined (a key of lowercase dot-separated words after lxc.), found the key \"memory\" (its value, 2 bytes, is not shown)\nlxc_configs.\"101\".lxc_options[2]: expected a raw LXC option such as lxc.apparmor.profile=unconfined (a key of lowercase dot-separated words after lxc.), found the key \"lxc.$(id)\" (its value, 1 bytes, is not shown)\nlxc_configs.\"101\".lxc_options[3]: expected a raw LXC option such as lxc.apparmor.profile=unconfined (a key of lowercase dot-separated words after lxc.), found no = or : (8 bytes, not shown)",
                ),
            ],
        );
    }

    #[test]
    fn issue_8_volumes_fit_the_mp_property_string() {
        check(
            decode_mounts,
            &[
                (
                    json!({"volumes": [{"pool": "fastData", "size_gb": 10, "mount_point": "/data//models/"}]}),
                    r#"[Volume { path: "/data/models", storage: "fastData", size_gb: 10 }]"#,
                ),
                (
                    json!({"zfs_volumes": [{"pool": "fast,x=1", "size_gb": 0, "mount_point": "/x,mp=/root"}]}),
                    "lxc_configs.\"101\".zfs_volumes[0].mount_point: expected an absolute path without ',', '=', whitespace or \"..\", found \"/x,mp=/root\"\nlxc_configs.\"101\".zfs_volumes[0].pool: expected a Proxmox storage id: a letter, then letters, digits, '-', '_' or '.' (such as local-zfs), found \"fast,x=1\"\nlxc_configs.\"101\".zfs_volumes[0].size_gb: expected 1 to 1048576 GiB, found 0",
                ),
                (
                    json!({"volumes": [{"pool": "fastData", "size_gb": 1, "mount_point": "/srv/../root"}]}),
                    "lxc_configs.\"101\".volumes[0].mount_point: expected a path without \"..\" components, found \"/srv/../root\"",
                ),
            ],
        );
    }

    #[test]
    fn an_entry_reports_every_concern_at_once() {
        let raw = raw(
            json!({"memory_mb": 0, "network_config": {"bridge": "vmbr 0", "ip": "dhcp"}, "lxc_options": ["x"]}),
        );
        let problems =
            decode_entry(101, &raw, &path(), &BTreeSet::new()).expect_err("three problems");
        let fields: Vec<String> = problems.iter().map(|p| p.at.to_string()).collect();
        assert_eq!(
            fields,
            [
                r#"lxc_configs."101".memory_mb"#,
                r#"lxc_configs."101".network_config.bridge"#,
                r#"lxc_configs."101".lxc_options[0]"#
            ]
        );
    }
}
