//! The util-linux disk tools: `blkid -p`, `wipefs` (list as JSON or table, and `-a`) and
//! `lsblk -J -b -o ...`, over the node's `disks` namespace.
//!
//! Formats: the captures in `fixtures/zfs*/` (blkid of an empty disk, of ext4 and of a ZFS
//! member; wipefs JSON and table; lsblk JSON of whole disks). Reconstructed from util-linux's
//! source (misc-utils/wipefs.c, misc-utils/blkid.c, libsmartcols): the error texts of a missing
//! device, the `wipefs -a` lines, the empty JSON array of a disk without signatures (util-linux
//! 2.37 and later) and lsblk's `children` array for partitions.

use phoenix_core::sim::{Emulator, SimOutput, SimSys};

use super::args::not_emulated;
use super::blockdev::{self, Device, SECTOR};
use super::state::{DISKS, Disk, Disks, Partition, SignatureState, ZFS, ZfsState};

/// Emulates `blkid`, `wipefs` and `lsblk` over the node's `disks` namespace.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskToolsEmulator;

impl Emulator for DiskToolsEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["blkid".to_owned(), "wipefs".to_owned(), "lsblk".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let disks: Disks = sys.load(DISKS);
        match argv.first().map(String::as_str) {
            Some("blkid") => blkid(argv, &disks),
            Some("wipefs") => wipefs(argv, disks, sys),
            Some("lsblk") => lsblk(argv, &disks),
            _ => not_emulated(argv),
        }
    }

    /// Small C programs reading a few sectors: about 3 ms each.
    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(3))
    }
}

/// The signatures of a disk or partition.
fn signatures<'d>(disks: &'d Disks, device: Device<'_>) -> &'d [SignatureState] {
    match device {
        Device::Disk(key) => &disks[key].signatures,
        Device::Partition(key, number) => {
            partition(&disks[key], number).map_or(&[], |part| &part.signatures)
        }
    }
}

fn partition(disk: &Disk, number: u32) -> Option<&Partition> {
    disk.partitions.iter().find(|part| part.number == number)
}

/// `KEY="value"` with blkid's escaping of `"` and `\`.
fn tag(key: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{key}=\"{escaped}\"")
}

/// The tags blkid prints for a filesystem signature, in blkid's order.
fn filesystem_tags(signature: &SignatureState) -> Vec<String> {
    let mut tags = Vec::new();
    let label = signature.label.as_deref().map(|label| tag("LABEL", label));
    let uuid = signature.uuid.as_deref().map(|uuid| tag("UUID", uuid));
    let usage = match signature.kind.as_str() {
        "LVM2_member" | "linux_raid_member" => "raid",
        "crypto_LUKS" => "crypto",
        "swap" => "other",
        _ => "filesystem",
    };
    match signature.kind.as_str() {
        // As captured: VERSION, LABEL, UUID, UUID_SUB, BLOCK_SIZE, TYPE, USAGE.
        "zfs_member" => {
            tags.push(tag("VERSION", "5000"));
            tags.extend(label);
            tags.extend(uuid);
            tags.extend(
                signature
                    .uuid_sub
                    .as_deref()
                    .map(|sub| tag("UUID_SUB", sub)),
            );
            tags.push(tag("BLOCK_SIZE", "4096"));
        }
        // As captured: UUID, VERSION, BLOCK_SIZE, TYPE, USAGE (a label comes first).
        "ext2" | "ext3" | "ext4" => {
            tags.extend(label);
            tags.extend(uuid);
            tags.push(tag("VERSION", "1.0"));
            tags.push(tag("BLOCK_SIZE", "4096"));
        }
        _ => {
            tags.extend(label);
            tags.extend(uuid);
            tags.extend(
                signature
                    .uuid_sub
                    .as_deref()
                    .map(|sub| tag("UUID_SUB", sub)),
            );
        }
    }
    tags.push(tag("TYPE", &signature.kind));
    tags.push(tag("USAGE", usage));
    tags
}

