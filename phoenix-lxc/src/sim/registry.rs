//! The list of this provider's emulators, for `SimNode::new`.

use std::sync::Arc;

use phoenix_core::sim::Emulator;

use super::{GrepEmulator, PctEmulator, ProbeAllEmulator};

/// Every emulator of this provider: `pct`, `grep` for the one-command read of all configs, and
/// `timeout` for the one-command probe of every running container.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    vec![
        Arc::new(PctEmulator),
        Arc::new(GrepEmulator),
        Arc::new(ProbeAllEmulator),
    ]
}
