//! The `vllm` feature: a pinned vLLM in a virtual environment and the server that
//! `phoenix_services::vllm` reads from the container's keys, as core's primitives in the
//! container's scope, each a part of the feature (after the features listed before it):
//!
//! - the package `python3-venv`, the directory `/opt/vllm`;
//! - `python3 -m venv /opt/vllm/<version>` while its `bin/pip` is missing, then
//!   `/opt/vllm/<version>/bin/pip install vllm==<version>` while its `bin/vllm` is missing: a
//!   new version is a new environment (installed beside the old one, which stays until removed
//!   by hand), and the unit moves to it;
//! - with `core_paths.hf_token_file`, the directory `/etc/vllm` and the token's environment
//!   file, root's and 0600 (`token`);
//! - the unit file (`unit`) and `vllm.service`, enabled and running, restarted once (after a
//!   `systemctl daemon-reload`) when the unit file or the token changed in this run.
//!
//! A container with the feature and no server keys gets the runtime only. The problems of the
//! keys are reported at their JSON paths; a container with an error gets no resources.

pub mod token;
pub mod unit;

use phoenix_core::config::{ConfigSet, JsonPath, Section};
use phoenix_core::directory::Directory;
use phoenix_core::exec::Exec;
use phoenix_core::feature;
use phoenix_core::package::Package;
use phoenix_core::service::{OnChange, Service};
use phoenix_core::{Cmd, DecodeCx, Diagnostic, Location, Resource, ResourceId, Scope, Severity};
use phoenix_services::vllm::{self as model, FEATURE, KEYS, Server, Version};
use phoenix_services::{Guest, guests};
use serde_json::Value;

use token::HfToken;
use unit::{Layout, SECRET_DIR, TOKEN_PATH, UNIT, VENV_ROOT};

use crate::unit_file::UnitFile;

/// The Debian package that gives `python3 -m venv` its `ensurepip`.
pub const VENV_PACKAGE: &str = "python3-venv";

/// Reads the vLLM server of every container with the feature, reports the problems, and (with
/// `set_up`) adds the feature's resources; a container with vLLM keys but without the feature
/// gets a note that they are not used.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>, set_up: bool) {
    let token_source = hf_token_file(cx);
    for guest in guests(cx.config()).values() {
        if !guest.has(FEATURE) {
            if let Some(key) = KEYS.iter().find(|k| guest.entry.get(**k).is_some()) {
                cx.report(
                    Diagnostic::note(format!(
                        "container {}: {key} is not used: the container does not have the vllm feature",
                        guest.vmid
                    ))
                    .at(locate(sections, guest, &guest.path_of(key))),
                );
            }
            continue;
        }
        let reading = model::read(guest);
        let mut failed = false;
        for problem in &reading.problems {
            failed |= problem.severity == Severity::Error;
            cx.report(
                Diagnostic::new(
                    problem.severity,
                    format!("container {}: {}", guest.vmid, problem.message),
                )
                .at(locate(sections, guest, &problem.at)),
            );
        }
        if failed || !set_up {
            continue;
        }
        let scope = match cx.scope(&format!("ct:{}", guest.vmid)) {
            Ok(scope) => scope,
            Err(err) => {
                cx.report(Diagnostic::error(err.to_string()).at(guest.location.clone()));
                continue;
            }
        };
        let version = reading
            .server
            .as_ref()
            .map_or_else(|| read_version(guest), |s| s.version);
        let at = guest.location.clone();
        let mut parts = Parts {
            scope: &scope,
            guest,
            at: &at,
            cx,
        };
        let installed = parts.runtime(version);
        if let Some(server) = &reading.server {
            let models = models_dir(parts.cx.config(), guest);
            parts.server(
                server,
                &Layout::new(version, models.as_deref()),
                token_source.as_deref(),
                installed,
            );
        }
    }
}

/// The version of a container with no server (the runtime only).
fn read_version(guest: &Guest) -> Version {
    guest
        .entry
        .get(model::VERSION_KEY)
        .and_then(Value::as_str)
        .and_then(|v| Version::parse(v).ok())
        .unwrap_or(model::DEFAULT_VERSION)
}

/// Adds the resources of one container, each a part of its `vllm` feature.
struct Parts<'s, 'c, 'x> {
    scope: &'s Scope,
    guest: &'s Guest,
    at: &'s Location,
    cx: &'c mut DecodeCx<'x>,
}

