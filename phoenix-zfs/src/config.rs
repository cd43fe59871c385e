//! Decodes the `zfs` and `proxmox_storage_ids` sections of the hypervisor config (the upstream
//! shapes, messy fields included) into validated specs, reporting every problem at its JSON path.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::config::{JsonPath, Section, kind_of, suggest};
use phoenix_core::{DecodeCx, Diagnostic};
use serde::Deserialize;
use serde_json::Value;

use crate::props;

/// A pool's vdev layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    /// Disks striped (`single` or `stripe` upstream).
    Stripe,
    /// One mirror vdev.
    Mirror,
    /// One raidz vdev with this parity (1, 2 or 3).
    Raidz(u8),
}

impl Layout {
    /// The `zpool create` keyword, if any.
    pub fn keyword(self) -> Option<String> {
        match self {
            Layout::Stripe => None,
            Layout::Mirror => Some("mirror".to_owned()),
            Layout::Raidz(parity) => Some(format!("raidz{parity}")),
        }
    }

    fn min_disks(self) -> usize {
        match self {
            Layout::Stripe => 1,
            Layout::Mirror => 2,
            Layout::Raidz(parity) => usize::from(parity) + 1,
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layout::Stripe => f.write_str("stripe"),
            Layout::Mirror => f.write_str("mirror"),
            Layout::Raidz(parity) => write!(f, "raidz{parity}"),
        }
    }
}

/// A pool as the config wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// The pool name.
    pub name: String,
    /// Its layout.
    pub layout: Layout,
    /// Its disks (`/dev/disk/by-id/...`), in config order.
    pub disks: Vec<String>,
}

/// A Proxmox storage type Phoenix registers for datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `zfspool`: Proxmox creates volumes and subvolumes in the dataset.
    ZfsPool,
    /// `dir`: a directory on the mounted dataset.
    Dir,
}

impl StorageKind {
    /// The storage.cfg type word.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::ZfsPool => "zfspool",
            StorageKind::Dir => "dir",
        }
    }
}

/// A Proxmox storage registered for a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSpec {
    /// The storage id.
    pub id: String,
    /// Its type.
    pub kind: StorageKind,
    /// Its content types, as a set.
    pub content: BTreeSet<String>,
}

/// A dataset as the config wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    /// The pool.
    pub pool: String,
    /// The full dataset name (`pool/name`).
    pub full_name: String,
    /// Properties in config order: canonical name and value as given.
    pub properties: Vec<(String, String)>,
    /// The Proxmox storage to register, if any.
    pub storage: Option<StorageSpec>,
}

impl DatasetSpec {
    /// Where the dataset is mounted: its `mountpoint` property, else `/<pool>/<name>`.
    pub fn mountpoint(&self) -> String {
        self.properties
            .iter()
            .find(|(name, _)| name == "mountpoint")
            .map_or_else(
                || format!("/{}", self.full_name),
                |(_, value)| value.clone(),
            )
    }
}

