//! Decodes `lxc_configs` (phoenix_lxc_configs.json) and the hypervisor config's `shared_volumes`
//! into validated container specs, reporting every problem with the container id and JSON path.

use std::collections::{BTreeMap, BTreeSet};

mod apparmor;
mod entry;
mod format;

use phoenix_core::config::{JsonPath, Section, excerpt};
use phoenix_core::{DecodeCx, Diagnostic, Ensure, Location};

use entry::{Entry, MOUNT_SLOTS, OriginRef, Problem};
use format::{Shape, check_value};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Features this crate implements itself; the others are implemented by the providers that say so
/// with `Provider::guest_features`, in the container's scope, after the features listed before
/// them (`phoenix_core::feature`).
pub const IMPLEMENTED_FEATURES: &[&str] = &["base_setup"];

/// Features the upstream tool had: each is accepted when a registered provider implements it,
/// and skipped with a warning when none does.
pub const LATER_FEATURES: &[&str] = &[
    "docker",
    "nvidia",
    "vllm",
    "ollama",
    "qdrant",
    "nginx",
    "portainer",
    "n8n",
    "llamacpp",
];

/// The capability class of a loaded AppArmor profile (`apparmor-profile:<name>`), provided by
/// phoenix-security and required by a container whose `apparmor_profile` names the profile.
pub const APPARMOR_CAPABILITY: &str = "apparmor-profile";

/// The values of `apparmor_profile` that name no profile, so require none: `unconfined`,
/// `unchanged` and `generated`.
pub const NO_PROFILE: [&str; 3] = apparmor::LXC_SPECIAL;

/// The snapshot a provisioned container keeps when the config names none.
pub const DEFAULT_SNAPSHOT: &str = "final-form";

/// How a container comes into being.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Origin {
    /// From a template tarball.
    Template(String),
    /// A full clone of another container at a snapshot.
    Clone {
        /// The parent container.
        parent: u32,
        /// The parent's snapshot.
        snapshot: String,
    },
}

/// The network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Net {
    /// Interface name inside the container.
    pub name: String,
    /// Host bridge.
    pub bridge: String,
    /// `a.b.c.d/len` or `dhcp`.
    pub ip: String,
    /// Gateway, if any.
    pub gw: Option<String>,
    /// MAC address, uppercase.
    pub hwaddr: Option<String>,
    /// `firewall=1`: the container's `firewall.enabled` is true (phoenix-net writes the rules).
    pub firewall: bool,
}

impl Net {
    /// The `net0` property string as Proxmox writes it.
    pub fn to_pve(&self) -> String {
        let mut out = format!("name={},bridge={}", self.name, self.bridge);
        if self.firewall {
            out.push_str(",firewall=1");
        }
        if let Some(mac) = &self.hwaddr {
            out.push_str(&format!(",hwaddr={mac}"));
        }
        out.push_str(&format!(",ip={}", self.ip));
        if let Some(gw) = &self.gw {
            out.push_str(&format!(",gw={gw}"));
        }
        out.push_str(",type=veth");
        out
    }
}

/// A mount point, identified by its path inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Mount {
    /// A volume allocated on a storage (created once, kept).
    Volume {
        /// Path inside the container.
        path: String,
        /// Storage id.
        storage: String,
        /// Size in GiB.
        size_gb: u64,
    },
    /// A host directory bind-mounted in (from `shared_volumes`).
    Bind {
        /// Path inside the container.
        path: String,
        /// Directory on the host.
        host_path: String,
        /// The `shared_volumes` entry it comes from.
        volume: String,
    },
}

impl Mount {
    /// Path inside the container.
    pub fn path(&self) -> &str {
        match self {
            Mount::Volume { path, .. } | Mount::Bind { path, .. } => path,
        }
    }
}

