//! Phoenix provider: the LXC container lifecycle on Proxmox VE.
//!
//! Until its resources land, the provider claims its config keys as known but not yet managed,
//! so the upstream configs load with one note per key instead of an error.

use phoenix_core::config::{Claim, Section};
use phoenix_core::{DecodeCx, Kind, Provider};

const NO_VMS: &str = "Phoenix manages containers; virtual machines are out of its scope";
const NOT_YET: &str = "containers are managed once the phoenix-lxc provider lands (issue 4)";

/// The lxc provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct LxcProvider;

/// The lxc provider, for `Registry::builder().provider(...)`.
pub fn provider() -> LxcProvider {
    LxcProvider
}

impl Provider for LxcProvider {
    fn name(&self) -> &str {
        "lxc"
    }

    fn kinds(&self) -> Vec<Kind> {
        Vec::new()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::known("lxc_configs", NOT_YET),
            Claim::known("shared_volumes", NOT_YET),
            Claim::known("mount_point_base", NOT_YET),
            Claim::known("proxmox_defaults", NOT_YET),
            Claim::known("vm_defaults", NO_VMS),
            Claim::known("vms", NO_VMS),
        ]
    }

    fn decode(&self, _sections: &[Section<'_>], _cx: &mut DecodeCx<'_>) {}
}

/// The emulators of the tools this provider drives, for the simulated node.
#[cfg(feature = "sim")]
pub fn emulators() -> Vec<std::sync::Arc<dyn phoenix_core::sim::Emulator>> {
    Vec::new()
}
