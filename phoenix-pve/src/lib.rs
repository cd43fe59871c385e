//! Proxmox VE's file formats, in one place that every provider can use without depending on
//! another provider: the container conf (`/etc/pve/lxc/<vmid>.conf` and `pct config`, with its
//! snapshot and pending sections), property strings (`netN`, `rootfs`/`mpN`, `startup`,
//! `features`), the description encoding, `/etc/pve/storage.cfg`, the firewall files (`cluster.fw`, `host.fw`, `<vmid>.fw`, in
//! [`firewall`]), size strings (`8G`), and the versions the node's tools print ([`version`]:
//! `zfs version`, Debian package versions).
//!
//! Each format has one reader and, where Phoenix writes it, one writer, used both by the provider
//! that reads the format from a host and by the emulator that writes it on the simulated node, so
//! the two cannot drift apart. Readers are pure `&str -> Result<T, ParseError>` functions, tested
//! on the real samples in `shared/fixtures/proxmox`.
//!
//! The crate also holds [`StorageCfg`], the one read of storage.cfg per run that every provider
//! shares (a fact is keyed by name, so two providers asking for it cost one read).

mod conf;
mod error;
mod facts;
pub mod firewall;
pub mod gpu;
mod property;
mod size;
mod storage_cfg;
#[cfg(test)]
mod testing;
mod text;
pub mod version;

pub use conf::{
    Conf, PendingDelete, Section, format_conf, format_pct_config, format_pending_deletions,
    parse_conf, pending_deletions,
};
pub use error::{Error, Result};
pub use facts::{STORAGE_CFG, StorageCfg};
pub use phoenix_core::parse::ParseError;
pub use property::{
    Features, MountPoint, Net, PropertyString, Startup, VolumeSource, format_mount_point,
    format_net, parse_bool, parse_features, parse_mount_point, parse_net, parse_property_string,
    parse_startup,
};
pub use size::{format_size, parse_size, parse_size_gib_ceil};
pub use storage_cfg::{StorageSection, parse_storage_cfg};
pub use text::{decode_text, encode_text};
