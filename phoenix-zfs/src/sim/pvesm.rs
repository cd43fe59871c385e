//! The `pvesm` emulator: `add`, `set` and `status`, reading and writing `/etc/pve/storage.cfg`
//! with the SectionConfig writer rules, and `status` with the printf rule of
//! libpve-storage-perl 9.1 (`fixtures/proxmox/SOURCES.md` §4).
//!
//! Exit status: errors go through Perl `die`, which exits 255 (SOURCES.md §3).

use phoenix_core::sim::{Emulator, SimFile, SimOutput, SimSys};
use phoenix_pve::{STORAGE_CFG, StorageSection, parse_storage_cfg};

use super::args::not_emulated;
use super::model::Model;
use super::state::{DISKS, Disks, PVESM, PvesmState, ZFS, ZfsState};

/// Emulates `pvesm` over `/etc/pve/storage.cfg` and the `zfs` and `pvesm` namespaces.
#[derive(Debug, Default, Clone, Copy)]
pub struct PvesmEmulator;

impl Emulator for PvesmEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["pvesm".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let mut sections = match sys.read(STORAGE_CFG) {
            Some(file) => match parse_storage_cfg(&file.content) {
                Ok(sections) => sections,
                Err(err) => {
                    return SimOutput::fail(255, format!("phoenix sim: {STORAGE_CFG}: {err}\n"));
                }
            },
            None => Vec::new(),
        };
        // A bare boolean (`sparse`, as the installer writes it) reads as 1 and is written `sparse 1`.
        for section in &mut sections {
            for (key, value) in &mut section.options {
                if value.is_empty() && BOOLEANS.contains(&key.as_str()) {
                    *value = "1".to_owned();
                }
            }
        }
        match argv.get(1).map(String::as_str) {
            Some("add") => add(argv, sections, sys),
            Some("set") => set(argv, sections, sys),
            Some("status") if argv.len() == 2 => status(&sections, sys),
            _ => not_emulated(argv),
        }
    }

    /// Every pvesm call starts Perl and loads the PVE modules: about 350 ms.
    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(350))
    }
}

/// The options a storage type takes, the fixed (required) ones first.
fn options(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match kind {
        "zfspool" => Some((
            &["pool"],
            &[
                "blocksize",
                "bwlimit",
                "comment",
                "content",
                "disable",
                "mountpoint",
                "nodes",
                "sparse",
            ],
        )),
        "dir" => Some((
            &["path"],
            &[
                "bwlimit",
                "comment",
                "content",
                "content-dirs",
                "create-base-path",
                "create-subdirs",
                "disable",
                "format",
                "is_mountpoint",
                "max-protected-backups",
                "mkdir",
                "nodes",
                "preallocation",
                "prune-backups",
                "shared",
            ],
        )),
        _ => None,
    }
}

/// The required keys of the types PVE ships, for writing sections Phoenix did not add.
fn fixed_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "dir" | "btrfs" => &["path"],
        "zfspool" => &["pool"],
        "lvmthin" => &["thinpool", "vgname"],
        "lvm" => &["vgname"],
        "nfs" => &["export", "path", "server"],
        "cifs" => &["path", "server", "share"],
        "pbs" => &["datastore", "server"],
        "iscsi" => &["portal", "target"],
        _ => &[],
    }
}

const BOOLEANS: &[&str] = &[
    "sparse",
    "shared",
    "disable",
    "mkdir",
    "create-base-path",
    "create-subdirs",
];

fn content_allowed(kind: &str) -> &'static [&'static str] {
    match kind {
        "zfspool" => &["images", "rootdir"],
        _ => &[
            "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
        ],
    }
}

/// Writes sections as SectionConfig does: header, `comment`, a bare `disable`, the fixed keys
/// sorted, the other keys sorted, each `\t<key> <value>`, and an empty line after each section.
pub(crate) fn write_storage_cfg(sections: &[StorageSection]) -> String {
    let mut out = String::new();
    for section in sections {
        out.push_str(&format!("{}: {}\n", section.kind, section.id));
        let fixed = fixed_keys(&section.kind);
        let line = |out: &mut String, key: &str, value: &str| {
            if !value.is_empty() {
                out.push_str(&format!("\t{key} {value}\n"));
            }
        };
        if let Some(comment) = section.options.get("comment") {
            line(&mut out, "comment", comment);
        }
        if section
            .options
            .get("disable")
            .is_some_and(|value| value != "0")
        {
            out.push_str("\tdisable\n");
        }
        for key in fixed {
            if let Some(value) = section.options.get(*key) {
                line(&mut out, key, value);
            }
        }
        for (key, value) in &section.options {
            if !fixed.contains(&key.as_str()) && key != "comment" && key != "disable" {
                line(&mut out, key, value);
            }
        }
        out.push('\n');
    }
    out
}

