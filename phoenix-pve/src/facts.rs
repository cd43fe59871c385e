//! `StorageCfg`: the one read of `/etc/pve/storage.cfg` per run, shared by every provider.
//!
//! The ZFS provider compares its storages with it and the LXC provider checks that the storages
//! its containers need exist. A fact is cached by its key, so both together cost one read.

use std::path::Path;

use async_trait::async_trait;
use phoenix_core::{BoxError, Fact, Host};

use crate::error::Error;
use crate::storage_cfg::{StorageSection, parse_storage_cfg};

/// Where Proxmox VE keeps its storage definitions.
pub const STORAGE_CFG: &str = "/etc/pve/storage.cfg";

/// The storages defined in storage.cfg, in file order; `None` when the file does not exist (a
/// host without Proxmox VE).
#[derive(Debug, Clone, Copy, Default)]
pub struct StorageCfg;

#[async_trait]
impl Fact for StorageCfg {
    type Value = Option<Vec<StorageSection>>;

    fn key(&self) -> String {
        "pve.storage.cfg".to_owned()
    }

    async fn gather(&self, host: &dyn Host) -> Result<Self::Value, BoxError> {
        let Some(file) = host.read_file(Path::new(STORAGE_CFG)).await? else {
            return Ok(None);
        };
        let sections = parse_storage_cfg(&file.content).map_err(|source| Error::File {
            path: STORAGE_CFG.to_owned(),
            source,
        })?;
        Ok(Some(sections))
    }
}

#[cfg(test)]
mod tests {
    use phoenix_core::Ctx;
    use phoenix_core::FileData;
    use phoenix_core::facts::Facts;
    use phoenix_core::sim::FakeHost;

    use super::*;
    use crate::testing::proxmox_sample;

    #[tokio::test]
    async fn one_read_serves_every_provider_and_a_missing_file_is_none() {
        let host = FakeHost::new().file(
            STORAGE_CFG,
            FileData::new(proxmox_sample("storage.cfg.1"), 0o640, "root:www-data"),
        );
        let facts = std::sync::Arc::new(Facts::new());
        let cx = Ctx::with_facts(&host, facts);
        let first = cx.fact(&StorageCfg).await.expect("parses");
        let second = cx.fact(&StorageCfg).await.expect("cached");
        assert!(std::sync::Arc::ptr_eq(&first, &second), "one gathering");
        let ids: Vec<&str> = first
            .as_deref()
            .expect("the file exists")
            .iter()
            .map(|section| section.id.as_str())
            .collect();
        assert!(ids.contains(&"local"), "{ids:?}");
        let empty = FakeHost::new();
        assert_eq!(*Ctx::new(&empty).fact(&StorageCfg).await.expect("ok"), None);
    }

    #[tokio::test]
    async fn a_broken_file_names_the_file_and_the_line() {
        let host = FakeHost::new().file(
            STORAGE_CFG,
            FileData::new("dir: local\n\tpath /a\n\tpath /b\n", 0o640, "root:www-data"),
        );
        let err = Ctx::new(&host)
            .fact(&StorageCfg)
            .await
            .expect_err("duplicate key");
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert_eq!(
            chain,
            "gather fact pve.storage.cfg: read /etc/pve/storage.cfg: parse line 3: duplicate key `path` in storage `local`"
        );
    }
}