/// `blkid -p DEV...`: one line per device; a device with nothing on it prints nothing and
/// blkid exits 2, as does a missing device (with `blkid: error: DEV: No such file or directory`).
fn blkid(argv: &[String], disks: &Disks) -> SimOutput {
    let Some(("-p", devices)) = argv
        .get(1..)
        .and_then(|rest| rest.split_first())
        .map(|(first, rest)| (first.as_str(), rest))
    else {
        return not_emulated(argv);
    };
    if devices.is_empty() || devices.iter().any(|device| device.starts_with('-')) {
        return not_emulated(argv);
    }
    let mut stdout = String::new();
    for path in devices {
        let Some(device) = blockdev::find(disks, path) else {
            return SimOutput::new(
                2,
                stdout,
                format!("blkid: error: {path}: No such file or directory\n"),
                false,
            );
        };
        let found = signatures(disks, device);
        let mut tags: Vec<String> = match found
            .iter()
            .find(|sig| !blockdev::is_partition_table(&sig.kind))
        {
            Some(filesystem) => filesystem_tags(filesystem),
            None => match (device, found.first()) {
                (Device::Disk(key), Some(table)) => {
                    let pttype = if table.kind == "PMBR" {
                        "gpt"
                    } else {
                        table.kind.as_str()
                    };
                    let mut tags: Vec<String> = disks[key]
                        .ptuuid
                        .iter()
                        .map(|uuid| tag("PTUUID", uuid))
                        .collect();
                    tags.push(tag("PTTYPE", pttype));
                    tags
                }
                _ => Vec::new(),
            },
        };
        if let Device::Partition(key, number) = device
            && let Some(part) = partition(&disks[key], number)
        {
            tags.push(tag("PART_ENTRY_SCHEME", "gpt"));
            if !part.name.is_empty() {
                tags.push(tag("PART_ENTRY_NAME", &part.name));
            }
            tags.push(tag("PART_ENTRY_UUID", &part.uuid));
            tags.push(tag("PART_ENTRY_TYPE", &part.type_guid));
            tags.push(tag("PART_ENTRY_NUMBER", &part.number.to_string()));
            tags.push(tag("PART_ENTRY_OFFSET", &part.start.to_string()));
            tags.push(tag("PART_ENTRY_SIZE", &part.sectors.to_string()));
            tags.push(tag(
                "PART_ENTRY_DISK",
                &blockdev::devnum(disks, key, &disks[key]),
            ));
        }
        if tags.is_empty() {
            return SimOutput::new(2, stdout, "", false);
        }
        stdout.push_str(&format!("{path}: {}\n", tags.join(" ")));
    }
    SimOutput::ok(stdout)
}

/// wipefs's options as letters.
fn wipefs_letters(args: &[String]) -> Option<(String, Vec<&String>)> {
    let mut letters = String::new();
    let mut operands = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--no-act" => letters.push('n'),
            "--json" => letters.push('J'),
            "--all" => letters.push('a'),
            "--force" => letters.push('f'),
            "--quiet" => letters.push('q'),
            short if short.starts_with('-') && !short.starts_with("--") && short.len() > 1 => {
                for letter in short[1..].chars() {
                    if !"nJafq".contains(letter) {
                        return None;
                    }
                    letters.push(letter);
                }
            }
            long if long.starts_with("--") => return None,
            _ => operands.push(arg),
        }
    }
    Some((letters, operands))
}

