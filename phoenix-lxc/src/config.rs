//! Decodes `lxc_configs` (phoenix_lxc_configs.json) and the hypervisor config's `shared_volumes`
//! into validated container specs, reporting every problem with the container id and JSON path.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::config::{JsonPath, Section, suggest};
use phoenix_core::{DecodeCx, Diagnostic, Ensure};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Features Phoenix implements, in the order containers may list them.
pub const IMPLEMENTED_FEATURES: &[&str] = &["base_setup"];

/// Features the upstream tool had that later providers implement; accepted with a warning.
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
}

impl Net {
    /// The `net0` property string as Proxmox writes it.
    pub fn to_pve(&self) -> String {
        let mut out = format!("name={},bridge={}", self.name, self.bridge);
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
    /// `pct set --features` flags, such as `nesting=1`, sorted.
    pub pct_features: BTreeMap<String, String>,
    /// Raw `lxc.*` lines as `(key, value)`.
    pub lxc: Vec<(String, String)>,
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
    /// The vLLM engine config, carried for later providers.
    #[serde(skip)]
    pub vllm_engine_config: Option<Value>,
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
    gpu_assignment: Option<Value>,
    #[serde(default)]
    apparmor_profile: Option<Value>,
    #[serde(default)]
    apparmor_manages_nesting: Option<Value>,
    #[serde(default)]
    portainer_role: Option<Value>,
    #[serde(default)]
    application_script: Option<Value>,
    #[serde(default)]
    vllm_engine_config: Option<Value>,
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
}

/// Keys accepted but acted on by later providers (one note per key, not per container).
const LATER_KEYS: &[(&str, &str)] = &[
    ("gpu_assignment", "GPU passthrough arrives with phoenix-gpu"),
    ("apparmor_profile", "AppArmor arrives with phoenix-security"),
    (
        "apparmor_manages_nesting",
        "AppArmor arrives with phoenix-security",
    ),
    ("portainer_role", "Portainer is not managed"),
    (
        "application_script",
        "application scripts become features of later providers",
    ),
    ("vllm_engine_config", "vLLM arrives with a later provider"),
    ("firewall", "the firewall arrives with phoenix-net"),
    ("ports", "informational"),
    (
        "health_check",
        "health checks arrive with the service providers",
    ),
    ("tests", "Phoenix verifies every resource after apply"),
    ("integration_tests", "legacy test wiring"),
    ("run_integration_tests", "legacy test wiring"),
    ("vllm", "legacy vLLM fields"),
    ("vllm_args", "legacy vLLM fields"),
    ("vllm_gpu_memory_utilization", "legacy vLLM fields"),
    ("vllm_max_model_len", "legacy vLLM fields"),
    ("vllm_model", "legacy vLLM fields"),
    ("vllm_model_type", "legacy vLLM fields"),
    ("vllm_parameters", "legacy vLLM fields"),
    ("vllm_port", "legacy vLLM fields"),
    ("vllm_quantization", "legacy vLLM fields"),
    ("vllm_served_model_name", "legacy vLLM fields"),
    ("vllm_tensor_parallel_size", "legacy vLLM fields"),
    ("vllm_trust_remote_code", "legacy vLLM fields"),
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
}

/// Decodes the sections and validates across containers.
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
    let mut paths: BTreeMap<u32, JsonPath> = BTreeMap::new();
    let mut clone_refs: Vec<(u32, String, JsonPath)> = Vec::new();
    let mut dep_refs: Vec<(u32, String, JsonPath)> = Vec::new();
    for (key, value) in &map {
        let path = section.path().key(key);
        let error = |cx: &mut DecodeCx<'_>, at: &JsonPath, message: String| {
            cx.report(
                Diagnostic::error(format!("container {key}: {message}"))
                    .at(section.location_of(at)),
            );
        };
        let id = match key.parse::<u32>() {
            Ok(id) if (100..=999_999_999).contains(&id) => id,
            _ => {
                error(
                    cx,
                    &path,
                    format!("container ids are numbers from 100 to 999999999, found {key:?}"),
                );
                continue;
            }
        };
        let Some(raw) = cx.decode::<Raw>(section, &path, value) else {
            continue;
        };
        if let Some(object) = value.as_object() {
            for (name, reason) in LATER_KEYS {
                if object.contains_key(*name) && noted.insert(name) {
                    cx.report(
                        Diagnostic::note(format!("{name} is known but not managed yet: {reason}"))
                            .at(section.location_of(&path.key(*name))),
                    );
                }
            }
        }
        let mut ok = true;
        if let Err(message) = check_hostname(&raw.name) {
            error(cx, &path.key("name"), message);
            ok = false;
        }
        let net = match decode_net(&raw, id) {
            Ok(net) => net,
            Err((field, message)) => {
                error(cx, &path.key(field), message);
                ok = false;
                Net {
                    name: String::new(),
                    bridge: String::new(),
                    ip: String::new(),
                    gw: None,
                    hwaddr: None,
                }
            }
        };
        let origin = match (&raw.template, &raw.clone_from_ctid) {
            (Some(_), Some(_)) => {
                error(
                    cx,
                    &path,
                    "give either template or clone_from_ctid, not both".to_owned(),
                );
                ok = false;
                None
            }
            (Some(template), None) => Some(Origin::Template(template.clone())),
            (None, Some(parent)) => {
                let parent = id_text(parent);
                clone_refs.push((id, parent.clone(), path.key("clone_from_ctid")));
                match parent.parse::<u32>() {
                    Ok(parent) => Some(Origin::Clone {
                        parent,
                        snapshot: String::new(),
                    }),
                    Err(_) => None,
                }
            }
            (None, None) => {
                error(
                    cx,
                    &path,
                    "expected template (a template tarball) or clone_from_ctid".to_owned(),
                );
                ok = false;
                None
            }
        };
        let mut features = Vec::new();
        for (i, feature) in raw.features.iter().enumerate() {
            if IMPLEMENTED_FEATURES.contains(&feature.as_str()) {
                features.push(feature.clone());
            } else if LATER_FEATURES.contains(&feature.as_str()) {
                cx.report(
                    Diagnostic::warning(format!(
                        "container {id}: feature {feature:?} is not implemented yet; it is skipped"
                    ))
                    .at(section.location_of(&path.key("features").index(i))),
                );
            } else {
                let all: Vec<&str> = IMPLEMENTED_FEATURES
                    .iter()
                    .chain(LATER_FEATURES)
                    .copied()
                    .collect();
                let hint = suggest(feature, all.iter().copied())
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_default();
                error(
                    cx,
                    &path.key("features").index(i),
                    format!(
                        "unknown feature {feature:?}{hint} (known: {})",
                        all.join(", ")
                    ),
                );
                ok = false;
            }
        }
        let mut pct_features = BTreeMap::new();
        for (i, option) in raw.pct_options.iter().enumerate() {
            match option.split_once('=') {
                Some((k, v))
                    if [
                        "nesting",
                        "keyctl",
                        "mknod",
                        "fuse",
                        "mount",
                        "force_rw_sys",
                    ]
                    .contains(&k) =>
                {
                    pct_features.insert(k.to_owned(), v.to_owned());
                }
                _ => {
                    error(
                        cx,
                        &path.key("pct_options").index(i),
                        format!(
                            "expected a container feature flag such as nesting=1, keyctl=1, mknod=1, fuse=1; found {option:?}"
                        ),
                    );
                    ok = false;
                }
            }
        }
        let mut lxc = Vec::new();
        for (i, line) in raw.lxc_options.iter().enumerate() {
            let split = line.split_once('=').or_else(|| line.split_once(':'));
            match split {
                Some((k, v)) if k.trim().starts_with("lxc.") => {
                    lxc.push((k.trim().to_owned(), v.trim().to_owned()))
                }
                _ => {
                    error(
                        cx,
                        &path.key("lxc_options").index(i),
                        format!(
                            "expected a raw LXC key such as lxc.apparmor.profile=unconfined, found {line:?}"
                        ),
                    );
                    ok = false;
                }
            }
        }
        let mut mounts = Vec::new();
        for (field, volumes) in [("volumes", &raw.volumes), ("zfs_volumes", &raw.zfs_volumes)] {
            for (i, volume) in volumes.iter().enumerate() {
                if !volume.mount_point.starts_with('/') {
                    error(
                        cx,
                        &path.key(field).index(i).key("mount_point"),
                        format!("expected an absolute path, found {:?}", volume.mount_point),
                    );
                    ok = false;
                    continue;
                }
                mounts.push(Mount::Volume {
                    path: volume.mount_point.clone(),
                    storage: volume.pool.clone(),
                    size_gb: volume.size_gb,
                });
                let _ = &volume.name;
            }
        }
        for (i, dependency) in raw.dependencies.iter().enumerate() {
            dep_refs.push((id, id_text(dependency), path.key("dependencies").index(i)));
        }
        let required = |cx: &mut DecodeCx<'_>, field: &str, value: Option<u64>| -> u64 {
            value.unwrap_or_else(|| {
                cx.report(
                    Diagnostic::error(format!("container {id}: missing key {field:?}"))
                        .at(section.location_of(&path)),
                );
                0
            })
        };
        let memory_mb = required(cx, "memory_mb", raw.memory_mb);
        let cores = required(cx, "cores", raw.cores.map(u64::from));
        let rootfs_gb = required(cx, "storage_size_gb", raw.storage_size_gb);
        let Some(storage) = raw.storage_pool.clone() else {
            error(cx, &path, "missing key \"storage_pool\"".to_owned());
            continue;
        };
        if !ok || memory_mb == 0 || cores == 0 || rootfs_gb == 0 {
            continue;
        }
        let Some(origin) = origin else { continue };
        let snapshot = raw
            .template_snapshot_name
            .clone()
            .unwrap_or_else(|| DEFAULT_SNAPSHOT.to_owned());
        let _ = raw.enable_lifecycle_snapshots;
        paths.insert(id, path.clone());
        out.containers.push(ContainerSpec {
            id,
            ensure: raw.ensure.unwrap_or_default(),
            hostname: raw.name.clone(),
            memory_mb,
            swap_mb: raw.swap_mb,
            cores: u32::try_from(cores).unwrap_or(u32::MAX),
            storage,
            rootfs_gb,
            origin,
            net,
            unprivileged: raw.unprivileged.unwrap_or(true),
            features,
            pct_features,
            lxc,
            start_at_boot: raw.start_at_boot.unwrap_or(false),
            boot_order: raw.boot_order,
            boot_delay: raw.boot_delay,
            dependencies: Vec::new(),
            mounts,
            snapshot,
            vllm_engine_config: raw.vllm_engine_config.clone(),
        });
    }
    resolve_references(&mut out, &clone_refs, &dep_refs, section, cx);
    add_shared_volumes(&mut out, sections, cx);
    check_unique(&out, &paths, section, cx);
    out
}

fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn resolve_references(
    out: &mut Decoded,
    clone_refs: &[(u32, String, JsonPath)],
    dep_refs: &[(u32, String, JsonPath)],
    section: &Section<'_>,
    cx: &mut DecodeCx<'_>,
) {
    let snapshots: BTreeMap<u32, String> = out
        .containers
        .iter()
        .map(|c| (c.id, c.snapshot.clone()))
        .collect();
    let unprivileged: BTreeMap<u32, bool> = out
        .containers
        .iter()
        .map(|c| (c.id, c.unprivileged))
        .collect();
    let mut broken = BTreeSet::new();
    for (child, parent, at) in clone_refs {
        let parent_id = parent
            .parse::<u32>()
            .ok()
            .filter(|p| snapshots.contains_key(p));
        match parent_id {
            None => {
                cx.report(
                    Diagnostic::error(format!(
                        "container {child}: clone parent {parent:?} is not a container of this config"
                    ))
                    .at(section.location_of(at)),
                );
                broken.insert(*child);
            }
            Some(parent_id) => {
                if let Some(spec) = out.containers.iter_mut().find(|c| c.id == *child) {
                    spec.origin = Origin::Clone {
                        parent: parent_id,
                        snapshot: snapshots[&parent_id].clone(),
                    };
                    if unprivileged[&parent_id] != spec.unprivileged {
                        cx.report(
                            Diagnostic::error(format!(
                                "container {child}: unprivileged={} differs from its clone parent {parent_id} (unprivileged={}); a clone keeps its parent's",
                                spec.unprivileged, unprivileged[&parent_id]
                            ))
                            .at(section.location_of(at)),
                        );
                        broken.insert(*child);
                    }
                }
            }
        }
    }
    for (child, dependency, at) in dep_refs {
        match dependency
            .parse::<u32>()
            .ok()
            .filter(|d| snapshots.contains_key(d))
        {
            Some(dep) => {
                if let Some(spec) = out.containers.iter_mut().find(|c| c.id == *child) {
                    spec.dependencies.push(dep);
                }
            }
            None => {
                cx.report(
                    Diagnostic::error(format!("container {child}: dependency {dependency:?} is not a container of this config"))
                        .at(section.location_of(at)),
                );
                broken.insert(*child);
            }
        }
    }
    out.containers.retain(|c| !broken.contains(&c.id));
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
        if name == "firewall" && value.get("host_path").is_none() {
            cx.report(
                Diagnostic::note("shared_volumes.firewall is firewall settings misplaced by the upstream tool, not a volume; the firewall is not managed yet")
                    .at(section.location_of(&path)),
            );
            continue;
        }
        let Some(shared) = cx.decode::<RawShared>(section, &path, value) else {
            continue;
        };
        if !shared.host_path.starts_with('/') {
            cx.report(
                Diagnostic::error(format!(
                    "expected an absolute host_path, found {:?}",
                    shared.host_path
                ))
                .at(section.location_of(&path.key("host_path"))),
            );
            continue;
        }
        for (ctid, ct_path) in &shared.mounts {
            let at = path.key("mounts").key(ctid);
            let Some(spec) = ctid
                .parse::<u32>()
                .ok()
                .and_then(|id| out.containers.iter_mut().find(|c| c.id == id))
            else {
                cx.report(
                    Diagnostic::note(format!("shared volume {name} mounts into container {ctid}, which the config does not declare; ignored"))
                        .at(section.location_of(&at)),
                );
                continue;
            };
            if !ct_path.starts_with('/') {
                cx.report(
                    Diagnostic::error(format!(
                        "expected an absolute path inside the container, found {ct_path:?}"
                    ))
                    .at(section.location_of(&at)),
                );
                continue;
            }
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
                path: ct_path.clone(),
                host_path: shared.host_path.clone(),
                volume: name.clone(),
            });
        }
    }
}