/// `--key value`, `-key value` or `--key=value`; a boolean may stand alone.
fn parse_options(words: &[String]) -> Option<Vec<(String, String)>> {
    let mut options = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let key = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
        if let Some((key, value)) = key.split_once('=') {
            options.push((key.to_owned(), value.to_owned()));
            continue;
        }
        let value = match words.peek() {
            Some(next) if !next.starts_with('-') => words.next().cloned()?,
            _ if BOOLEANS.contains(&key) => "1".to_owned(),
            _ => return None,
        };
        options.push((key.to_owned(), value));
    }
    Some(options)
}

/// Normalises an option's value as PVE stores it: booleans as 0/1, lists de-duplicated.
fn normalise(kind: &str, key: &str, value: &str) -> Option<String> {
    if BOOLEANS.contains(&key) {
        return match value {
            "1" | "yes" | "on" | "true" => Some("1".to_owned()),
            "0" | "no" | "off" | "false" => Some("0".to_owned()),
            _ => None,
        };
    }
    if key == "content" || key == "nodes" {
        let mut items: Vec<&str> = Vec::new();
        for item in value.split([',', ';', ' ']).filter(|item| !item.is_empty()) {
            if key == "content" && !content_allowed(kind).contains(&item) {
                return None;
            }
            if !items.contains(&item) {
                items.push(item);
            }
        }
        return Some(items.join(","));
    }
    Some(value.to_owned())
}

/// Writes storage.cfg back (PVE rewrites the whole file) and says whether it changed. A new
/// file is owned as pmxcfs shows it (`root:www-data`, 0640).
fn save(sections: &[StorageSection], sys: &mut SimSys<'_>) -> bool {
    let text = write_storage_cfg(sections);
    let file = match sys.read(STORAGE_CFG) {
        Some(existing) if existing.content == text => return false,
        Some(existing) => SimFile::new(text, existing.mode, existing.owner.clone()),
        None => SimFile::new(text, 0o640, "root:www-data"),
    };
    sys.write(STORAGE_CFG, file);
    true
}

/// `pvesm add zfspool|dir ID --pool X | --path P [options]`.
fn add(argv: &[String], mut sections: Vec<StorageSection>, sys: &mut SimSys<'_>) -> SimOutput {
    let (Some(kind), Some(id)) = (argv.get(2), argv.get(3)) else {
        return not_emulated(argv);
    };
    let Some((fixed, optional)) = options(kind) else {
        return not_emulated(argv);
    };
    let Some(given) = parse_options(&argv[4..]) else {
        return not_emulated(argv);
    };
    let mut section = StorageSection::new(kind.clone(), id.clone());
    for (key, value) in given {
        if !fixed.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return not_emulated(argv);
        }
        let Some(value) = normalise(kind, &key, &value) else {
            return not_emulated(argv);
        };
        section.options.insert(key, value);
    }
    if fixed.iter().any(|key| !section.options.contains_key(*key)) {
        return not_emulated(argv);
    }
    if sections.iter().any(|existing| existing.id == *id) {
        return SimOutput::fail(
            255,
            format!("create storage failed: storage ID '{id}' already defined\n"),
        );
    }
    sections.push(section);
    let changed = save(&sections, sys);
    SimOutput::new(0, "", "", changed)
}

/// `pvesm set ID [options] [--delete k1,k2]`.
fn set(argv: &[String], mut sections: Vec<StorageSection>, sys: &mut SimSys<'_>) -> SimOutput {
    let Some(id) = argv.get(2) else {
        return not_emulated(argv);
    };
    let Some(given) = parse_options(&argv[3..]) else {
        return not_emulated(argv);
    };
    let Some(section) = sections.iter_mut().find(|section| section.id == *id) else {
        return SimOutput::fail(
            255,
            format!("update storage failed: storage '{id}' does not exist\n"),
        );
    };
    let Some((fixed, optional)) = options(&section.kind) else {
        return not_emulated(argv);
    };
    let kind = section.kind.clone();
    for (key, value) in given {
        if key == "delete" {
            for delete in value.split(',') {
                if !optional.contains(&delete) {
                    return not_emulated(argv);
                }
                section.options.remove(delete);
            }
            continue;
        }
        if fixed.contains(&key.as_str()) || !optional.contains(&key.as_str()) {
            return not_emulated(argv);
        }
        let Some(value) = normalise(&kind, &key, &value) else {
            return not_emulated(argv);
        };
        section.options.insert(key, value);
    }
    let changed = save(&sections, sys);
    SimOutput::new(0, "", "", changed)
}

