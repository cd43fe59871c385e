//! Pure parsers of the output of the tools this provider drives (`zpool`, `zfs`, `pvesm`'s
//! storage.cfg, util-linux, smartctl, `/proc/meminfo`). Each is `&str -> Result<T, ParseError>`
//! and is tested against the real samples in `shared/fixtures`.

mod disk;
mod get;
mod meminfo;
mod smartctl;
mod storage_cfg;
#[cfg(test)]
pub(crate) mod testing;
mod zpool;

pub use disk::{BlkidProbe, Signature, parse_blkid_p, parse_wipefs_json, parse_wipefs_table};
pub use get::{Prop, PropertyTable, Source, parse_zfs_get, parse_zpool_get};
pub use meminfo::parse_meminfo_total_kib;
pub use phoenix_core::parse::ParseError;
pub use smartctl::{DiskWear, parse_smartctl_json};
pub use storage_cfg::{StorageSection, parse_storage_cfg};
pub use zpool::{PoolLayout, Vdev, VdevGroup, VdevKind, parse_zpool_list_v};
