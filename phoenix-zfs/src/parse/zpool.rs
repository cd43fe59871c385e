//! `zpool list -v -H -P -p`: every pool with its size and health, and the vdev tree with the
//! disks as ZFS names them.
//!
//! Format (OpenZFS 2.1 and 2.3, `fixtures/zfs*/zpool-list-vHPp.txt`,
//! `fixtures/proxmox/zpool-list-vHPp.1.txt`): a pool row has 11 TAB-separated fields (name, size,
//! alloc, free, ckpoint, expandsz, frag, cap, dedup, health, altroot). Every vdev row, whatever
//! its depth, starts with one TAB and has 10 fields (no altroot). With `-H` the depth is not
//! printed, but it can be told from the alloc column: a top-level vdev has numbers, a disk inside
//! a mirror or raidz has `-`. Without `-v` only pool rows appear.

use super::ParseError;

/// One pool as `zpool list -v -H -P -p` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PoolLayout {
    /// The pool name.
    pub name: String,
    /// Total size in bytes.
    pub size: u64,
    /// Allocated bytes.
    pub allocated: u64,
    /// Free bytes.
    pub free: u64,
    /// `ONLINE`, `DEGRADED`, `FAULTED`, ...
    pub health: String,
    /// The data vdevs, in order.
    pub vdevs: Vec<Vdev>,
    /// The vdevs of the auxiliary classes (`log`, `cache`, `spare`, `special`, `dedup`).
    pub aux: Vec<Vdev>,
}

/// A top-level vdev.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Vdev {
    /// The class the vdev belongs to.
    pub group: VdevGroup,
    /// Mirror, raidz or a single disk.
    pub kind: VdevKind,
    /// The vdev's name: `mirror-0`, `raidz2-0`, or the disk itself for a single-disk vdev.
    pub name: String,
    /// The disks as printed (full paths with `-P`, such as `/dev/disk/by-id/x-part1`).
    pub disks: Vec<String>,
}

/// What a top-level vdev is made of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum VdevKind {
    /// A single disk (a stripe member).
    Disk,
    /// A mirror.
    Mirror,
    /// A raidz vdev with this parity.
    Raidz(u8),
    /// Anything else (`draid2:4d:1s:6c-0`, `replacing-0`, ...), by its name without the index.
    Other(String),
}

/// The allocation class of a vdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum VdevGroup {
    /// Ordinary data vdevs.
    Data,
    /// Separate intent log (`logs`).
    Log,
    /// L2ARC (`cache`).
    Cache,
    /// Hot spares (`spares`).
    Spare,
    /// Metadata class (`special`).
    Special,
    /// Dedup-table class (`dedup`).
    Dedup,
}

impl VdevGroup {
    /// The group a class header row names, as `zpool list -v` and `zpool status` print them.
    fn from_header(name: &str) -> Option<VdevGroup> {
        match name {
            "logs" | "log" => Some(VdevGroup::Log),
            "cache" => Some(VdevGroup::Cache),
            "spares" | "spare" => Some(VdevGroup::Spare),
            "special" => Some(VdevGroup::Special),
            "dedup" => Some(VdevGroup::Dedup),
            _ => None,
        }
    }
}

/// The kind of an interior vdev from its name (`mirror-0`, `raidz2-1`), `None` for a disk.
fn interior_kind(name: &str) -> Option<VdevKind> {
    let (base, index) = name.rsplit_once('-')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match base {
        "mirror" => Some(VdevKind::Mirror),
        "raidz" | "raidz1" => Some(VdevKind::Raidz(1)),
        "raidz2" => Some(VdevKind::Raidz(2)),
        "raidz3" => Some(VdevKind::Raidz(3)),
        "replacing" | "spare" | "root" | "indirect" | "hole" => {
            Some(VdevKind::Other(base.to_owned()))
        }
        _ if base.starts_with("draid") => Some(VdevKind::Other(base.to_owned())),
        _ => None,
    }
}