/// Everything the `zfs` section asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// The ARC maximum in bytes.
    pub arc_max_bytes: Option<u64>,
    /// Pools.
    pub pools: Vec<PoolSpec>,
    /// Datasets.
    pub datasets: Vec<DatasetSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZfsSection {
    #[serde(default)]
    arc_max_gb: Option<f64>,
    #[serde(default)]
    pools: Vec<Value>,
    #[serde(default)]
    datasets: Vec<Value>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolRaw {
    name: String,
    raid_level: String,
    disks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetRaw {
    name: String,
    pool: String,
    #[serde(default)]
    properties: Option<Value>,
    #[serde(default)]
    proxmox_storage_type: Option<String>,
    #[serde(default)]
    proxmox_content_type: Option<String>,
    #[serde(default)]
    storage_class: Option<String>,
}

const CONTENT_TYPES: &[&str] = &[
    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
];

/// Decodes the sections; `None` when there is no `zfs` section.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Option<Spec> {
    let zfs_section = sections.iter().find(|s| s.key == "zfs")?;
    let ids_section = sections.iter().find(|s| s.key == "proxmox_storage_ids");
    let raw: ZfsSection = cx.decode(zfs_section, &zfs_section.path(), zfs_section.value)?;
    let mut spec = Spec::default();
    let error = |cx: &mut DecodeCx<'_>, path: &JsonPath, message: String| {
        cx.report(Diagnostic::error(message).at(zfs_section.location_of(path)));
    };

    if let Some(gb) = raw.arc_max_gb {
        let path = zfs_section.path().key("arc_max_gb");
        if gb.is_finite() && gb > 0.0 && gb < 1_048_576.0 {
            spec.arc_max_bytes = Some((gb * f64::from(1u32 << 30)) as u64);
        } else {
            error(
                cx,
                &path,
                format!("expected a positive number of GiB, found {gb}"),
            );
        }
    }
    if let Some(settings) = &raw.settings {
        cx.report(
            Diagnostic::note(format!(
                "zfs.settings ({settings}) is not read: destructive steps need --allow-destroy on the command line"
            ))
            .at(zfs_section.location_of(&zfs_section.path().key("settings"))),
        );
    }

    let mut disk_owner: BTreeMap<String, String> = BTreeMap::new();
    for (i, value) in raw.pools.iter().enumerate() {
        let path = zfs_section.path().key("pools").index(i);
        let Some(pool) = cx.decode::<PoolRaw>(zfs_section, &path, value) else {
            continue;
        };
        if let Err(message) = check_pool_name(&pool.name) {
            error(cx, &path.key("name"), message);
            continue;
        }
        if spec.pools.iter().any(|p| p.name == pool.name) {
            error(
                cx,
                &path.key("name"),
                format!("pool {:?} is declared twice", pool.name),
            );
            continue;
        }
        let layout = match parse_layout(&pool.raid_level) {
            Ok(layout) => layout,
            Err(message) => {
                error(cx, &path.key("raid_level"), message);
                continue;
            }
        };
        let mut ok = true;
        for (j, disk) in pool.disks.iter().enumerate() {
            if !disk.starts_with("/dev/") {
                error(
                    cx,
                    &path.key("disks").index(j),
                    format!("expected a device path such as /dev/disk/by-id/..., found {disk:?}"),
                );
                ok = false;
            } else if let Some(owner) = disk_owner.insert(disk.clone(), pool.name.clone()) {
                error(
                    cx,
                    &path.key("disks").index(j),
                    format!("disk {disk} is given twice (also in pool {owner:?})"),
                );
                ok = false;
            }
        }
        if pool.disks.len() < layout.min_disks() {
            error(
                cx,
                &path.key("disks"),
                format!(
                    "a {layout} pool needs at least {} disk(s), found {}",
                    layout.min_disks(),
                    pool.disks.len()
                ),
            );
            ok = false;
        }
        if layout == Layout::Stripe && pool.disks.len() > 1 {
            cx.report(
                Diagnostic::warning(format!(
                    "pool {:?} stripes {} disks without redundancy: losing one disk loses the pool",
                    pool.name,
                    pool.disks.len()
                ))
                .at(zfs_section.location_of(&path.key("raid_level"))),
            );
        }
        if ok {
            spec.pools.push(PoolSpec {
                name: pool.name,
                layout,
                disks: pool.disks,
            });
        }
    }

    let storage_ids: BTreeMap<String, String> = match ids_section {
        Some(section) => cx
            .decode(section, &section.path(), section.value)
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let mut used_keys = BTreeSet::new();
    let mut storage_owner: BTreeMap<String, String> = BTreeMap::new();
    for (i, value) in raw.datasets.iter().enumerate() {
        let path = zfs_section.path().key("datasets").index(i);
        let Some(dataset) = cx.decode::<DatasetRaw>(zfs_section, &path, value) else {
            continue;
        };
        if let Err(message) = check_dataset_name(&dataset.name) {
            error(cx, &path.key("name"), message);
            continue;
        }
        if !spec.pools.iter().any(|p| p.name == dataset.pool)
            && !raw_pool_names(&raw).contains(&dataset.pool)
        {
            let names: Vec<String> = raw_pool_names(&raw);
            let hint = suggest(&dataset.pool, names.iter().map(String::as_str))
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            error(
                cx,
                &path.key("pool"),
                format!(
                    "unknown pool {:?}{hint} (the config declares: {})",
                    dataset.pool,
                    names.join(", ")
                ),
            );
            continue;
        }
        let full_name = format!("{}/{}", dataset.pool, dataset.name);
        if spec.datasets.iter().any(|d| d.full_name == full_name) {
            error(
                cx,
                &path.key("name"),
                format!("dataset {full_name:?} is declared twice"),
            );
            continue;
        }
        let Some(properties) = decode_properties(
            dataset.properties.as_ref(),
            &path.key("properties"),
            zfs_section,
            cx,
        ) else {
            continue;
        };
        if let Some(class) = &dataset.storage_class {
            cx.report(
                Diagnostic::note(format!(
                    "storage_class {class:?} is descriptive only; Phoenix does not act on it"
                ))
                .at(zfs_section.location_of(&path.key("storage_class"))),
            );
        }
        let storage = match decode_storage(&dataset, &path, zfs_section, cx) {
            Ok(Some((kind, content))) => {
                let key = format!("{}_{}", dataset.pool, dataset.name.replace('-', "_"));
                let id = match storage_ids.get(&key) {
                    Some(id) => {
                        used_keys.insert(key);
                        id.clone()
                    }
                    None => format!("{}-{}", dataset.pool, dataset.name),
                };
                if let Err(message) = check_storage_id(&id) {
                    error(cx, &path, message);
                    continue;
                }
                if let Some(other) = storage_owner.insert(id.clone(), full_name.clone()) {
                    error(
                        cx,
                        &path,
                        format!("storage id {id:?} is used by both {other} and {full_name}"),
                    );
                    continue;
                }
                Some(StorageSpec { id, kind, content })
            }
            Ok(None) => None,
            Err(()) => continue,
        };
        spec.datasets.push(DatasetSpec {
            pool: dataset.pool,
            full_name,
            properties,
            storage,
        });
    }
    if let Some(section) = ids_section {
        for key in storage_ids.keys().filter(|k| !used_keys.contains(*k)) {
            cx.report(
                Diagnostic::note(format!(
                    "proxmox_storage_ids.{key} matches no dataset, so it is not used (the key for dataset \
                     POOL/NAME is POOL_NAME with '-' as '_', e.g. quickOS_vm_disks); the storage id defaults to POOL-NAME"
                ))
                .at(section.location_of(&section.path().key(key))),
            );
        }
    }
    Some(spec)
}

fn raw_pool_names(raw: &ZfsSection) -> Vec<String> {
    raw.pools
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Accepts the upstream spellings in any case: `mirror`, `single`/`stripe`, `raidz1`..`raidz3`
/// (`raidz` alone is raidz1).
fn parse_layout(text: &str) -> Result<Layout, String> {
    match text.to_ascii_lowercase().as_str() {
        "single" | "stripe" | "striped" => Ok(Layout::Stripe),
        "mirror" => Ok(Layout::Mirror),
        "raidz" | "raidz1" => Ok(Layout::Raidz(1)),
        "raidz2" => Ok(Layout::Raidz(2)),
        "raidz3" => Ok(Layout::Raidz(3)),
        _ => Err(format!(
            "expected raid_level mirror, single, stripe, raidz1, raidz2 or raidz3; found {text:?}"
        )),
    }
}

fn check_pool_name(name: &str) -> Result<(), String> {
    let reserved = [
        "mirror", "raidz", "draid", "spare", "log", "cache", "special", "dedup",
    ];
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        && !reserved.iter().any(|r| name.starts_with(r));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid pool name {name:?}: it must start with a letter, hold only letters, digits, _ - . : and not start with a vdev keyword"
        ))
    }
}