/// A container as the config wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// The container id.
    pub id: u32,
    /// Whether it should exist.
    #[serde(skip)]
    pub ensure: Ensure,
    /// Hostname.
    pub hostname: String,
    /// Memory in MiB.
    pub memory_mb: u64,
    /// Swap in MiB, if set.
    pub swap_mb: Option<u64>,
    /// Cores.
    pub cores: u32,
    /// Storage for the root disk.
    pub storage: String,
    /// Root disk size in GiB.
    pub rootfs_gb: u64,
    /// Template or clone.
    pub origin: Origin,
    /// The network.
    pub net: Net,
    /// Unprivileged (settable only at creation).
    pub unprivileged: bool,
    /// Features in order (in-container provisioning).
    pub features: Vec<String>,
    /// Whether a clone ancestor has features (set after every entry is decoded): a clone of a
    /// provisioned template has its parent's features in its files, which other providers'
    /// resources in its scope confirm, so it is provisioned (started, probed) like one with
    /// features of its own.
    #[serde(skip)]
    pub inherits_features: bool,
    /// `pct set --features` flags, such as `nesting=1`, sorted.
    pub pct_features: BTreeMap<String, String>,
    /// Raw `lxc.*` lines as `(key, value)`, `lxc.apparmor.profile` included.
    pub lxc: Vec<(String, String)>,
    /// The AppArmor profile (`apparmor_profile`), also written as `lxc.apparmor.profile`; a
    /// profile other than `unconfined` must be loaded or provided by this run.
    #[serde(skip)]
    pub apparmor_profile: Option<String>,
    /// Whether it starts at boot (and so is kept running).
    pub start_at_boot: bool,
    /// Boot order.
    pub boot_order: Option<u32>,
    /// Boot delay in seconds.
    pub boot_delay: Option<u32>,
    /// Containers to converge first.
    pub dependencies: Vec<u32>,
    /// Mount points.
    pub mounts: Vec<Mount>,
    /// The snapshot kept after provisioning.
    pub snapshot: String,
    /// The GPUs of `gpu_assignment` (`Some(vec![])` for `"none"`, `None` when the key is absent
    /// or malformed: phoenix-gpu validates it and reports its errors), passed through by
    /// `lxc.gpu`.
    #[serde(skip)]
    pub gpus: Option<Vec<u32>>,
}

impl ContainerSpec {
    /// Whether the container is provisioned: it has features of its own or inherits some.
    pub fn provisioned(&self) -> bool {
        !self.features.is_empty() || self.inherits_features
    }
}

/// Fields of one container, in the upstream shape (unknown keys are errors with a suggestion).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "keys of later providers are accepted and noted, not read"
)]
struct Raw {
    name: String,
    #[serde(default)]
    memory_mb: Option<u64>,
    #[serde(default)]
    swap_mb: Option<u64>,
    #[serde(default)]
    cores: Option<u32>,
    #[serde(default)]
    storage_pool: Option<String>,
    #[serde(default)]
    storage_size_gb: Option<u64>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    clone_from_ctid: Option<Value>,
    #[serde(default)]
    template_snapshot_name: Option<String>,
    network_config: RawNet,
    #[serde(default)]
    mac_address: Option<String>,
    #[serde(default)]
    unprivileged: Option<bool>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    pct_options: Vec<String>,
    #[serde(default)]
    lxc_options: Vec<String>,
    #[serde(default)]
    start_at_boot: Option<bool>,
    #[serde(default)]
    boot_order: Option<u32>,
    #[serde(default)]
    boot_delay: Option<u32>,
    #[serde(default)]
    dependencies: Vec<Value>,
    #[serde(default)]
    volumes: Vec<RawVolume>,
    #[serde(default)]
    zfs_volumes: Vec<RawVolume>,
    #[serde(default)]
    enable_lifecycle_snapshots: Option<bool>,
    #[serde(default)]
    ensure: Option<Ensure>,
    // Known keys owned by later providers or kept for the record: accepted, noted once.
    #[serde(default)]
    apparmor_profile: Option<Value>,
    /// phoenix-gpu claims `lxc_configs.*.gpu_assignment` (`Claim::part`) and checks it.
    #[serde(default)]
    gpu_assignment: Option<Value>,
    /// phoenix-security claims `lxc_configs.*.gpu_check_image` (`Claim::part`) and checks it.
    #[serde(default)]
    gpu_check_image: Option<Value>,
    #[serde(default)]
    apparmor_manages_nesting: Option<Value>,
    #[serde(default)]
    portainer_role: Option<Value>,
    #[serde(default)]
    application_script: Option<Value>,
    #[serde(default)]
    vllm_engine_config: Option<Value>,
    /// phoenix-ai claims `lxc_configs.*.ollama` and `lxc_configs.*.qdrant` (`Claim::part`) and
    /// checks them (read by phoenix-services).
    #[serde(default)]
    ollama: Option<Value>,
    #[serde(default)]
    qdrant: Option<Value>,
    /// Shared with phoenix-net, which claims `lxc_configs.*.firewall` (its rules and files);
    /// this provider reads only `enabled`, for `firewall=1` on net0.
    #[serde(default)]
    firewall: Option<Value>,
    #[serde(default)]
    ports: Option<Value>,
    #[serde(default)]
    health_check: Option<Value>,
    #[serde(default)]
    tests: Option<Value>,
    #[serde(default)]
    integration_tests: Option<Value>,
    #[serde(default)]
    run_integration_tests: Option<Value>,
    #[serde(default)]
    vllm: Option<Value>,
    #[serde(default)]
    vllm_args: Option<Value>,
    #[serde(default)]
    vllm_gpu_memory_utilization: Option<Value>,
    #[serde(default)]
    vllm_max_model_len: Option<Value>,
    #[serde(default)]
    vllm_model: Option<Value>,
    #[serde(default)]
    vllm_model_type: Option<Value>,
    #[serde(default)]
    vllm_parameters: Option<Value>,
    #[serde(default)]
    vllm_port: Option<Value>,
    #[serde(default)]
    vllm_quantization: Option<Value>,
    #[serde(default)]
    vllm_served_model_name: Option<Value>,
    #[serde(default)]
    vllm_tensor_parallel_size: Option<Value>,
    #[serde(default)]
    vllm_trust_remote_code: Option<Value>,
    #[serde(default)]
    vllm_version: Option<Value>,
}

