//! Phoenix provider: ZFS pools, datasets, ARC and Proxmox storage.
//!
//! The blueprint every provider follows: batched facts (one `zpool list`, one `zpool get`, one
//! `zfs get`, one read of storage.cfg, whatever the number of datasets), semantic comparison, the
//! exact commands in the plan, and refusal of anything that would lose data.
//!
//! Kinds: `zfs.disk` (a pool's disk: blank check, wipe only with `--allow-destroy`, wear report),
//! `zfs.pool`, `zfs.dataset`, `zfs.arc`, `pve.storage`; plus a core `file` for
//! /etc/modprobe.d/zfs.conf.

pub mod arc;
pub mod config;
pub mod dataset;
pub mod disk;
mod error;
mod facts;
pub mod parse;
pub mod pool;
mod props;
#[cfg(feature = "sim")]
pub mod sim;
pub mod storage;

use std::collections::BTreeSet;
use std::sync::Arc;

use phoenix_core::config::{Claim, Section};
use phoenix_core::file::File;
use phoenix_core::{DecodeCx, Kind, Provider};

pub use error::{Error, Result};

/// The ZFS provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZfsProvider;

/// The ZFS provider, for `Registry::builder().provider(...)`.
pub fn provider() -> ZfsProvider {
    ZfsProvider
}

impl Provider for ZfsProvider {
    fn name(&self) -> &str {
        "zfs"
    }

    fn kinds(&self) -> Vec<Kind> {
        [
            disk::KIND,
            pool::KIND,
            dataset::KIND,
            arc::KIND,
            storage::KIND,
        ]
        .into_iter()
        .map(Kind::from_static)
        .collect()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("zfs"), Claim::managed("proxmox_storage_ids")]
    }

    /// The emulators of `zfs`/`zpool`, `blkid`/`wipefs`/`lsblk`, `smartctl` and `pvesm`, registered with the provider.
    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
        sim::emulators()
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        let Some(spec) = config::decode(sections, cx) else {
            return;
        };
        let node = cx
            .scope("node")
            .expect("invariant: the node is always a scope");
        for pool in &spec.pools {
            for path in &pool.disks {
                cx.add(disk::Disk::new(path, &pool.name, &node));
            }
            cx.add(pool::Pool { spec: pool.clone() });
        }
        let mut read: BTreeSet<&str> = dataset::ALWAYS_READ.iter().copied().collect();
        for dataset in &spec.datasets {
            read.extend(dataset.properties.iter().map(|(name, _)| name.as_str()));
        }
        let read: Arc<str> = Arc::from(read.into_iter().collect::<Vec<_>>().join(","));
        for dataset in &spec.datasets {
            cx.add(dataset::Dataset {
                spec: dataset.clone(),
                read: Arc::clone(&read),
            });
            if let Some(storage) = &dataset.storage {
                cx.add(storage::Storage {
                    spec: storage.clone(),
                    dataset: dataset.clone(),
                });
            }
        }
        if let Some(bytes) = spec.arc_max_bytes {
            cx.add(arc::Arc { bytes });
            cx.add(
                File::new(arc::MODPROBE_CONF, arc::modprobe_conf(bytes))
                    .mode(0o644)
                    .owner("root:root"),
            );
        }
    }
}

#[cfg(test)]
mod diff_tests;
