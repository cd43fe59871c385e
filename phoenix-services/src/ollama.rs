//! The Ollama servers of the config: each container with the `ollama` feature (its own or
//! inherited), configured by the optional `ollama` object of its `lxc_configs` entry:
//!
//! ```json
//! "ollama": {"version": "0.32.7", "sha256": "...", "port": 11434,
//!            "models": ["llama3.2:3b", "nomic-embed-text"], "models_dir": "/srv/ollama/models"}
//! ```
//!
//! Every key is optional. The release defaults to [`DEFAULT_VERSION`]; a `version` other than the
//! default needs its `sha256` (Phoenix never installs an archive it cannot check). The models
//! directory defaults to the mount point of the `shared_volumes` entry named `ollama_models`
//! that is mounted in the container, else Ollama's own default. A model name is Ollama's
//! `[host/][namespace/]model[:tag]`; a name without a tag means `:latest`, as `ollama pull` and
//! `/api/tags` spell it.

use std::collections::BTreeMap;

use phoenix_core::config::{ConfigSet, JsonPath};
use phoenix_core::{Location, Severity};
use serde_json::Value;

use crate::endpoint::{
    Endpoint, Problem, is_plain_absolute_path, is_sha256, is_version, locate, locate_in,
};
use crate::guests::{Guest, guests};

/// The feature and the key of a container entry.
pub const FEATURE: &str = "ollama";

/// The port Ollama listens on by default.
pub const DEFAULT_PORT: u16 = 11434;

/// The release installed when the config names none.
pub const DEFAULT_VERSION: &str = "0.32.7";

/// The sha256 of [`DEFAULT_VERSION`]'s `ollama-linux-amd64.tar.zst` (as Chromebrew's package
/// pins it; Phoenix checks the download against it before unpacking).
pub const DEFAULT_SHA256: &str = "ed1e39fe8fea90bd7f4c723bd949a2cea3153e111220ec0a183ea5b8dc8b2cae";

/// Where Ollama keeps its models unless `OLLAMA_MODELS` says otherwise (its install script's
/// home for the `ollama` user).
pub const DEFAULT_MODELS_DIR: &str = "/usr/share/ollama/.ollama/models";

/// The `shared_volumes` entry whose mount in the container is the models directory.
pub const MODELS_VOLUME: &str = "ollama_models";

/// One Ollama server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ollama {
    /// Where it answers.
    pub endpoint: Endpoint,
    /// The release version.
    pub version: String,
    /// The sha256 of the release archive.
    pub sha256: String,
    /// The models it must have, normalised (`name:tag`), in config order, each once.
    pub models: Vec<String>,
    /// The models directory inside the container (`OLLAMA_MODELS`).
    pub models_dir: String,
    /// Whether the server runs as root: only when the models directory is under `/root`, which
    /// the `ollama` user cannot enter (upstream mounted the models there and ran as root).
    pub run_as_root: bool,
    /// The JSON path of the container entry.
    pub path: JsonPath,
    /// Where the entry is.
    pub location: Location,
}

/// The Ollama servers of a config (by container id) and the problems of their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Servers {
    /// The servers whose keys are valid.
    pub servers: BTreeMap<u32, Ollama>,
    /// Errors and notes, each at its JSON path; a container with an error has no server.
    pub problems: Vec<Problem>,
}

/// Reads every container with the `ollama` feature.
pub fn servers(config: &ConfigSet) -> Servers {
    let mut out = Servers::default();
    let models_volumes = models_volume_mounts(config);
    for guest in guests(config).values().filter(|g| g.has(FEATURE)) {
        let before = out.problems.len();
        let server = read(
            config,
            guest,
            models_volumes.get(&guest.vmid),
            &mut out.problems,
        );
        if !out.problems[before..].iter().any(Problem::is_error) {
            out.servers.insert(guest.vmid, server);
        }
    }
    out
}