/// Keys accepted but acted on by later providers (one note per key, not per container). The
/// vLLM server's keys (`vllm_engine_config`, `vllm_version`, upstream's flat `vllm_*` keys) are
/// phoenix-ai's (`phoenix_services::vllm::KEYS`), which reports their problems.
const LATER_KEYS: &[(&str, &str)] = &[
    (
        "apparmor_manages_nesting",
        "nesting comes from pct_options (nesting=1) and the profile; Phoenix writes no lxc.apparmor.allow_nesting",
    ),
    ("portainer_role", "Portainer is not managed"),
    (
        "application_script",
        "application scripts become features of later providers",
    ),
    ("ports", "informational"),
    // `health_check`, `tests`, `integration_tests`, `run_integration_tests` and `vllm` are
    // phoenix-ai's (`Claim::part`), which notes or reads them.
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNet {
    #[serde(default = "default_if")]
    name: String,
    bridge: String,
    ip: String,
    #[serde(default)]
    gw: Option<String>,
}

fn default_if() -> String {
    "eth0".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVolume {
    #[serde(default)]
    #[expect(dead_code, reason = "the upstream volume name is informational")]
    name: Option<String>,
    pool: String,
    size_gb: u64,
    mount_point: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShared {
    host_path: String,
    mounts: BTreeMap<String, String>,
}

/// Everything decoded, with the location of each container for later diagnostics.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) containers: Vec<ContainerSpec>,
    /// Where each container's entry is.
    pub(crate) locations: BTreeMap<u32, Location>,
}

/// Decodes the sections and validates across containers. Each entry is decoded concern by
/// concern (`entry`); then clone parents and dependencies are resolved, shared volumes added,
/// and mount slots, IPs and MACs checked across containers.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Decoded {
    let mut out = Decoded::default();
    let Some(section) = sections.iter().find(|s| s.key == "lxc_configs") else {
        return out;
    };
    let Some(map) = cx.decode::<BTreeMap<String, Value>>(section, &section.path(), section.value)
    else {
        return out;
    };
    let mut noted: BTreeSet<&str> = BTreeSet::new();
    // Containers the config declares, even those whose entry has errors: a reference to one of
    // those is not reported again (the entry's own error is the root cause).
    let mut declared: BTreeSet<u32> = BTreeSet::new();
    let mut entries: Vec<(Entry, JsonPath)> = Vec::new();
    let elsewhere: BTreeSet<String> = cx.guest_features().map(str::to_owned).collect();
    for (key, value) in &map {
        let path = section.path().key(key);
        let id = match key.parse::<u32>() {
            Ok(id) if (100..=999_999_999).contains(&id) => id,
            _ => {
                cx.report(
                    Diagnostic::error(format!(
                        "container ids are numbers from 100 to 999999999, found {}",
                        excerpt(key)
                    ))
                    .at(section.location_of(&path)),
                );
                continue;
            }
        };
        declared.insert(id);
        note_later_keys(value, &path, section, &mut noted, cx);
        let Some(raw) = cx.decode::<Raw>(section, &path, value) else {
            continue;
        };
        match entry::decode_entry(id, &raw, &path, &elsewhere) {
            Ok(entry) => {
                report(&entry.warnings, id, section, cx);
                entries.push((entry, path));
            }
            Err(problems) => report(&problems, id, section, cx),
        }
    }
    let resolved = resolve_references(entries, &declared, section, cx);
    for (spec, path) in resolved {
        out.locations.insert(spec.id, section.location_of(&path));
        out.containers.push(spec);
    }
    add_shared_volumes(&mut out, sections, cx);
    check_unique(&out, section, cx);
    out
}

/// Reports an entry's problems, each at its JSON path.
fn report(problems: &[Problem], id: u32, section: &Section<'_>, cx: &mut DecodeCx<'_>) {
    for problem in problems {
        cx.report(
            Diagnostic::new(
                problem.severity,
                format!("container {id}: {}", problem.message),
            )
            .at(section.location_of(&problem.at)),
        );
    }
}

/// One note per known-but-unmanaged key, for the whole config.
fn note_later_keys(
    value: &Value,
    path: &JsonPath,
    section: &Section<'_>,
    noted: &mut BTreeSet<&'static str>,
    cx: &mut DecodeCx<'_>,
) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (name, reason) in LATER_KEYS {
        if object.contains_key(*name) && noted.insert(*name) {
            cx.report(
                Diagnostic::note(format!("{name} is known but not managed yet: {reason}"))
                    .at(section.location_of(&path.key(*name))),
            );
        }
    }
}

