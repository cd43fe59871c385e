//! Decodes the `zfs` and `proxmox_storage_ids` sections of the hypervisor config (the upstream
//! shapes, messy fields included) into validated specs, reporting every problem at its JSON path.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::config::decode as section_decode;
use phoenix_core::config::{JsonPath, Section, excerpt, kind_of, normalize_path, suggest};
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

/// Decodes the sections; `None` when there is no `zfs` section. Each concern (the ARC, pools,
/// datasets and their storages, unused storage ids) is decoded by its own function, which adds
/// what it finds to `found`.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Option<Spec> {
    let zfs_section = sections.iter().find(|s| s.key == "zfs")?;
    let ids_section = sections.iter().find(|s| s.key == "proxmox_storage_ids");
    let raw: ZfsSection = cx.decode(zfs_section, &zfs_section.path(), zfs_section.value)?;
    let storage_ids: BTreeMap<String, String> = match ids_section {
        Some(section) => cx
            .decode(section, &section.path(), section.value)
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let mut found = Vec::new();
    let arc_max_bytes = decode_arc(&raw, zfs_section, &mut found);
    note_settings(&raw, zfs_section, &mut found);
    let pools = decode_pools(&raw, zfs_section, &mut found);
    let (datasets, used_keys) =
        decode_datasets(&raw, &pools, &storage_ids, zfs_section, &mut found);
    if let Some(section) = ids_section {
        note_unused_storage_ids(&storage_ids, &used_keys, section, &mut found);
    }
    for diagnostic in found {
        cx.report(diagnostic);
    }
    Some(Spec {
        arc_max_bytes,
        pools,
        datasets,
    })
}

/// An error at `path` of `section`.
fn error_at(section: &Section<'_>, path: &JsonPath, message: String) -> Diagnostic {
    Diagnostic::error(message).at(section.location_of(path))
}

/// `arc_max_gb` as bytes: a positive number of GiB below 1 PiB.
fn decode_arc(raw: &ZfsSection, section: &Section<'_>, found: &mut Vec<Diagnostic>) -> Option<u64> {
    let gb = raw.arc_max_gb?;
    if gb.is_finite() && gb > 0.0 && gb < 1_048_576.0 {
        Some((gb * f64::from(1u32 << 30)) as u64)
    } else {
        found.push(error_at(
            section,
            &section.path().key("arc_max_gb"),
            format!("expected a positive number of GiB, found {gb}"),
        ));
        None
    }
}

/// `zfs.settings` is read by nobody; say so once.
fn note_settings(raw: &ZfsSection, section: &Section<'_>, found: &mut Vec<Diagnostic>) {
    if let Some(settings) = &raw.settings {
        found.push(
            Diagnostic::note(format!(
                "zfs.settings ({settings}) is not read: destructive steps need --allow-destroy on the command line"
            ))
            .at(section.location_of(&section.path().key("settings"))),
        );
    }
}

/// Every valid pool, in config order; a pool with any error is left out.
fn decode_pools(
    raw: &ZfsSection,
    section: &Section<'_>,
    found: &mut Vec<Diagnostic>,
) -> Vec<PoolSpec> {
    let mut pools: Vec<PoolSpec> = Vec::new();
    let mut disk_owner: BTreeMap<String, String> = BTreeMap::new();
    for (i, value) in raw.pools.iter().enumerate() {
        let path = section.path().key("pools").index(i);
        let pool = match section_decode::<PoolRaw>(section.document, &path, value) {
            Ok(pool) => pool,
            Err(diagnostic) => {
                found.push(diagnostic);
                continue;
            }
        };
        if let Some(pool) = decode_pool(pool, &pools, &mut disk_owner, (section, &path), found) {
            pools.push(pool);
        }
    }
    pools
}