/// Parses `zpool list -v -H -P -p` (also plain `zpool list -H -p`, which has no vdev rows).
/// Empty output (no pools) gives an empty list.
pub fn parse_zpool_list_v(text: &str) -> Result<Vec<PoolLayout>, ParseError> {
    let mut pools: Vec<PoolLayout> = Vec::new();
    let mut group = VdevGroup::Data;
    // Whether the last top-level vdev is a mirror or raidz that disks can still join.
    let mut open_interior = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(row) = line.strip_prefix('\t') {
            let pool = pools
                .last_mut()
                .ok_or_else(|| ParseError::new(number, "vdev row before any pool row"))?;
            let fields: Vec<&str> = row.split('\t').collect();
            let name = fields[0];
            if let Some(header) = VdevGroup::from_header(name) {
                group = header;
                open_interior = false;
                continue;
            }
            if fields.len() != 10 {
                return Err(ParseError::new(
                    number,
                    format!("expected 10 fields in a vdev row, found {}", fields.len()),
                ));
            }
            let nested = fields[2] == "-";
            let list = if group == VdevGroup::Data {
                &mut pool.vdevs
            } else {
                &mut pool.aux
            };
            match interior_kind(name) {
                // `replacing-0` or `spare-0` inside a mirror: its disks stay with the mirror.
                Some(_) if nested && open_interior => {}
                Some(kind) => {
                    list.push(Vdev {
                        group,
                        kind,
                        name: name.to_owned(),
                        disks: Vec::new(),
                    });
                    open_interior = true;
                }
                None if nested && open_interior => {
                    if let Some(vdev) = list.last_mut() {
                        vdev.disks.push(name.to_owned());
                    }
                }
                None => {
                    list.push(Vdev {
                        group,
                        kind: VdevKind::Disk,
                        name: name.to_owned(),
                        disks: vec![name.to_owned()],
                    });
                    open_interior = false;
                }
            }
        } else {
            let fields: Vec<&str> = line.split('\t').collect();
            // A class header may also be printed flush left, like a pool row. Pool names cannot
            // be these words (`zpool create` reserves them).
            if let Some(header) = VdevGroup::from_header(fields[0]) {
                if pools.is_empty() {
                    return Err(ParseError::new(
                        number,
                        "vdev class row before any pool row",
                    ));
                }
                group = header;
                open_interior = false;
                continue;
            }
            if fields.len() != 11 {
                return Err(ParseError::new(
                    number,
                    format!(
                        "expected 11 TAB-separated fields in a pool row (zpool list -H -p), found {}",
                        fields.len()
                    ),
                ));
            }
            let number_at = |at: usize, what: &str| {
                fields[at].parse::<u64>().map_err(|_| {
                    ParseError::new(
                        number,
                        format!(
                            "{what} `{}` is not a byte count (was -p given?)",
                            fields[at]
                        ),
                    )
                })
            };
            pools.push(PoolLayout {
                name: fields[0].to_owned(),
                size: number_at(1, "size")?,
                allocated: number_at(2, "alloc")?,
                free: number_at(3, "free")?,
                health: fields[9].to_owned(),
                vdevs: Vec::new(),
                aux: Vec::new(),
            });
            group = VdevGroup::Data;
            open_interior = false;
        }
    }
    Ok(pools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::fixture_body;

    #[test]
    fn mirror_and_single_disk() {
        let pools = parse_zpool_list_v(&fixture_body(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/zfs/zpool-list-vHPp.txt"
        ))))
        .expect("real sample");
        assert_eq!(pools.len(), 2);
        assert_eq!(pools[0].name, "fastData");
        assert_eq!(pools[0].vdevs[0].kind, VdevKind::Disk);
        assert_eq!(
            pools[0].vdevs[0].disks,
            ["/dev/disk/by-id/virtio-zdisk3-part1"]
        );
        assert_eq!(pools[1].vdevs.len(), 1);
        assert_eq!(pools[1].vdevs[0].kind, VdevKind::Mirror);
        assert_eq!(pools[1].vdevs[0].disks.len(), 2);
    }

    #[test]
    fn stripe_of_mirrors_raidz_and_cache() {
        let row = "\t-\t-\t-\t-\t-\t-\t-\tONLINE";
        let top = "\t100\t1\t99\t-\t-\t0\t0\t-\tONLINE";
        let text = format!(
            "tank\t300\t2\t298\t-\t-\t0\t0\t1.00\tONLINE\t-\n\
             \tmirror-0{top}\n\t/dev/a1\t10{row}\n\t/dev/b1\t10{row}\n\
             \traidz2-1{top}\n\t/dev/c1\t10{row}\n\t/dev/d1\t10{row}\n\t/dev/e1\t10{row}\n\
             \t/dev/f1{top}\n\
             \tcache\t-\t-\t-\t-\t-\t-\t-\t-\t-\n\t/dev/g1{top}\n"
        );
        let pools = parse_zpool_list_v(&text).expect("valid");
        let kinds: Vec<_> = pools[0].vdevs.iter().map(|v| v.kind.clone()).collect();
        assert_eq!(
            kinds,
            [VdevKind::Mirror, VdevKind::Raidz(2), VdevKind::Disk]
        );
        assert_eq!(pools[0].vdevs[1].disks, ["/dev/c1", "/dev/d1", "/dev/e1"]);
        assert_eq!(pools[0].aux.len(), 1);
        assert_eq!(pools[0].aux[0].group, VdevGroup::Cache);
        assert_eq!(pools[0].aux[0].disks, ["/dev/g1"]);
    }

    #[test]
    fn empty_and_bad_input() {
        assert_eq!(parse_zpool_list_v(""), Ok(Vec::new()));
        assert_eq!(parse_zpool_list_v("\n"), Ok(Vec::new()));
        let err = parse_zpool_list_v("tank 1 2").expect_err("spaces");
        assert_eq!(err.line, 1);
        let err =
            parse_zpool_list_v("\t/dev/a\t1\t-\t-\t-\t-\t-\t-\t-\tONLINE").expect_err("orphan");
        assert_eq!(err.reason, "vdev row before any pool row");
        let err = parse_zpool_list_v("t\t1.8T\t1\t1\t-\t-\t0\t0\t1.00\tONLINE\t-")
            .expect_err("human sizes");
        assert!(err.reason.contains("was -p given?"), "{err}");
    }

    #[test]
    fn fixtures() {
        insta::glob!(
            "../../../../shared/fixtures",
            "{zfs,zfs-2.3}/zpool-list-{vHPp,Hp,Hp.empty}.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zpool_list_v(&fixture_body(path)));
            }
        );
        insta::glob!(
            "../../../../shared/fixtures",
            "proxmox/zpool-list-{vHPp.1,Hp.reconstructed}.txt",
            |path| {
                insta::assert_debug_snapshot!(parse_zpool_list_v(&fixture_body(path)));
            }
        );
    }
}
