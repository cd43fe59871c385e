//! The Qdrant servers of the config: each container with the `qdrant` feature (its own or
//! inherited), configured by the optional `qdrant` object of its `lxc_configs` entry:
//!
//! ```json
//! "qdrant": {"version": "1.19.1", "sha256": "...", "http_port": 6333, "grpc_port": 6334,
//!            "storage_path": "/qdrant/storage", "api_key_file": "/root/phoenix/qdrant-api-key"}
//! ```
//!
//! Every key is optional. The release defaults to [`DEFAULT_VERSION`]; another version needs its
//! `sha256`. The storage path (default [`DEFAULT_STORAGE_PATH`]) must be the mount point of one
//! of the container's own `volumes` (or `zfs_volumes`), so the data lives on a persistent
//! dataset and not in the container's root disk (upstream's Docker 952 lost its data on every
//! converge); snapshots go to `snapshots` inside it. The API key is read on the node from
//! `api_key_file` (a root-only file, never the config); without one Qdrant answers anyone, which
//! is a note.
//!
//! Upstream's 952 lists only `docker` and ran `qdrant/qdrant:latest` in Docker. A container
//! without the `qdrant` feature whose volume is mounted at `/qdrant/storage` gets a note saying
//! to add the feature ([`Servers::problems`]).

use std::collections::BTreeMap;

use phoenix_core::config::{ConfigSet, JsonPath};
use phoenix_core::{Location, Severity};
use serde_json::Value;

use crate::endpoint::{Endpoint, Problem, is_plain_absolute_path, is_sha256, is_version, locate};
use crate::guests::{Guest, guests};

/// The feature and the key of a container entry.
pub const FEATURE: &str = "qdrant";

/// Qdrant's REST port by default.
pub const DEFAULT_HTTP_PORT: u16 = 6333;

/// Qdrant's gRPC port by default.
pub const DEFAULT_GRPC_PORT: u16 = 6334;

/// The release installed when the config names none.
pub const DEFAULT_VERSION: &str = "1.19.1";

/// The sha256 of [`DEFAULT_VERSION`]'s `qdrant-x86_64-unknown-linux-gnu.tar.gz` (as pinned by
/// a public project that measured it; Phoenix checks the download against it before unpacking).
pub const DEFAULT_SHA256: &str = "eef986e769d4d3e806dd2d546e1b4ecdd416211e54d34b4ed764fac7c58e1085";

/// The storage path by default: the mount point of the data volume in the lab's and upstream's
/// 952, and the path of Qdrant's own container image.
pub const DEFAULT_STORAGE_PATH: &str = "/qdrant/storage";

/// The keys of the `qdrant` object.
const KEYS: &[&str] = &[
    "version",
    "sha256",
    "http_port",
    "grpc_port",
    "storage_path",
    "api_key_file",
];

/// The container volume the data lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVolume {
    /// `volumes` or `zfs_volumes`.
    pub field: String,
    /// Its index in that list.
    pub index: usize,
    /// The Proxmox storage id it is allocated on (`pool` in the config).
    pub storage: String,
    /// Its mount point in the container.
    pub mount_point: String,
    /// Its size in GiB.
    pub size_gb: u64,
}

impl DataVolume {
    /// Its JSON path in the container entry.
    pub fn path(&self, entry: &JsonPath) -> JsonPath {
        entry.key(&self.field).index(self.index)
    }
}

/// One Qdrant server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qdrant {
    /// Where its REST API answers.
    pub endpoint: Endpoint,
    /// The gRPC port.
    pub grpc_port: u16,
    /// The release version.
    pub version: String,
    /// The sha256 of the release archive.
    pub sha256: String,
    /// `storage.storage_path`.
    pub storage_path: String,
    /// `storage.snapshots_path`: `snapshots` inside the storage path.
    pub snapshots_path: String,
    /// The volume the storage path is on.
    pub volume: DataVolume,
    /// The node's root-only file holding the API key, if any.
    pub api_key_file: Option<String>,
    /// The JSON path of the container entry.
    pub path: JsonPath,
    /// Where the entry is.
    pub location: Location,
}

/// The Qdrant servers of a config (by container id) and the problems of their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Servers {
    /// The servers whose keys are valid.
    pub servers: BTreeMap<u32, Qdrant>,
    /// Errors and notes, each at its JSON path; a container with an error has no server.
    pub problems: Vec<Problem>,
}