/// `wipefs --no-act [--json] DEV` lists the signatures; `wipefs -a DEV` erases them.
fn wipefs(argv: &[String], mut disks: Disks, sys: &mut SimSys<'_>) -> SimOutput {
    let Some((letters, operands)) = wipefs_letters(&argv[1..]) else {
        return not_emulated(argv);
    };
    let [path] = operands[..] else {
        return not_emulated(argv);
    };
    let Some(device) = blockdev::find(&disks, path) else {
        return SimOutput::fail(
            1,
            format!(
                "wipefs: error: {path}: probing initialization failed: No such file or directory\n"
            ),
        );
    };
    let erase = letters.contains('a');
    if !erase {
        let listed = signatures(&disks, device);
        let name = path.rsplit('/').next().unwrap_or(path);
        return SimOutput::ok(if letters.contains('J') {
            wipefs_json(name, listed)
        } else {
            wipefs_table(name, listed)
        });
    }
    if letters.contains('n') {
        return not_emulated(argv);
    }
    // ZFS holds its disks open exclusively, so wipefs cannot open one that is in a pool.
    let state: ZfsState = sys.load(ZFS);
    let (key, number) = match device {
        Device::Disk(key) => (key.to_owned(), None),
        Device::Partition(key, number) => (key.to_owned(), Some(number)),
    };
    let in_use = state
        .pools
        .values()
        .flat_map(|pool| pool.vdevs.iter().flat_map(|vdev| &vdev.disks))
        .any(|member| match (blockdev::find(&disks, member), device) {
            (Some(Device::Disk(other) | Device::Partition(other, _)), Device::Disk(_)) => {
                other == key
            }
            (Some(used), Device::Partition(..)) => used == device,
            _ => false,
        });
    if in_use && !letters.contains('f') {
        return SimOutput::fail(
            1,
            format!(
                "wipefs: error: {path}: probing initialization failed: Device or resource busy\n"
            ),
        );
    }
    let erased = signatures(&disks, device).to_vec();
    let mut stdout = String::new();
    for signature in &erased {
        let Some(magic) = blockdev::magic(signature) else {
            return not_emulated(argv);
        };
        let Some(offset) = signature
            .offset
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        else {
            return not_emulated(argv);
        };
        let length = magic.split(' ').count();
        let bytes = if length == 1 {
            "byte was"
        } else {
            "bytes were"
        };
        stdout.push_str(&format!(
            "{path}: {length} {bytes} erased at offset {offset:#010x} ({}): {magic}\n",
            signature.kind
        ));
    }
    if erased.is_empty() {
        return SimOutput::ok("");
    }
    let table = erased
        .iter()
        .any(|sig| blockdev::is_partition_table(&sig.kind));
    if table && !letters.contains('f') {
        stdout.push_str(&format!(
            "{path}: calling ioctl to re-read partition table: Success\n"
        ));
    }
    if letters.contains('q') {
        stdout.clear();
    }
    if let Some(disk) = disks.get_mut(&key) {
        match number {
            None => {
                disk.signatures.clear();
                if table {
                    disk.partitions.clear();
                    disk.ptuuid = None;
                }
            }
            Some(number) => {
                if let Some(part) = disk
                    .partitions
                    .iter_mut()
                    .find(|part| part.number == number)
                {
                    part.signatures.clear();
                }
            }
        }
    }
    sys.store(DISKS, &disks);
    SimOutput::ok_mutated(stdout)
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "null".to_owned())
}

fn json_optional(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_owned(), json_string)
}

/// libsmartcols' JSON for a table called `name` whose rows are lists of `"key": value` cells
/// (util-linux 2.38, as in the captures): three spaces per level, rows joined by `},{`.
fn smartcols_json(name: &str, rows: &[String]) -> String {
    let mut out = format!("{{\n   \"{name}\": [\n");
    if !rows.is_empty() {
        out.push_str("      {\n");
        out.push_str(&rows.join("\n      },{\n"));
        out.push_str("\n      }\n");
    }
    out.push_str("   ]\n}\n");
    out
}

fn wipefs_json(name: &str, signatures: &[SignatureState]) -> String {
    let rows: Vec<String> = signatures
        .iter()
        .map(|sig| {
            [
                format!("         \"device\": {}", json_string(name)),
                format!("         \"offset\": {}", json_string(&sig.offset)),
                format!("         \"type\": {}", json_string(&sig.kind)),
                format!("         \"uuid\": {}", json_optional(sig.uuid.as_deref())),
                format!(
                    "         \"label\": {}",
                    json_optional(sig.label.as_deref())
                ),
            ]
            .join(",\n")
        })
        .collect();
    smartcols_json("signatures", &rows)
}

