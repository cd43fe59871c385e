//! The list of this provider's emulators, for `SimNode::new`.

use std::sync::Arc;

use phoenix_core::sim::Emulator;

use super::{GrepEmulator, PctEmulator};

/// Every emulator of this provider: `pct`, and `grep` for the one-command read of all configs.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    vec![Arc::new(PctEmulator), Arc::new(GrepEmulator)]
}
