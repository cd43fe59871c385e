//! The list of this provider's emulators, for `SimNode::new`.

use std::sync::Arc;

use phoenix_core::sim::Emulator;

use super::{DiskToolsEmulator, PvesmEmulator, SmartctlEmulator, ZfsEmulator};

/// Every emulator of this provider: `zfs`/`zpool`, `blkid`/`wipefs`/`lsblk`, `smartctl`, `pvesm`.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    vec![
        Arc::new(ZfsEmulator),
        Arc::new(DiskToolsEmulator),
        Arc::new(SmartctlEmulator),
        Arc::new(PvesmEmulator),
    ]
}