/// What the references of the entries can point at.
struct Targets<'a> {
    /// Decoded containers: snapshot and unprivileged flag.
    decoded: BTreeMap<u32, (String, bool)>,
    /// Every container the config declares.
    declared: &'a BTreeSet<u32>,
}

impl Targets<'_> {
    /// The id of a decoded container. `None` otherwise, with an error only when the config does
    /// not declare that container at all (a declared one reported its own error).
    fn resolve(
        &self,
        child: u32,
        what: &str,
        (text, at): (&str, &JsonPath),
        section: &Section<'_>,
        cx: &mut DecodeCx<'_>,
    ) -> Option<u32> {
        match text.parse::<u32>() {
            Ok(id) if self.decoded.contains_key(&id) => Some(id),
            Ok(id) if self.declared.contains(&id) => None,
            _ => {
                cx.report(
                    Diagnostic::error(format!(
                        "container {child}: {what} {} is not a container of this config",
                        excerpt(text)
                    ))
                    .at(section.location_of(at)),
                );
                None
            }
        }
    }
}

/// Resolves clone parents and dependencies. A reference to a container that is not declared is
/// an error; one to a container whose entry had errors is not reported again. Either way the
/// referring container is left out, and so, in turn, are the containers that refer to it.
fn resolve_references(
    entries: Vec<(Entry, JsonPath)>,
    declared: &BTreeSet<u32>,
    section: &Section<'_>,
    cx: &mut DecodeCx<'_>,
) -> Vec<(ContainerSpec, JsonPath)> {
    let targets = Targets {
        decoded: entries
            .iter()
            .map(|(e, _)| (e.spec.id, (e.spec.snapshot.clone(), e.spec.unprivileged)))
            .collect(),
        declared,
    };
    let mut broken = BTreeSet::new();
    let mut refers: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut resolved = Vec::new();
    for (entry, path) in entries {
        let mut spec = entry.spec;
        let child = spec.id;
        let mut ok = true;
        let mut refs = Vec::new();
        match entry.origin {
            OriginRef::Template(template) => spec.origin = Origin::Template(template),
            OriginRef::Clone(text) => {
                let at = path.key("clone_from_ctid");
                match targets.resolve(child, "clone parent", (&text, &at), section, cx) {
                    Some(parent) => {
                        let (snapshot, unprivileged) = targets.decoded[&parent].clone();
                        spec.origin = Origin::Clone { parent, snapshot };
                        refs.push(parent);
                        if unprivileged != spec.unprivileged {
                            cx.report(
                                Diagnostic::error(format!(
                                    "container {child}: unprivileged={} differs from its clone parent {parent} (unprivileged={unprivileged}); a clone keeps its parent's",
                                    spec.unprivileged
                                ))
                                .at(section.location_of(&at)),
                            );
                            ok = false;
                        }
                    }
                    None => ok = false,
                }
            }
        }
        for (text, at) in &entry.dependencies {
            match targets.resolve(child, "dependency", (text, at), section, cx) {
                Some(dependency) => {
                    spec.dependencies.push(dependency);
                    refs.push(dependency);
                }
                None => ok = false,
            }
        }
        if !ok {
            broken.insert(child);
        }
        refers.push((child, refs));
        resolved.push((spec, path));
    }
    // Containers that refer to a left-out one are left out too, silently.
    loop {
        let before = broken.len();
        for (child, refs) in &refers {
            if refs.iter().any(|r| broken.contains(r)) {
                broken.insert(*child);
            }
        }
        if broken.len() == before {
            break;
        }
    }
    resolved.retain(|(spec, _)| !broken.contains(&spec.id));
    resolved
}