impl Parts<'_, '_, '_> {
    fn add<R: Resource>(&mut self, resource: R) -> ResourceId {
        let id = resource.id();
        let part = feature::part(resource, self.scope, &self.guest.features, FEATURE);
        self.cx.add_at(part, self.at.clone());
        id
    }

    /// The package, the directory and the two guarded installers; the id of the last.
    fn runtime(&mut self, version: Version) -> ResourceId {
        let package = self.add(Package::new(self.scope, VENV_PACKAGE));
        let root = self.add(
            Directory::new(self.scope, VENV_ROOT)
                .mode(0o755)
                .owner("root:root"),
        );
        let venv = unit::venv(version);
        let created = self.add(
            Exec::new(
                self.scope,
                "vllm-venv",
                // Not bin/python3: a venv without ensurepip fails after creating it.
                format!("{venv}/bin/pip"),
                Cmd::write("python3", ["-m", "venv", venv.as_str()]),
            )
            .depends_on(package)
            .depends_on(root),
        );
        self.add(
            Exec::new(
                self.scope,
                "vllm-install",
                format!("{venv}/bin/vllm"),
                // `--python` names the environment pip installs into (pip 22.3 and later; the
                // venv's own pip is 24.0 on Ubuntu 24.04).
                Cmd::write(
                    &format!("{venv}/bin/pip"),
                    [
                        "--python".to_owned(),
                        format!("{venv}/bin/python3"),
                        "install".to_owned(),
                        "--no-input".to_owned(),
                        format!("vllm=={version}"),
                    ],
                ),
            )
            .depends_on(created),
        )
    }

    /// The token, the unit file and the service.
    fn server(
        &mut self,
        server: &Server,
        layout: &Layout,
        token_source: Option<&str>,
        installed: ResourceId,
    ) {
        let mut service = Service::new(self.scope, UNIT).on_change(OnChange::Restart);
        if let Some(source) = token_source {
            // The file itself is 0600; the directory is the system's usual 0755.
            let dir = self.add(
                Directory::new(self.scope, SECRET_DIR)
                    .mode(0o755)
                    .owner("root:root"),
            );
            let token = self.add(HfToken::new(self.scope, source, TOKEN_PATH).depends_on(dir));
            service = service.file(token);
        }
        // The unit file runs `systemctl daemon-reload` when it changed, before the restart.
        let unit_file = self.add(
            UnitFile::new(self.scope, UNIT, unit::unit_text(server, layout)).depends_on(installed),
        );
        self.add(service.file(unit_file));
    }
}

/// `core_paths.hf_token_file`: an absolute path on the node, or an error at its JSON path.
fn hf_token_file(cx: &mut DecodeCx<'_>) -> Option<String> {
    let config = cx.config();
    let section = config.sections().find(|s| s.key == "core_paths")?;
    let value = section.value.get("hf_token_file")?;
    let path = section.path().key("hf_token_file");
    match value.as_str() {
        Some(text) if text.starts_with('/') && !text.contains("/../") => Some(text.to_owned()),
        _ => {
            cx.report(
                Diagnostic::error(
                    "hf_token_file: expected the absolute path of a root-only file on the node",
                )
                .at(section.location_of(&path)),
            );
            None
        }
    }
}

/// The container's models directory: its mount of the shared volume `vllm_models`, else its
/// own volume named `vllm_models` (upstream declares both on 950 and 951, at one path).
fn models_dir(config: &ConfigSet, guest: &Guest) -> Option<String> {
    let vmid = guest.vmid.to_string();
    let shared = config
        .sections()
        .filter(|s| s.key == "shared_volumes")
        .find_map(|s| {
            s.value
                .get("vllm_models")?
                .get("mounts")?
                .get(&vmid)?
                .as_str()
                .map(str::to_owned)
        });
    shared.or_else(|| {
        ["zfs_volumes", "volumes"].iter().find_map(|key| {
            guest
                .entry
                .get(*key)?
                .as_array()?
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some("vllm_models"))?
                .get("mount_point")?
                .as_str()
                .map(str::to_owned)
        })
    })
}

/// Where `path` (in `guest`'s entry) is: in the `lxc_configs` section that holds the entry.
fn locate(sections: &[Section<'_>], guest: &Guest, path: &JsonPath) -> Location {
    sections
        .iter()
        .find(|s| s.key == "lxc_configs" && s.document.get(&guest.path).is_some())
        .map_or_else(|| guest.location.clone(), |s| s.location_of(path))
}