/// The default table: columns as wide as their widest cell, one space apart, the last column
/// not padded; nothing at all when there are no signatures.
fn wipefs_table(name: &str, signatures: &[SignatureState]) -> String {
    if signatures.is_empty() {
        return String::new();
    }
    let mut rows = vec![["DEVICE", "OFFSET", "TYPE", "UUID", "LABEL"].map(str::to_owned)];
    for sig in signatures {
        rows.push([
            name.to_owned(),
            sig.offset.clone(),
            sig.kind.clone(),
            sig.uuid.clone().unwrap_or_default(),
            sig.label.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let mut line: Vec<String> = (0..4)
                .map(|column| format!("{:<w$}", row[column], w = widths[column]))
                .collect();
            line.push(row[4].clone());
            line.join(" ") + "\n"
        })
        .collect()
}

/// `lsblk -J -b -o NAME,PATH,TYPE,SIZE,FSTYPE,SERIAL,MODEL,TRAN` (any of these columns, in any
/// order; `-d` leaves out partitions): whole disks sorted by name, partitions as `children`.
fn lsblk(argv: &[String], disks: &Disks) -> SimOutput {
    let mut columns: Option<Vec<String>> = None;
    let (mut json, mut bytes, mut nodeps) = (false, false, false);
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-J" | "--json" => json = true,
            "-b" | "--bytes" => bytes = true,
            "-d" | "--nodeps" => nodeps = true,
            "-o" | "--output" => {
                columns = args
                    .next()
                    .map(|list| list.split(',').map(str::to_lowercase).collect())
            }
            _ => return not_emulated(argv),
        }
    }
    let known = [
        "name", "path", "type", "size", "fstype", "serial", "model", "tran",
    ];
    let Some(columns) = columns
        .filter(|columns| json && bytes && columns.iter().all(|c| known.contains(&c.as_str())))
    else {
        return not_emulated(argv);
    };
    let mut entries: Vec<(String, &String, &Disk)> = disks
        .iter()
        .map(|(key, disk)| (blockdev::kernel_name(disks, key, disk), key, disk))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let cells = |indent: &str, values: &[(&str, String)]| -> String {
        columns
            .iter()
            .map(|column| {
                let value = values
                    .iter()
                    .find(|(key, _)| key == column)
                    .map_or_else(|| "null".to_owned(), |(_, v)| v.clone());
                format!("{indent}\"{column}\": {value}")
            })
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let fstype = |signatures: &[SignatureState]| {
        json_optional(
            signatures
                .iter()
                .find(|sig| !blockdev::is_partition_table(&sig.kind))
                .map(|sig| sig.kind.as_str()),
        )
    };
    let rows: Vec<String> = entries
        .iter()
        .map(|(name, _, disk)| {
            let mut row = cells(
                "         ",
                &[
                    ("name", json_string(name)),
                    ("path", json_string(&format!("/dev/{name}"))),
                    ("type", json_string("disk")),
                    ("size", disk.size.to_string()),
                    ("fstype", fstype(&disk.signatures)),
                    ("serial", json_optional(disk.serial.as_deref())),
                    ("model", json_optional(disk.model.as_deref())),
                    // lsblk knows no transport for virtio disks (the capture shows null).
                    (
                        "tran",
                        json_optional(disk.transport.as_deref().filter(|tran| *tran != "virtio")),
                    ),
                ],
            );
            if !nodeps && !disk.partitions.is_empty() {
                let children: Vec<String> = disk
                    .partitions
                    .iter()
                    .map(|part| {
                        let part_name = blockdev::partition_path(name, part.number);
                        cells(
                            "               ",
                            &[
                                ("name", json_string(&part_name)),
                                ("path", json_string(&format!("/dev/{part_name}"))),
                                ("type", json_string("part")),
                                ("size", (part.sectors * SECTOR).to_string()),
                                ("fstype", fstype(&part.signatures)),
                            ],
                        )
                    })
                    .collect();
                row.push_str(",\n         \"children\": [\n            {\n");
                row.push_str(&children.join("\n            },{\n"));
                row.push_str("\n            }\n         ]");
            }
            row
        })
        .collect();
    SimOutput::ok(smartcols_json("blockdevices", &rows))
}