/// The Ollama server of `guest`; problems go to `problems`.
fn read(
    config: &ConfigSet,
    guest: &Guest,
    shared_mount: Option<&String>,
    problems: &mut Vec<Problem>,
) -> Ollama {
    let at = guest.path_of(FEATURE);
    let mut error = |path: JsonPath, message: String| {
        problems.push(Problem {
            location: locate(config, &path),
            at: path,
            message,
            severity: Severity::Error,
        });
    };
    let object = match guest.entry.get(FEATURE) {
        None => serde_json::Map::new(),
        Some(Value::Object(object)) => object.clone(),
        Some(_) => {
            error(
                at.clone(),
                "expected an object with version, sha256, port, models and models_dir".into(),
            );
            serde_json::Map::new()
        }
    };
    for key in object.keys() {
        if !["version", "sha256", "port", "models", "models_dir"].contains(&key.as_str()) {
            error(
                at.key(key),
                format!(
                    "unknown key {key:?}: expected version, sha256, port, models or models_dir"
                ),
            );
        }
    }
    let (version, sha256) = release(&object, &at, &mut error);
    let port = match object.get("port") {
        None => DEFAULT_PORT,
        Some(value) => match value.as_u64().and_then(|n| u16::try_from(n).ok()) {
            Some(port) if port > 0 => port,
            _ => {
                error(
                    at.key("port"),
                    format!("expected a TCP port from 1 to 65535, found {value}"),
                );
                DEFAULT_PORT
            }
        },
    };
    let mut models = Vec::new();
    match object.get("models") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(normalise_model) {
                    Some(name) if !models.contains(&name) => models.push(name),
                    Some(name) => error(
                        at.key("models").index(i),
                        format!("model {name} is listed twice"),
                    ),
                    None => error(
                        at.key("models").index(i),
                        format!(
                            "expected an Ollama model name such as llama3.2:3b ([host/][namespace/]model[:tag]; lowercase letters, digits, '.', '_' and '-'), found {item}"
                        ),
                    ),
                }
            }
        }
        Some(other) => error(
            at.key("models"),
            format!("expected an array of model names, found {other}"),
        ),
    }
    let models_dir = match object.get("models_dir") {
        Some(value) => match value.as_str() {
            Some(dir) if is_plain_absolute_path(dir) => dir.to_owned(),
            _ => {
                error(
                    at.key("models_dir"),
                    format!(
                        "expected an absolute path of letters, digits, '.', '_' and '-', found {value}"
                    ),
                );
                DEFAULT_MODELS_DIR.to_owned()
            }
        },
        None => shared_mount
            .cloned()
            .unwrap_or_else(|| DEFAULT_MODELS_DIR.to_owned()),
    };
    let run_as_root = models_dir == "/root" || models_dir.starts_with("/root/");
    if run_as_root {
        let (key, path) = if object.contains_key("models_dir") {
            (crate::guests::KEY, at.key("models_dir"))
        } else {
            let path = JsonPath::root()
                .key("shared_volumes")
                .key(MODELS_VOLUME)
                .key("mounts")
                .key(guest.vmid.to_string());
            ("shared_volumes", path)
        };
        problems.push(Problem {
            location: locate_in(config, key, &path),
            at: path,
            message: format!(
                "container {}: the models directory {models_dir} is under /root, which only root can enter, so Ollama runs as root there (as upstream's did); mount the models elsewhere, such as {DEFAULT_MODELS_DIR}, to run it as the ollama user",
                guest.vmid
            ),
            severity: Severity::Warning,
        });
    }
    Ollama {
        endpoint: Endpoint::of(guest, port),
        version,
        sha256,
        models,
        models_dir,
        run_as_root,
        path: guest.path.clone(),
        location: guest.location.clone(),
    }
}

/// The release (`version`, `sha256`) of an `ollama` object, the default when it names none.
fn release(
    object: &serde_json::Map<String, Value>,
    at: &JsonPath,
    error: &mut impl FnMut(JsonPath, String),
) -> (String, String) {
    let version = object.get("version").map(|v| (v.as_str(), v));
    let sha256 = object.get("sha256").map(|v| (v.as_str(), v));
    let version = match version {
        None => DEFAULT_VERSION.to_owned(),
        Some((Some(text), _)) if is_version(text) => text.to_owned(),
        Some((_, value)) => {
            error(
                at.key("version"),
                format!("expected a release version such as {DEFAULT_VERSION}, found {value}"),
            );
            return (DEFAULT_VERSION.to_owned(), DEFAULT_SHA256.to_owned());
        }
    };
    match sha256 {
        Some((Some(text), _)) if is_sha256(text) => (version, text.to_owned()),
        Some((_, value)) => {
            error(
                at.key("sha256"),
                format!(
                    "expected the sha256 of the release archive in lowercase hex, found {value}"
                ),
            );
            (version, DEFAULT_SHA256.to_owned())
        }
        None if version == DEFAULT_VERSION => (version, DEFAULT_SHA256.to_owned()),
        None => {
            error(
                at.key("sha256"),
                format!(
                    "version {version} needs the sha256 of its ollama-linux-amd64.tar.zst: Phoenix installs only an archive it can check"
                ),
            );
            (version, DEFAULT_SHA256.to_owned())
        }
    }
}

