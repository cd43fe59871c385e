//! The block-device model shared by the disk tools and `zpool create`: finding a disk or a
//! partition by path, naming partitions, and what ZFS writes on a whole disk.

use super::state::{Disk, Disks, Partition, SignatureState, stable_hash, stable_uuid};

/// 1 MiB: where ZFS starts partition 1, and the slack it leaves at the end.
const MIB: u64 = 1 << 20;
/// The sector size the partition tables count in.
pub(crate) const SECTOR: u64 = 512;
/// The GPT type of a ZFS data partition (blkid `PART_ENTRY_TYPE`, from the capture).
pub(crate) const ZFS_PART_TYPE: &str = "6a898cc3-1dd2-11b2-99a6-080020736631";
/// The GPT type of the 8 MiB reserved partition 9 ZFS adds (Solaris reserved 1).
const RESERVED_PART_TYPE: &str = "6a945a3b-1dd2-11b2-99a6-080020736631";

/// A device found by path: a whole disk, or one of its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device<'a> {
    /// A whole disk, by its key in the `disks` namespace.
    Disk(&'a str),
    /// Partition `number` of the disk with this key.
    Partition(&'a str, u32),
}

/// Finds `path`: a disk key, `/dev/<kernel_name>`, or either followed by a partition suffix
/// (`-partN` for by-id links, `pN` after a digit, `N` otherwise).
pub(crate) fn find<'a>(disks: &'a Disks, path: &str) -> Option<Device<'a>> {
    for (key, disk) in disks {
        for base in std::iter::once(key.clone()).chain(kernel_path(disks, key, disk)) {
            if path == base {
                return Some(Device::Disk(key));
            }
            if let Some(number) = path
                .strip_prefix(base.as_str())
                .and_then(|rest| partition_number(&base, rest))
                && disk.partitions.iter().any(|part| part.number == number)
            {
                return Some(Device::Partition(key, number));
            }
        }
    }
    None
}

fn partition_number(base: &str, suffix: &str) -> Option<u32> {
    let digits = if base.starts_with("/dev/disk/") {
        suffix.strip_prefix("-part")?
    } else if base.ends_with(|c: char| c.is_ascii_digit()) {
        suffix.strip_prefix('p')?
    } else {
        suffix
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The path of partition `number` of the disk reached through `base`, as udev names it.
pub(crate) fn partition_path(base: &str, number: u32) -> String {
    if base.starts_with("/dev/disk/") {
        format!("{base}-part{number}")
    } else if base.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{base}p{number}")
    } else {
        format!("{base}{number}")
    }
}

/// The kernel name of a disk: its `kernel_name`, or one derived from its transport and its
/// position among the disks of that transport (`vda`, `sdb`, `nvme0n1`).
pub(crate) fn kernel_name(disks: &Disks, key: &str, disk: &Disk) -> String {
    if let Some(name) = &disk.kernel_name {
        return name.clone();
    }
    let transport = disk.transport.as_deref();
    let index = disks
        .iter()
        .filter(|(_, other)| other.kernel_name.is_none() && other.transport.as_deref() == transport)
        .position(|(other, _)| other == key)
        .unwrap_or(0);
    let letter = |index: usize| {
        let letters = b"abcdefghijklmnopqrstuvwxyz";
        char::from(letters[index % letters.len()])
    };
    match transport {
        Some("nvme") => format!("nvme{index}n1"),
        Some("virtio") => format!("vd{}", letter(index)),
        _ => format!("sd{}", letter(index)),
    }
}

fn kernel_path(disks: &Disks, key: &str, disk: &Disk) -> Option<String> {
    Some(format!("/dev/{}", kernel_name(disks, key, disk)))
}

/// The `MAJ:MIN` of a disk: its `devnum`, or one derived like the kernel name (virtio 254,
/// NVMe 259, SCSI 8; 16 minors per disk except NVMe).
pub(crate) fn devnum(disks: &Disks, key: &str, disk: &Disk) -> String {
    if let Some(devnum) = &disk.devnum {
        return devnum.clone();
    }
    let name = kernel_name(disks, key, disk);
    let index = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.bytes().next())
            .map_or(0, |b| u32::from(b.saturating_sub(b'a')))
    };
    if let Some(rest) = name.strip_prefix("nvme") {
        let n: u32 = rest
            .split('n')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        format!("259:{n}")
    } else if name.starts_with("vd") {
        format!("254:{}", index("vd") * 16)
    } else {
        format!("8:{}", index("sd") * 16)
    }
}

/// The bytes wipefs prints for a signature it erases: the state's `magic`, or the magic string
/// of well-known types (from their on-disk formats).
pub(crate) fn magic(signature: &SignatureState) -> Option<String> {
    if let Some(magic) = &signature.magic {
        return Some(magic.clone());
    }
    let bytes = match signature.kind.as_str() {
        "gpt" => "45 46 49 20 50 41 52 54",
        "PMBR" | "dos" => "55 aa",
        "ext2" | "ext3" | "ext4" => "53 ef",
        "xfs" => "58 46 53 42",
        "btrfs" => "5f 42 48 52 66 53 5f 4d",
        "zfs_member" => "0c b1 ba 00 00 00 00 00",
        "LVM2_member" => "4c 56 4d 32 20 30 30 31",
        "swap" => "53 57 41 50 53 50 41 43 45 32",
        "linux_raid_member" => "fc 4e 2b a9",
        "crypto_LUKS" => "4c 55 4b 53 ba be",
        "ntfs" => "4e 54 46 53 20 20 20 20",
        _ => return None,
    };
    Some(bytes.to_owned())
}