/// One pool: a valid, new name, a layout, and enough disks, each a device path given once.
fn decode_pool(
    pool: PoolRaw,
    pools: &[PoolSpec],
    disk_owner: &mut BTreeMap<String, String>,
    (section, path): (&Section<'_>, &JsonPath),
    found: &mut Vec<Diagnostic>,
) -> Option<PoolSpec> {
    if let Err(message) = check_pool_name(&pool.name) {
        found.push(error_at(section, &path.key("name"), message));
        return None;
    }
    if pools.iter().any(|p| p.name == pool.name) {
        let message = format!("pool {:?} is declared twice", pool.name);
        found.push(error_at(section, &path.key("name"), message));
        return None;
    }
    let layout = match parse_layout(&pool.raid_level) {
        Ok(layout) => layout,
        Err(message) => {
            found.push(error_at(section, &path.key("raid_level"), message));
            return None;
        }
    };
    let mut ok = true;
    let mut disks = Vec::new();
    for (j, disk) in pool.disks.iter().enumerate() {
        let at = path.key("disks").index(j);
        match check_disk(disk) {
            Err(message) => {
                found.push(error_at(section, &at, message));
                ok = false;
            }
            Ok(disk) => {
                if let Some(owner) = disk_owner.insert(disk.clone(), pool.name.clone()) {
                    let message = format!("disk {disk} is given twice (also in pool {owner:?})");
                    found.push(error_at(section, &at, message));
                    ok = false;
                }
                disks.push(disk);
            }
        }
    }
    if pool.disks.len() < layout.min_disks() {
        let message = format!(
            "a {layout} pool needs at least {} disk(s), found {}",
            layout.min_disks(),
            pool.disks.len()
        );
        found.push(error_at(section, &path.key("disks"), message));
        ok = false;
    }
    if layout == Layout::Stripe && pool.disks.len() > 1 {
        found.push(
            Diagnostic::warning(format!(
                "pool {:?} stripes {} disks without redundancy: losing one disk loses the pool",
                pool.name,
                pool.disks.len()
            ))
            .at(section.location_of(&path.key("raid_level"))),
        );
    }
    ok.then_some(PoolSpec {
        name: pool.name,
        layout,
        disks,
    })
}

/// A disk is a device path under `/dev`, normalised (no `..`).
fn check_disk(disk: &str) -> Result<String, String> {
    let expected = || {
        format!(
            "expected a device path such as /dev/disk/by-id/..., found {}",
            excerpt(disk)
        )
    };
    let normalized = normalize_path(disk).map_err(|_| expected())?;
    if normalized.starts_with("/dev/") {
        Ok(normalized)
    } else {
        Err(expected())
    }
}

/// Every valid dataset, in config order, and the `proxmox_storage_ids` keys they used.
fn decode_datasets(
    raw: &ZfsSection,
    pools: &[PoolSpec],
    storage_ids: &BTreeMap<String, String>,
    section: &Section<'_>,
    found: &mut Vec<Diagnostic>,
) -> (Vec<DatasetSpec>, BTreeSet<String>) {
    let pool_names = raw_pool_names(raw);
    let mut datasets: Vec<DatasetSpec> = Vec::new();
    let mut used_keys = BTreeSet::new();
    let mut storage_owner: BTreeMap<String, String> = BTreeMap::new();
    for (i, value) in raw.datasets.iter().enumerate() {
        let path = section.path().key("datasets").index(i);
        let dataset = match section_decode::<DatasetRaw>(section.document, &path, value) {
            Ok(dataset) => dataset,
            Err(diagnostic) => {
                found.push(diagnostic);
                continue;
            }
        };
        let known_pool =
            pools.iter().any(|p| p.name == dataset.pool) || pool_names.contains(&dataset.pool);
        let Some(mut spec) =
            decode_dataset(&dataset, known_pool, &pool_names, (section, &path), found)
        else {
            continue;
        };
        if datasets.iter().any(|d| d.full_name == spec.full_name) {
            let message = format!("dataset {:?} is declared twice", spec.full_name);
            found.push(error_at(section, &path.key("name"), message));
            continue;
        }
        match decode_storage(&dataset, &path, section, found) {
            Ok(None) => {}
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
                    found.push(error_at(section, &path, message));
                    continue;
                }
                if let Some(other) = storage_owner.insert(id.clone(), spec.full_name.clone()) {
                    let message = format!(
                        "storage id {id:?} is used by both {other} and {}",
                        spec.full_name
                    );
                    found.push(error_at(section, &path, message));
                    continue;
                }
                spec.storage = Some(StorageSpec { id, kind, content });
            }
            Err(()) => continue,
        }
        datasets.push(spec);
    }
    (datasets, used_keys)
}