/// Total, used and available bytes of a storage, or `None` when it is not active.
fn usage(
    section: &StorageSection,
    model: &Model<'_>,
    filesystems: &PvesmState,
) -> Option<(u64, u64, u64)> {
    match section.kind.as_str() {
        "zfspool" => {
            let dataset = section.options.get("pool")?;
            model.datasets.contains_key(dataset).then(|| {
                let used = model.used(dataset);
                let available = model.available(dataset);
                (used + available, used, available)
            })
        }
        "dir" => {
            let path = section.options.get("path")?;
            let must_be_mountpoint = section
                .options
                .get("is_mountpoint")
                .is_some_and(|value| value != "0" && value != "no");
            let under = |mountpoint: &str| {
                path == mountpoint
                    || (!must_be_mountpoint
                        && (mountpoint == "/"
                            || path
                                .strip_prefix(mountpoint)
                                .is_some_and(|rest| rest.starts_with('/'))))
            };
            let dataset = model
                .datasets
                .keys()
                .filter_map(|name| {
                    let mountpoint = dataset_mountpoint(model, name)?;
                    under(&mountpoint).then_some((mountpoint.len(), name))
                })
                .max();
            if let Some((_, name)) = dataset {
                // statfs on a ZFS dataset: blocks = referenced + available.
                let used = model.referenced(name);
                let available = model.available(name);
                return Some((used + available, used, available));
            }
            filesystems
                .filesystems
                .iter()
                .filter(|(mountpoint, _)| under(mountpoint))
                .max_by_key(|(mountpoint, _)| mountpoint.len())
                .map(|(_, fs)| (fs.total, fs.used, fs.avail))
        }
        _ => None,
    }
}

/// Where a dataset is mounted, if it is.
fn dataset_mountpoint(model: &Model<'_>, name: &str) -> Option<String> {
    let prop = super::dataset_props::lookup("mounted", model.version)?;
    if model.property(name, prop).0 != "yes" {
        return None;
    }
    let prop = super::dataset_props::lookup("mountpoint", model.version)?;
    Some(model.property(name, prop).0)
}

/// `pvesm status`: `%-Ws %10s %10s %15s %15s %15s %8s` with W the longest id plus one, KiB
/// figures, rows sorted by id.
fn status(sections: &[StorageSection], sys: &mut SimSys<'_>) -> SimOutput {
    let state: ZfsState = sys.load(ZFS);
    let disks: Disks = sys.load(DISKS);
    let filesystems: PvesmState = sys.load(PVESM);
    let model = Model::new(&state, &disks);
    let width = sections
        .iter()
        .map(|section| section.id.len())
        .max()
        .unwrap_or(0)
        + 1;
    let mut out = format!(
        "{:<width$} {:>10} {:>10} {:>15} {:>15} {:>15} {:>8}\n",
        "Name", "Type", "Status", "Total (KiB)", "Used (KiB)", "Available (KiB)", "%"
    );
    let mut sorted: Vec<&StorageSection> = sections.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for section in sorted {
        let disabled = section
            .options
            .get("disable")
            .is_some_and(|value| value != "0");
        let figures = if disabled {
            None
        } else {
            usage(section, &model, &filesystems)
        };
        let status = match (disabled, figures) {
            (true, _) => "disabled",
            (false, Some(_)) => "active",
            (false, None) => "inactive",
        };
        let (total, used, available) = figures.unwrap_or_default();
        let percent = if disabled {
            "N/A".to_owned()
        } else {
            #[expect(
                clippy::cast_precision_loss,
                reason = "Perl computes the percentage in floating point too"
            )]
            let ratio = if total == 0 {
                0.0
            } else {
                used as f64 * 100.0 / total as f64
            };
            format!("{:>7}%", format!(" {ratio:.2}"))
        };
        out.push_str(&format!(
            "{:<width$} {:>10} {:>10} {:>15} {:>15} {:>15} {:>8}\n",
            section.id,
            section.kind,
            status,
            total / 1024,
            used / 1024,
            available / 1024,
            percent
        ));
    }
    SimOutput::ok(out)
}