/// `name` as Ollama spells it in `/api/tags` (`name:tag`, `:latest` when the tag is left out),
/// or `None` when it is not a model name.
pub fn normalise_model(name: &str) -> Option<String> {
    let (path, tag) = match name.rsplit_once(':') {
        // A colon before the last slash belongs to a registry host's port, not a tag.
        Some((path, tag)) if !tag.contains('/') => (path, tag),
        _ => (name, "latest"),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let part_ok = |part: &&str| {
        !part.is_empty()
            && part.len() <= 80
            && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
    };
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ((1..=3).contains(&parts.len()) && parts.iter().all(part_ok) && tag_ok)
        .then(|| format!("{path}:{tag}"))
}

/// The mount point of the `ollama_models` shared volume in each container that mounts it.
fn models_volume_mounts(config: &ConfigSet) -> BTreeMap<u32, String> {
    config
        .sections()
        .filter(|s| s.key == "shared_volumes")
        .filter_map(|s| {
            s.value
                .get(MODELS_VOLUME)?
                .get("mounts")?
                .as_object()
                .cloned()
        })
        .flat_map(|mounts| mounts.into_iter())
        .filter_map(|(vmid, path)| Some((vmid.parse().ok()?, path.as_str()?.to_owned())))
        .collect()
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
    fn model_names_are_normalised_as_ollama_lists_them() {
        for (name, expect) in [
            ("llama3.2", Some("llama3.2:latest")),
            ("llama3.2:3b", Some("llama3.2:3b")),
            ("nomic-embed-text:v1.5", Some("nomic-embed-text:v1.5")),
            ("library/qwen3:8b-q4_K_M", Some("library/qwen3:8b-q4_K_M")),
            (
                "hf.co/bartowski/model:Q4_K_M",
                Some("hf.co/bartowski/model:Q4_K_M"),
            ),
            ("Llama3", None),
            ("llama 3", None),
            ("llama3:", None),
            ("-x", None),
            ("a/b/c/d", None),
            ("x;rm", None),
        ] {
            assert_eq!(normalise_model(name).as_deref(), expect, "{name}");
        }
    }

    #[test]
    fn issue_12_the_ollama_keys_are_read_with_defaults_and_checked_at_their_paths() {
        let servers = read(
            r#"{"lxc_configs": {
                "901": {"features": ["nvidia"]},
                "955": {"clone_from_ctid": "901", "features": ["ollama"], "name": "ollama",
                        "network_config": {"ip": "10.0.0.155/24"},
                        "ollama": {"models": ["llama3.2:3b", "nomic-embed-text"]}},
                "956": {"features": ["ollama"], "ollama": {"port": 70000, "models": ["Bad Name", "a", "a:latest"],
                        "version": "0.9.0", "colour": 1}},
                "957": {"features": ["ollama"], "ollama": {"models_dir": "/root/models"}},
                "958": {"features": ["docker"], "ollama": {"models": [1]}}
            },
            "shared_volumes": {"ollama_models": {"host_path": "/fast/ollama", "mounts": {"955": "/srv/ollama/models"}}}}"#,
        );
        let ollama = &servers.servers[&955];
        assert_eq!(ollama.models, ["llama3.2:3b", "nomic-embed-text:latest"]);
        assert_eq!(ollama.models_dir, "/srv/ollama/models");
        assert_eq!(ollama.version, DEFAULT_VERSION);
        assert_eq!(ollama.sha256, DEFAULT_SHA256);
        assert_eq!(ollama.endpoint.to_string(), "ct 955 10.0.0.155:11434");
        assert_eq!(ollama.endpoint.container.as_deref(), Some("ollama"));
        assert_eq!(servers.servers.len(), 2, "956 has errors, 958 no feature");
        assert!(servers.servers[&957].run_as_root && !ollama.run_as_root);
        let problems: Vec<String> = servers
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.at, p.message))
            .collect();
        assert_eq!(
            problems,
            [
                r#"lxc_configs."956".ollama.colour: unknown key "colour": expected version, sha256, port, models or models_dir"#,
                r#"lxc_configs."956".ollama.sha256: version 0.9.0 needs the sha256 of its ollama-linux-amd64.tar.zst: Phoenix installs only an archive it can check"#,
                r#"lxc_configs."956".ollama.port: expected a TCP port from 1 to 65535, found 70000"#,
                r#"lxc_configs."956".ollama.models[0]: expected an Ollama model name such as llama3.2:3b ([host/][namespace/]model[:tag]; lowercase letters, digits, '.', '_' and '-'), found "Bad Name""#,
                r#"lxc_configs."956".ollama.models[2]: model a:latest is listed twice"#,
                r#"lxc_configs."957".ollama.models_dir: container 957: the models directory /root/models is under /root, which only root can enter, so Ollama runs as root there (as upstream's did); mount the models elsewhere, such as /usr/share/ollama/.ollama/models, to run it as the ollama user"#,
            ]
        );
        assert!(servers.problems.iter().all(|p| p.location.file == "c.json"));
    }
}
