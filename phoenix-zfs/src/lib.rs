//! Phoenix provider: ZFS pools, datasets, ARC and Proxmox storage.
//!
//! Until its resources land, the provider claims its config keys as known but not yet managed,
//! so the upstream configs load with one note per key instead of an error.

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NOT_YET: &str = "ZFS pools, datasets, ARC and storage are managed once the phoenix-zfs provider lands (issue 3)";

/// The zfs provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZfsProvider;

/// The zfs provider, for `Registry::builder().provider(...)`.
pub fn provider() -> ZfsProvider {
    ZfsProvider
}

impl Provider for ZfsProvider {
    fn name(&self) -> &str {
        "zfs"
    }

    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("zfs", NOT_YET),
            Claim::known("proxmox_storage_ids", NOT_YET),
        ]
    }

    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}

/// The emulators of the tools this provider drives, for the simulated node.
#[cfg(feature = "sim")]
pub fn emulators() -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
    Vec::new()
}