fn check_dataset_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.contains("//")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid dataset name {name:?}: use letters, digits and _ - . : (and / between levels)"
        ))
    }
}

fn check_storage_id(id: &str) -> Result<(), String> {
    let valid = id.len() >= 2
        && id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid Proxmox storage id {id:?}: it must start with a letter and hold only letters, digits, - _ ."
        ))
    }
}

/// Accepts the upstream `"k=v,k=v"` string or a JSON object.
fn decode_properties(
    value: Option<&Value>,
    path: &JsonPath,
    section: &Section<'_>,
    cx: &mut DecodeCx<'_>,
) -> Option<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => {
            let mut pairs = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                        pairs.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                    _ => {
                        cx.report(
                            Diagnostic::error(format!("expected \"property=value\" pairs separated by commas, found {part:?}"))
                                .at(section.location_of(path)),
                        );
                        return None;
                    }
                }
            }
            pairs
        }
        Some(Value::Object(map)) => {
            let mut pairs = Vec::new();
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => if *b { "on" } else { "off" }.to_owned(),
                    other => {
                        cx.report(
                            Diagnostic::error(format!(
                                "expected a string or number for {k}, found {other}"
                            ))
                            .at(section.location_of(&path.key(k))),
                        );
                        return None;
                    }
                };
                pairs.push((k.clone(), v));
            }
            pairs
        }
        Some(other) => {
            cx.report(
                Diagnostic::error(format!(
                    "expected properties as \"k=v,k=v\" or an object, found {}",
                    kind_of(other)
                ))
                .at(section.location_of(path)),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (name, value) in pairs {
        let at = if matches!(value_kind(section, path), Some(true)) {
            path.key(&name)
        } else {
            path.clone()
        };
        let Some(property) = props::lookup(&name) else {
            let hint = suggest(&name, props::names())
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            cx.report(
                Diagnostic::error(format!("unknown or unmanaged ZFS property {name:?}{hint}"))
                    .at(section.location_of(&at)),
            );
            ok = false;
            continue;
        };
        if !seen.insert(property.name) {
            cx.report(
                Diagnostic::error(format!("property {} is given twice", property.name))
                    .at(section.location_of(&at)),
            );
            ok = false;
            continue;
        }
        if let Err(message) = props::validate(property, &value) {
            cx.report(Diagnostic::error(message).at(section.location_of(&at)));
            ok = false;
            continue;
        }
        out.push((property.name.to_owned(), value));
    }
    ok.then_some(out)
}

/// Whether the value at `path` in the section is an object (so errors can point inside it).
fn value_kind(section: &Section<'_>, path: &JsonPath) -> Option<bool> {
    section.document.get(path).map(Value::is_object)
}

fn decode_storage(
    dataset: &DatasetRaw,
    path: &JsonPath,
    section: &Section<'_>,
    cx: &mut DecodeCx<'_>,
) -> Result<Option<(StorageKind, BTreeSet<String>)>, ()> {
    let Some(kind_text) = &dataset.proxmox_storage_type else {
        if dataset.proxmox_content_type.is_some() {
            cx.report(
                Diagnostic::warning("proxmox_content_type is ignored without proxmox_storage_type")
                    .at(section.location_of(&path.key("proxmox_content_type"))),
            );
        }
        return Ok(None);
    };
    let kind = match kind_text.as_str() {
        "zfspool" => StorageKind::ZfsPool,
        "dir" => StorageKind::Dir,
        other => {
            cx.report(
                Diagnostic::error(format!(
                    "expected proxmox_storage_type zfspool or dir, found {other:?}"
                ))
                .at(section.location_of(&path.key("proxmox_storage_type"))),
            );
            return Err(());
        }
    };
    let mut content = BTreeSet::new();
    for word in dataset
        .proxmox_content_type
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let allowed: &[&str] = match kind {
            StorageKind::ZfsPool => &["images", "rootdir"],
            StorageKind::Dir => CONTENT_TYPES,
        };
        if !allowed.contains(&word) {
            cx.report(
                Diagnostic::error(format!(
                    "a {} storage cannot hold content {word:?}; expected some of {}",
                    kind.as_str(),
                    allowed.join(", ")
                ))
                .at(section.location_of(&path.key("proxmox_content_type"))),
            );
            return Err(());
        }
        content.insert(word.to_owned());
    }
    Ok(Some((kind, content)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raid_levels_in_any_case() {
        assert_eq!(parse_layout("RAIDZ1"), Ok(Layout::Raidz(1)));
        assert_eq!(parse_layout("single"), Ok(Layout::Stripe));
        assert_eq!(parse_layout("Mirror"), Ok(Layout::Mirror));
        assert!(parse_layout("raid5").is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_pool_name("quickOS").is_ok());
        assert!(check_pool_name("mirror1").is_err());
        assert!(check_dataset_name("shared-prod-data").is_ok());
        assert!(check_dataset_name("a//b").is_err());
        assert!(check_storage_id("fastData-fastData-shared-iso").is_ok());
        assert!(check_storage_id("9lives").is_err());
    }
}