fn add_shared_volumes(out: &mut Decoded, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    let Some(section) = sections.iter().find(|s| s.key == "shared_volumes") else {
        return;
    };
    let Some(map) = section.value.as_object() else {
        cx.report(
            Diagnostic::error("shared_volumes: expected an object of named volumes")
                .at(section.location()),
        );
        return;
    };
    for (name, value) in map {
        let path = section.path().key(name);
        // Firewall settings the upstream tool put here by mistake: phoenix-net claims them.
        if name == "firewall" && value.get("host_path").is_none() {
            continue;
        }
        let Some(shared) = cx.decode::<RawShared>(section, &path, value) else {
            continue;
        };
        let host_path = match check_value(Shape::Path, &shared.host_path) {
            Ok(host_path) => host_path,
            Err(message) => {
                cx.report(
                    Diagnostic::error(message).at(section.location_of(&path.key("host_path"))),
                );
                continue;
            }
        };
        for (ctid, ct_path) in &shared.mounts {
            let at = path.key("mounts").key(ctid);
            let Some(spec) = ctid
                .parse::<u32>()
                .ok()
                .and_then(|id| out.containers.iter_mut().find(|c| c.id == id))
            else {
                cx.report(
                    Diagnostic::note(format!("shared volume {name} mounts into container {}, which the config does not declare or could not decode; ignored", excerpt(ctid)))
                        .at(section.location_of(&at)),
                );
                continue;
            };
            let ct_path = match check_value(Shape::Path, ct_path) {
                Ok(ct_path) => ct_path,
                Err(message) => {
                    cx.report(Diagnostic::error(message).at(section.location_of(&at)));
                    continue;
                }
            };
            // A storage volume at the same path: the shared bind mount wins (the upstream
            // intent was a shared model directory; per-container volumes shared nothing).
            if let Some(index) = spec.mounts.iter().position(|m| m.path() == ct_path) {
                cx.report(
                    Diagnostic::warning(format!(
                        "container {ctid}: {ct_path} is both a storage volume and shared volume {name}; the shared bind mount wins and the volume is not created"
                    ))
                    .at(section.location_of(&at)),
                );
                spec.mounts.remove(index);
            }
            spec.mounts.push(Mount::Bind {
                path: ct_path,
                host_path: host_path.clone(),
                volume: name.clone(),
            });
        }
    }
}