fn check_unique(
    out: &Decoded,
    paths: &BTreeMap<u32, JsonPath>,
    section: &Section<'_>,
    cx: &mut DecodeCx<'_>,
) {
    let mut ips: BTreeMap<String, u32> = BTreeMap::new();
    let mut macs: BTreeMap<String, u32> = BTreeMap::new();
    for spec in &out.containers {
        let at = |field: &str| section.location_of(&paths[&spec.id].key(field));
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
        if let Some(mac) = &spec.net.hwaddr {
            if let Some(other) = macs.insert(mac.clone(), spec.id) {
                cx.report(
                    Diagnostic::error(format!(
                        "containers {other} and {} both use MAC address {mac}",
                        spec.id
                    ))
                    .at(at("mac_address")),
                );
            }
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
    }
}

fn decode_net(raw: &Raw, id: u32) -> Result<Net, (&'static str, String)> {
    let ip = raw.network_config.ip.trim().to_owned();
    if ip != "dhcp" {
        check_cidr(&ip).map_err(|m| ("network_config", format!("network_config.ip: {m}")))?;
    }
    let gw = raw.network_config.gw.clone().filter(|g| !g.is_empty());
    if let Some(gw) = &gw {
        gw.parse::<std::net::Ipv4Addr>().map_err(|_| {
            (
                "network_config",
                format!("network_config.gw: expected an IPv4 address, found {gw:?}"),
            )
        })?;
    }
    let hwaddr = match &raw.mac_address {
        Some(mac) => Some(check_mac(mac).map_err(|m| ("mac_address", m))?),
        None => None,
    };
    let _ = id;
    Ok(Net {
        name: raw.network_config.name.clone(),
        bridge: raw.network_config.bridge.clone(),
        ip,
        gw,
        hwaddr,
    })
}

fn check_cidr(text: &str) -> Result<(), String> {
    let (address, len) = text
        .split_once('/')
        .ok_or_else(|| format!("expected a CIDR such as 10.0.0.110/24 or dhcp, found {text:?}"))?;
    address
        .parse::<std::net::Ipv4Addr>()
        .map_err(|_| format!("expected an IPv4 address in {text:?}"))?;
    match len.parse::<u8>() {
        Ok(n) if n <= 32 => Ok(()),
        _ => Err(format!("expected a prefix length 0..32 in {text:?}")),
    }
}

fn check_mac(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(format!(
            "expected a MAC address such as 52:54:00:AA:BB:CC, found {text:?}"
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

/// A hostname is dot-separated DNS labels: letters, digits and hyphens, not starting or ending
/// with a hyphen, at most 63 characters each.
fn check_hostname(name: &str) -> Result<(), String> {
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
            "name {name:?} is not a valid hostname (DNS labels of letters, digits and hyphens)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
