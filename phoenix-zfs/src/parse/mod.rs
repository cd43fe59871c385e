//! Pure parsers of the output of the tools this provider drives (`zpool`, `zfs`, util-linux,
//! smartctl, `/proc/meminfo`). Each is `&str -> Result<T, ParseError>` and is tested against the
//! real samples in `shared/fixtures`. storage.cfg is a Proxmox format, read by `phoenix-pve`.

mod disk;
mod get;
mod meminfo;
mod size;
mod smartctl;
#[cfg(test)]
pub(crate) mod testing;
mod zpool;

pub use disk::{BlkidProbe, Signature, parse_blkid_p, parse_wipefs_json, parse_wipefs_table};
pub use get::{Prop, PropertyTable, Source, parse_zfs_get, parse_zpool_get};
pub use meminfo::parse_meminfo_total_kib;
pub use phoenix_core::parse::ParseError;
pub use size::{format_size, parse_size};
pub use smartctl::{DiskWear, parse_smartctl_json};
pub use zpool::{PoolLayout, Vdev, VdevGroup, VdevKind, parse_zpool_list_v};