/// Whether a signature is a partition table rather than a filesystem or RAID member.
pub(crate) fn is_partition_table(kind: &str) -> bool {
    matches!(
        kind,
        "gpt" | "PMBR" | "dos" | "atari" | "bsd" | "mac" | "sgi" | "sun"
    )
}

/// The size of partition 1 when ZFS labels a whole disk of `size` bytes: it starts at 1 MiB and
/// leaves 8 MiB for partition 9 and 1 MiB at the end (2 GiB gives the captured 4173824 sectors).
pub(crate) fn zfs_data_partition_size(size: u64) -> u64 {
    size.saturating_sub(10 * MIB) / SECTOR * SECTOR
}

/// Labels a whole disk as `zpool create` does: a GPT (primary, backup, protective MBR), partition
/// 1 holding the pool's label and partition 9 reserved.
pub(crate) fn label_for_zfs(disk: &mut Disk, key: &str, pool: &str, pool_guid: u64) {
    let backup = disk.size.saturating_sub(SECTOR);
    let pt = |offset: u64, kind: &str| SignatureState {
        kind: kind.to_owned(),
        offset: format!("{offset:#x}"),
        ..SignatureState::default()
    };
    disk.signatures = vec![pt(0x200, "gpt"), pt(backup, "gpt"), pt(0x1fe, "PMBR")];
    disk.ptuuid = Some(stable_uuid(&[key, pool, "ptuuid"]));
    let data_sectors = zfs_data_partition_size(disk.size) / SECTOR;
    let start = MIB / SECTOR;
    disk.partitions = vec![
        Partition {
            number: 1,
            start,
            sectors: data_sectors,
            name: format!("zfs-{:016x}", stable_hash(&[key, pool, "partname"])),
            uuid: stable_uuid(&[key, pool, "part1"]),
            type_guid: ZFS_PART_TYPE.to_owned(),
            signatures: vec![SignatureState {
                kind: "zfs_member".to_owned(),
                offset: "0x3f000".to_owned(),
                uuid: Some(pool_guid.to_string()),
                label: Some(pool.to_owned()),
                uuid_sub: Some(stable_hash(&[key, pool, "vdev"]).to_string()),
                magic: None,
            }],
        },
        Partition {
            number: 9,
            start: start + data_sectors,
            sectors: 8 * MIB / SECTOR,
            name: String::new(),
            uuid: stable_uuid(&[key, pool, "part9"]),
            type_guid: RESERVED_PART_TYPE.to_owned(),
            signatures: Vec::new(),
        },
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disks() -> Disks {
        let mut disks = Disks::new();
        disks.insert(
            "/dev/disk/by-id/virtio-zdisk1".to_owned(),
            Disk {
                size: 2 << 30,
                transport: Some("virtio".to_owned()),
                ..Disk::default()
            },
        );
        disks.insert(
            "/dev/disk/by-id/nvme-x".to_owned(),
            Disk {
                size: 2 << 30,
                kernel_name: Some("nvme0n1".to_owned()),
                ..Disk::default()
            },
        );
        disks
    }

    #[test]
    fn finds_disks_and_partitions_by_any_name() {
        let mut disks = disks();
        let key = "/dev/disk/by-id/virtio-zdisk1";
        assert_eq!(find(&disks, key), Some(Device::Disk(key)));
        assert_eq!(find(&disks, "/dev/vda"), Some(Device::Disk(key)));
        assert_eq!(find(&disks, "/dev/disk/by-id/virtio-zdisk1-part1"), None);
        if let Some(disk) = disks.get_mut(key) {
            label_for_zfs(disk, key, "tank", 1);
        }
        assert_eq!(
            find(&disks, "/dev/disk/by-id/virtio-zdisk1-part1"),
            Some(Device::Partition(key, 1))
        );
        assert_eq!(find(&disks, "/dev/vda9"), Some(Device::Partition(key, 9)));
        assert_eq!(
            find(&disks, "/dev/nvme0n1"),
            Some(Device::Disk("/dev/disk/by-id/nvme-x"))
        );
        assert_eq!(partition_path("/dev/nvme0n1", 1), "/dev/nvme0n1p1");
        assert_eq!(devnum(&disks, key, &disks[key]), "254:0");
    }

    #[test]
    fn zfs_label_matches_the_capture() {
        let mut disk = Disk {
            size: 2 << 30,
            ..Disk::default()
        };
        label_for_zfs(&mut disk, "/d", "quickOS", 7);
        assert_eq!(disk.partitions[0].sectors, 4_173_824);
        assert_eq!(disk.signatures[1].offset, "0x7ffffe00");
        assert_eq!(disk.signatures[2].offset, "0x1fe");
    }
}