/// One dataset without its storage: a valid name in a declared pool, and its properties.
fn decode_dataset(
    dataset: &DatasetRaw,
    known_pool: bool,
    pool_names: &[String],
    (section, path): (&Section<'_>, &JsonPath),
    found: &mut Vec<Diagnostic>,
) -> Option<DatasetSpec> {
    if let Err(message) = check_dataset_name(&dataset.name) {
        found.push(error_at(section, &path.key("name"), message));
        return None;
    }
    if !known_pool {
        let hint = suggest(&dataset.pool, pool_names.iter().map(String::as_str))
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        let message = format!(
            "unknown pool {}{hint} (the config declares: {})",
            excerpt(&dataset.pool),
            pool_names
                .iter()
                .map(|name| excerpt(name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        found.push(error_at(section, &path.key("pool"), message));
        return None;
    }
    let properties = decode_properties(
        dataset.properties.as_ref(),
        &path.key("properties"),
        section,
        found,
    )?;
    if let Some(class) = &dataset.storage_class {
        found.push(
            Diagnostic::note(format!(
                "storage_class {} is descriptive only; Phoenix does not act on it",
                excerpt(class)
            ))
            .at(section.location_of(&path.key("storage_class"))),
        );
    }
    Some(DatasetSpec {
        pool: dataset.pool.clone(),
        full_name: format!("{}/{}", dataset.pool, dataset.name),
        properties,
        storage: None,
    })
}

/// A note for each `proxmox_storage_ids` key that no dataset uses.
fn note_unused_storage_ids(
    storage_ids: &BTreeMap<String, String>,
    used_keys: &BTreeSet<String>,
    section: &Section<'_>,
    found: &mut Vec<Diagnostic>,
) {
    for key in storage_ids.keys().filter(|k| !used_keys.contains(*k)) {
        found.push(
            Diagnostic::note(format!(
                "proxmox_storage_ids.{key} matches no dataset, so it is not used (the key for dataset \
                 POOL/NAME is POOL_NAME with '-' as '_', e.g. quickOS_vm_disks); the storage id defaults to POOL-NAME"
            ))
            .at(section.location_of(&section.path().key(key))),
        );
    }
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
            "expected raid_level mirror, single, stripe, raidz1, raidz2 or raidz3; found {}",
            excerpt(text)
        )),
    }
}

fn check_pool_name(name: &str) -> Result<(), String> {
    let reserved = [
        "mirror", "raidz", "draid", "spare", "log", "cache", "special", "dedup",
    ];
    // ZFS names (a pool's, and a dataset's with its pool) are under 256 bytes.
    let valid = name.len() < 256
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        && !reserved.iter().any(|r| name.starts_with(r));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid pool name {}: it must start with a letter, hold only letters, digits, _ - . : and not start with a vdev keyword",
            excerpt(name)
        ))
    }
}

fn check_dataset_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() < 256
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
            "invalid dataset name {}: use letters, digits and _ - . : (and / between levels)",
            excerpt(name)
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
            "invalid Proxmox storage id {}: it must start with a letter and hold only letters, digits, - _ .",
            excerpt(id)
        ))
    }
}