/// Reads every container with the `qdrant` feature.
pub fn servers(config: &ConfigSet) -> Servers {
    let mut out = Servers::default();
    for guest in guests(config).values() {
        if !guest.has(FEATURE) {
            if let Some(volume) = volumes(guest)
                .into_iter()
                .find(|v| v.mount_point == DEFAULT_STORAGE_PATH)
            {
                let at = volume.path(&guest.path);
                out.problems.push(Problem {
                    location: locate(config, &at),
                    at,
                    message: format!(
                        "container {} has a volume at {DEFAULT_STORAGE_PATH} but not the qdrant feature: upstream ran Qdrant there in Docker without that volume (its data was lost on every converge); add \"qdrant\" to its features to have Phoenix run a pinned Qdrant on the volume",
                        guest.vmid
                    ),
                    severity: Severity::Note,
                });
            }
            continue;
        }
        let before = out.problems.len();
        let server = read(config, guest, &mut out.problems);
        if let Some(server) = server
            && !out.problems[before..].iter().any(Problem::is_error)
        {
            out.servers.insert(guest.vmid, server);
        }
    }
    out
}

/// The Qdrant server of `guest`; problems go to `problems`.
fn read(config: &ConfigSet, guest: &Guest, problems: &mut Vec<Problem>) -> Option<Qdrant> {
    let at = guest.path_of(FEATURE);
    let mut report = |path: JsonPath, message: String, is_note: bool| {
        problems.push(Problem {
            location: locate(config, &path),
            at: path,
            message,
            severity: if is_note {
                Severity::Note
            } else {
                Severity::Error
            },
        });
    };
    let object = match guest.entry.get(FEATURE) {
        None => serde_json::Map::new(),
        Some(Value::Object(object)) => object.clone(),
        Some(_) => {
            report(
                at.clone(),
                format!("expected an object with {}", KEYS.join(", ")),
                false,
            );
            serde_json::Map::new()
        }
    };
    for key in object.keys() {
        if !KEYS.contains(&key.as_str()) {
            report(
                at.key(key),
                format!("unknown key {key:?}: expected one of {}", KEYS.join(", ")),
                false,
            );
        }
    }
    let text = |key: &str| object.get(key).map(|v| (v.as_str(), v));
    let version = match text("version") {
        None => DEFAULT_VERSION.to_owned(),
        Some((Some(v), _)) if is_version(v) => v.to_owned(),
        Some((_, value)) => {
            report(
                at.key("version"),
                format!("expected a release version such as {DEFAULT_VERSION}, found {value}"),
                false,
            );
            DEFAULT_VERSION.to_owned()
        }
    };
    let sha256 = match text("sha256") {
        Some((Some(s), _)) if is_sha256(s) => s.to_owned(),
        None if version == DEFAULT_VERSION => DEFAULT_SHA256.to_owned(),
        None => {
            report(
                at.key("sha256"),
                format!(
                    "version {version} needs the sha256 of its qdrant-x86_64-unknown-linux-gnu.tar.gz: Phoenix installs only an archive it can check"
                ),
                false,
            );
            String::new()
        }
        Some((_, value)) => {
            report(
                at.key("sha256"),
                format!(
                    "expected the sha256 of the release archive in lowercase hex, found {value}"
                ),
                false,
            );
            String::new()
        }
    };
    let mut port = |key: &str, default: u16| match object.get(key) {
        None => default,
        Some(value) => match value.as_u64().and_then(|n| u16::try_from(n).ok()) {
            Some(port) if port > 0 => port,
            _ => {
                report(
                    at.key(key),
                    format!("expected a TCP port from 1 to 65535, found {value}"),
                    false,
                );
                default
            }
        },
    };
    let http_port = port("http_port", DEFAULT_HTTP_PORT);
    let grpc_port = port("grpc_port", DEFAULT_GRPC_PORT);
    if http_port == grpc_port {
        report(
            at.key("grpc_port"),
            format!("the gRPC port {grpc_port} is the REST port too"),
            false,
        );
    }
    let storage_path = match text("storage_path") {
        None => DEFAULT_STORAGE_PATH.to_owned(),
        Some((Some(p), _)) if is_plain_absolute_path(p) => p.to_owned(),
        Some((_, value)) => {
            report(
                at.key("storage_path"),
                format!(
                    "expected an absolute path of letters, digits, '.', '_' and '-', found {value}"
                ),
                false,
            );
            return None;
        }
    };
    let api_key_file = match text("api_key_file") {
        None => {
            report(
                at.clone(),
                format!(
                    "container {}: Qdrant runs without an API key (set qdrant.api_key_file to a root-only file on the node)",
                    guest.vmid
                ),
                true,
            );
            None
        }
        Some((Some(p), _)) if is_plain_absolute_path(p) => Some(p.to_owned()),
        Some((_, value)) => {
            report(
                at.key("api_key_file"),
                format!("expected an absolute path on the node, found {value}"),
                false,
            );
            None
        }
    };
    let volume = volumes(guest)
        .into_iter()
        .find(|v| v.mount_point == storage_path);
    let Some(volume) = volume else {
        let path = if object.contains_key("storage_path") {
            at.key("storage_path")
        } else {
            guest.path_of("volumes")
        };
        report(
            path,
            format!(
                "Qdrant's storage path {storage_path} is not the mount point of a volume of container {}: its data would live in the container's root disk; add a volume mounted there (volumes: [{{\"pool\": ..., \"size_gb\": ..., \"mount_point\": \"{storage_path}\"}}])",
                guest.vmid
            ),
            false,
        );
        return None;
    };
    Some(Qdrant {
        endpoint: Endpoint::of(guest, http_port),
        grpc_port,
        version,
        sha256,
        snapshots_path: format!("{storage_path}/snapshots"),
        storage_path,
        volume,
        api_key_file,
        path: guest.path.clone(),
        location: guest.location.clone(),
    })
}