/// Across containers: IPs and MACs are unique; within one, mount paths are unique and fit the
/// 256 mount slots.
fn check_unique(out: &Decoded, section: &Section<'_>, cx: &mut DecodeCx<'_>) {
    let mut ips: BTreeMap<String, u32> = BTreeMap::new();
    let mut macs: BTreeMap<String, u32> = BTreeMap::new();
    for spec in &out.containers {
        let container = section.path().key(spec.id.to_string());
        let at = |field: &str| section.location_of(&container.key(field));
        if spec.net.ip != "dhcp" {
            let address = spec.net.ip.split('/').next().unwrap_or_default().to_owned();
            if let Some(other) = ips.insert(address.clone(), spec.id) {
                cx.report(
                    Diagnostic::error(format!(
                        "containers {other} and {} both use IP address {address}",
                        spec.id
                    ))
                    .at(at("network_config")),
                );
            }
        }
        if let Some(mac) = &spec.net.hwaddr
            && let Some(other) = macs.insert(mac.clone(), spec.id)
        {
            cx.report(
                Diagnostic::error(format!(
                    "containers {other} and {} both use MAC address {mac}",
                    spec.id
                ))
                .at(at("mac_address")),
            );
        }
        let mut seen = BTreeSet::new();
        for mount in &spec.mounts {
            if !seen.insert(mount.path()) {
                cx.report(
                    Diagnostic::error(format!(
                        "container {}: two mounts at {}",
                        spec.id,
                        mount.path()
                    ))
                    .at(at("volumes")),
                );
            }
        }
        if spec.mounts.len() > MOUNT_SLOTS {
            cx.report(
                Diagnostic::error(format!(
                    "container {}: {} mount points, but Proxmox has {MOUNT_SLOTS} mount slots (mp0 to mp255)",
                    spec.id,
                    spec.mounts.len()
                ))
                .at(section.location_of(&container)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use phoenix_core::Registry;
    use phoenix_core::config::{ConfigSet, Document};
    use serde_json::{Value, json};

    /// The errors of decoding `lxc_configs`, rendered.
    fn errors(lxc_configs: &Value) -> Vec<String> {
        let text =
            serde_json::to_string_pretty(&json!({ "lxc_configs": lxc_configs })).expect("JSON");
        let document = Document::parse(PathBuf::from("lxc.json"), text).expect("valid JSON");
        let config = ConfigSet::from_documents(vec![document]);
        let registry = Registry::builder()
            .provider(crate::provider())
            .build()
            .expect("one provider");
        registry
            .decode(&config)
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect()
    }

    fn container(fields: Value) -> Value {
        let mut entry = json!({
            "name": "ct",
            "memory_mb": 512,
            "cores": 1,
            "storage_pool": "local-zfs",
            "storage_size_gb": 8,
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}
        });
        if let (Some(entry), Value::Object(fields)) = (entry.as_object_mut(), fields) {
            entry.extend(fields);
        }
        entry
    }

    #[test]
    fn issue_8_a_failed_entry_is_the_only_error_its_clones_and_dependents_cause() {
        let huge = "n".repeat(1 << 20);
        let found = errors(&json!({
            "900": container(json!({"name": huge, "template": "local:vztmpl/t.tar.zst"})),
            "901": container(json!({"memory_mb": 0, "template": "local:vztmpl/t.tar.zst"})),
            "101": container(json!({"clone_from_ctid": 900})),
            "102": container(json!({"clone_from_ctid": "101", "dependencies": [900, "901"]})),
            "103": container(json!({"template": "local:vztmpl/t.tar.zst", "dependencies": [102]})),
        }));
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains(r#"lxc_configs."900".name: container 900: name "nnnn"#)
                && found[0].ends_with("… (1048576 bytes) is not a valid hostname (DNS labels of letters, digits and hyphens)"),
            "{}",
            &found[0][..200]
        );
        assert!(found[0].len() < 300, "the name is cut in the message");
        assert!(
            found[1].ends_with(r#"lxc_configs."901".memory_mb: container 901: expected 16 to 4294967295 MiB, found 0"#),
            "{}",
            found[1]
        );
    }

    #[test]
    fn issue_8_a_reference_to_an_undeclared_container_is_still_an_error() {
        let found = errors(&json!({
            "101": container(json!({"clone_from_ctid": 950})),
        }));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].ends_with(r#"at lxc_configs."101".clone_from_ctid: container 101: clone parent "950" is not a container of this config"#),
            "{}",
            found[0]
        );
    }

    #[test]
    fn issue_8_more_mounts_than_slots_is_an_error() {
        let volumes: Vec<Value> = (0..257)
            .map(|n| json!({"pool": "local-zfs", "size_gb": 1, "mount_point": format!("/m{n}")}))
            .collect();
        let found = errors(&json!({
            "101": container(json!({"template": "local:vztmpl/t.tar.zst", "volumes": volumes})),
        }));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].ends_with(r#"at lxc_configs."101": container 101: 257 mount points, but Proxmox has 256 mount slots (mp0 to mp255)"#),
            "{}",
            found[0]
        );
    }
}