/// The properties as `(name, value)` pairs: the upstream `"k=v,k=v"` string or a JSON object.
fn property_pairs(
    value: Option<&Value>,
    path: &JsonPath,
    section: &Section<'_>,
    found: &mut Vec<Diagnostic>,
) -> Option<Vec<(String, String)>> {
    let pairs = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => {
            let mut pairs = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                        pairs.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                    _ => {
                        found.push(
                            Diagnostic::error(format!(
                                "expected \"property=value\" pairs separated by commas, found {}",
                                excerpt(part)
                            ))
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
                        found.push(
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
            found.push(
                Diagnostic::error(format!(
                    "expected properties as \"k=v,k=v\" or an object, found {}",
                    kind_of(other)
                ))
                .at(section.location_of(path)),
            );
            return None;
        }
    };
    Some(pairs)
}

/// Decodes the properties and checks each against the property table: known, given once, a
/// valid value.
fn decode_properties(
    value: Option<&Value>,
    path: &JsonPath,
    section: &Section<'_>,
    found: &mut Vec<Diagnostic>,
) -> Option<Vec<(String, String)>> {
    let pairs = property_pairs(value, path, section, found)?;
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
            found.push(
                Diagnostic::error(format!(
                    "unknown or unmanaged ZFS property {}{hint}",
                    excerpt(&name)
                ))
                .at(section.location_of(&at)),
            );
            ok = false;
            continue;
        };
        if !seen.insert(property.name) {
            found.push(
                Diagnostic::error(format!("property {} is given twice", property.name))
                    .at(section.location_of(&at)),
            );
            ok = false;
            continue;
        }
        if let Err(message) = props::validate(property, &value) {
            found.push(Diagnostic::error(message).at(section.location_of(&at)));
            ok = false;
            continue;
        }
        out.push((property.name.to_owned(), value));
    }
    for (name, message) in props::check_together(&out) {
        let at = if matches!(value_kind(section, path), Some(true)) {
            path.key(&name)
        } else {
            path.clone()
        };
        found.push(Diagnostic::error(message).at(section.location_of(&at)));
        ok = false;
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
    found: &mut Vec<Diagnostic>,
) -> Result<Option<(StorageKind, BTreeSet<String>)>, ()> {
    let Some(kind_text) = &dataset.proxmox_storage_type else {
        if dataset.proxmox_content_type.is_some() {
            found.push(
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
            found.push(
                Diagnostic::error(format!(
                    "expected proxmox_storage_type zfspool or dir, found {}",
                    excerpt(other)
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
            found.push(
                Diagnostic::error(format!(
                    "a {} storage cannot hold content {}; expected some of {}",
                    kind.as_str(),
                    excerpt(word),
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
    use std::path::PathBuf;

    use phoenix_core::config::{ConfigSet, Document};
    use serde_json::json;

    use super::*;

    /// A `zfs` section document made of `zfs`.
    fn document(zfs: &Value) -> Document {
        let text = serde_json::to_string_pretty(&json!({ "zfs": zfs })).expect("JSON");
        Document::parse(PathBuf::from("h.json"), text).expect("valid JSON")
    }

    /// Runs one concern on the `zfs` section and renders what it returned and found: `value`
    /// renders the result, then one `severity at path: message` line per diagnostic.
    fn check<T>(
        zfs: Value,
        concern: impl Fn(&ZfsSection, &Section<'_>, &mut Vec<Diagnostic>) -> T,
        value: impl Fn(&T) -> String,
        expect: &str,
    ) {
        let config = ConfigSet::from_documents(vec![document(&zfs)]);
        let section = config.sections().next().expect("the zfs section");
        let raw: ZfsSection = section.decode().expect("a zfs section");
        let mut found = Vec::new();
        let result = concern(&raw, &section, &mut found);
        let mut got = value(&result);
        for diagnostic in &found {
            let path = diagnostic.location.as_ref().map_or("", |l| l.path.as_str());
            got.push_str(&format!(
                "\n{} at {path}: {}",
                diagnostic.severity, diagnostic.message
            ));
        }
        assert_eq!(got, expect, "{zfs}");
    }

    fn pools(found: &[PoolSpec]) -> String {
        let pools: Vec<String> = found
            .iter()
            .map(|p| format!("{} {} {}", p.name, p.layout, p.disks.join(" ")))
            .collect();
        format!("pools: {}", pools.join("; "))
    }

    #[test]
    fn issue_8_pools_table() {
        let rows = [
            (
                json!({"pools": [{"name": "tank", "raid_level": "mirror", "disks": ["/dev/disk/by-id/a", "/dev//disk/by-id/./b"]}]}),
                "pools: tank mirror /dev/disk/by-id/a /dev/disk/by-id/b",
            ),
            (
                json!({"pools": [{"name": "tank", "raid_level": "mirror", "disks": ["/dev/../etc/shadow", "sda"]}]}),
                "pools: \nerror at zfs.pools[0].disks[0]: expected a device path such as /dev/disk/by-id/..., found \"/dev/../etc/shadow\"\nerror at zfs.pools[0].disks[1]: expected a device path such as /dev/disk/by-id/..., found \"sda\"",
            ),
            (
                json!({"pools": [
                    {"name": "a", "raid_level": "single", "disks": ["/dev/x", "/dev/y"]},
                    {"name": "a", "raid_level": "mirror", "disks": ["/dev/z", "/dev/w"]},
                    {"name": "b", "raid_level": "raidz2", "disks": ["/dev/x", "/dev/v"]}
                ]}),
                "pools: a stripe /dev/x /dev/y\nwarning at zfs.pools[0].raid_level: pool \"a\" stripes 2 disks without redundancy: losing one disk loses the pool\nerror at zfs.pools[1].name: pool \"a\" is declared twice\nerror at zfs.pools[2].disks[0]: disk /dev/x is given twice (also in pool \"a\")\nerror at zfs.pools[2].disks: a raidz2 pool needs at least 3 disk(s), found 2",
            ),
            (
                json!({"pools": [{"name": "mirror1", "raid_level": "mirror", "disks": []}, {"name": "ok", "raid_level": "raid5", "disks": []}]}),
                "pools: \nerror at zfs.pools[0].name: invalid pool name \"mirror1\": it must start with a letter, hold only letters, digits, _ - . : and not start with a vdev keyword\nerror at zfs.pools[1].raid_level: expected raid_level mirror, single, stripe, raidz1, raidz2 or raidz3; found \"raid5\"",
            ),
        ];
        for (zfs, expect) in rows {
            check(
                zfs,
                decode_pools,
                |found: &Vec<PoolSpec>| pools(found),
                expect,
            );
        }
    }

    #[test]
    fn arc_and_settings_table() {
        let rows = [
            (json!({"arc_max_gb": 2}), "Some(2147483648)"),
            (
                json!({"arc_max_gb": 0}),
                "None\nerror at zfs.arc_max_gb: expected a positive number of GiB, found 0",
            ),
            (
                json!({"settings": {"x": 1}}),
                "None\nnote at zfs.settings: zfs.settings ({\"x\":1}) is not read: destructive steps need --allow-destroy on the command line",
            ),
        ];
        for (zfs, expect) in rows {
            check(
                zfs,
                |raw, section, found| {
                    note_settings(raw, section, found);
                    decode_arc(raw, section, found)
                },
                |arc| format!("{arc:?}"),
                expect,
            );
        }
    }

    #[test]
    fn datasets_table() {
        let pool = json!([{"name": "fast", "raid_level": "single", "disks": ["/dev/x"]}]);
        let rows = [
            (
                json!({"pools": pool, "datasets": [{"name": "iso", "pool": "fast", "properties": "compression=lz4", "proxmox_storage_type": "dir", "proxmox_content_type": "iso,vztmpl"}]}),
                r#"fast/iso [("compression", "lz4")] Some("fast-iso dir iso,vztmpl")"#,
            ),
            (
                json!({"pools": pool, "datasets": [
                    {"name": "a", "pool": "fats"},
                    {"name": "/a", "pool": "fast"},
                    {"name": "b", "pool": "fast", "properties": {"comprssion": "lz4"}},
                    {"name": "c", "pool": "fast", "proxmox_storage_type": "zfspool", "proxmox_content_type": "iso"},
                    {"name": "d", "pool": "fast"},
                    {"name": "d", "pool": "fast"}
                ]}),
                "fast/d [] None\nerror at zfs.datasets[0].pool: unknown pool \"fats\"; did you mean \"fast\"? (the config declares: \"fast\")\nerror at zfs.datasets[1].name: invalid dataset name \"/a\": use letters, digits and _ - . : (and / between levels)\nerror at zfs.datasets[2].properties.comprssion: unknown or unmanaged ZFS property \"comprssion\"; did you mean \"compression\"?\nerror at zfs.datasets[3].proxmox_content_type: a zfspool storage cannot hold content \"iso\"; expected some of images, rootdir\nerror at zfs.datasets[5].name: dataset \"fast/d\" is declared twice",
            ),
        ];
        for (zfs, expect) in rows {
            check(
                zfs,
                |raw, section, found| {
                    let pools = decode_pools(raw, section, found);
                    decode_datasets(raw, &pools, &BTreeMap::new(), section, found).0
                },
                |datasets| {
                    datasets
                        .iter()
                        .map(|d| {
                            let storage = d.storage.as_ref().map(|s| {
                                let content: Vec<&str> =
                                    s.content.iter().map(String::as_str).collect();
                                format!("{} {} {}", s.id, s.kind.as_str(), content.join(","))
                            });
                            format!("{} {:?} {storage:?}", d.full_name, d.properties)
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                },
                expect,
            );
        }
    }

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
        assert!(check_pool_name(&"p".repeat(256)).is_err());
        assert!(check_dataset_name(&"d".repeat(256)).is_err());
        assert!(check_dataset_name("shared-prod-data").is_ok());
        assert!(check_dataset_name("a//b").is_err());
        assert!(check_storage_id("fastData-fastData-shared-iso").is_ok());
        assert!(check_storage_id("9lives").is_err());
    }
}