/// The container's own volumes that have a storage, a size and a mount point (phoenix-lxc
/// reports the others).
fn volumes(guest: &Guest) -> Vec<DataVolume> {
    let mut out = Vec::new();
    for field in ["volumes", "zfs_volumes"] {
        let Some(items) = guest.entry.get(field).and_then(Value::as_array) else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            let storage = item.get("pool").and_then(Value::as_str);
            let mount_point = item.get("mount_point").and_then(Value::as_str);
            let size_gb = item.get("size_gb").and_then(Value::as_u64);
            if let (Some(storage), Some(mount_point), Some(size_gb)) =
                (storage, mount_point, size_gb)
            {
                out.push(DataVolume {
                    field: field.to_owned(),
                    index,
                    storage: storage.to_owned(),
                    mount_point: mount_point.to_owned(),
                    size_gb,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use phoenix_core::config::Document;

    use super::*;

    fn read(text: &str) -> Servers {
        let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
        servers(&ConfigSet::from_documents(vec![document]))
    }

    #[test]
    fn issue_12_the_qdrant_keys_are_read_and_the_storage_must_be_a_volume() {
        let servers = read(
            r#"{"lxc_configs": {
                "952": {"features": ["qdrant"], "name": "qdrant", "network_config": {"ip": "10.0.0.152/24"},
                        "volumes": [{"name": "qdrant_data", "pool": "shared-prod", "size_gb": 20, "mount_point": "/qdrant/storage"}],
                        "qdrant": {"api_key_file": "/root/phoenix/qdrant-api-key"}},
                "953": {"features": ["qdrant"], "qdrant": {"storage_path": "/var/lib/qdrant", "http_port": 6334, "version": "1.20.0"}},
                "954": {"features": ["qdrant"], "volumes": [{"pool": "p", "size_gb": 1, "mount_point": "/qdrant/storage"}]},
                "960": {"features": ["docker"], "volumes": [{"pool": "p", "size_gb": 1, "mount_point": "/qdrant/storage"}]}
            }}"#,
        );
        let qdrant = &servers.servers[&952];
        assert_eq!(qdrant.endpoint.to_string(), "ct 952 10.0.0.152:6333");
        assert_eq!(qdrant.grpc_port, 6334);
        assert_eq!(qdrant.storage_path, "/qdrant/storage");
        assert_eq!(qdrant.snapshots_path, "/qdrant/storage/snapshots");
        assert_eq!(qdrant.volume.storage, "shared-prod");
        assert_eq!(
            qdrant.volume.path(&qdrant.path).to_string(),
            r#"lxc_configs."952".volumes[0]"#
        );
        assert_eq!(
            qdrant.api_key_file.as_deref(),
            Some("/root/phoenix/qdrant-api-key")
        );
        assert_eq!(
            (qdrant.version.as_str(), qdrant.sha256.as_str()),
            (DEFAULT_VERSION, DEFAULT_SHA256)
        );
        assert!(servers.servers.contains_key(&954), "no API key is a note");
        assert_eq!(servers.servers.len(), 2);
        let problems: Vec<String> = servers
            .problems
            .iter()
            .map(|p| format!("{} {}: {}", p.severity, p.at, p.message))
            .collect();
        assert_eq!(
            problems,
            [
                r#"error lxc_configs."953".qdrant.sha256: version 1.20.0 needs the sha256 of its qdrant-x86_64-unknown-linux-gnu.tar.gz: Phoenix installs only an archive it can check"#,
                r#"error lxc_configs."953".qdrant.grpc_port: the gRPC port 6334 is the REST port too"#,
                r#"note lxc_configs."953".qdrant: container 953: Qdrant runs without an API key (set qdrant.api_key_file to a root-only file on the node)"#,
                r#"error lxc_configs."953".qdrant.storage_path: Qdrant's storage path /var/lib/qdrant is not the mount point of a volume of container 953: its data would live in the container's root disk; add a volume mounted there (volumes: [{"pool": ..., "size_gb": ..., "mount_point": "/var/lib/qdrant"}])"#,
                r#"note lxc_configs."954".qdrant: container 954: Qdrant runs without an API key (set qdrant.api_key_file to a root-only file on the node)"#,
                r#"note lxc_configs."960".volumes[0]: container 960 has a volume at /qdrant/storage but not the qdrant feature: upstream ran Qdrant there in Docker without that volume (its data was lost on every converge); add "qdrant" to its features to have Phoenix run a pinned Qdrant on the volume"#,
            ]
        );
    }
}
